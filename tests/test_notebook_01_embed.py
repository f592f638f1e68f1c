"""The real 01_embed notebook, executed by papermill through the runner on a tiny corpus."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import nbformat
import pytest

from thememap.runner.run import run_chain

pytestmark = pytest.mark.slow


def test_01_embed_runs_and_renders_offline(write_params, tmp_path: Path, project_root: Path):
    corpus = tmp_path / "feedback.jsonl"
    rows = [
        {"id": f"t{i}", "body": text, "when": f"2025-0{1 + i % 9}-1{i % 10}"}
        for i, text in enumerate(
            [
                "The app crashes when I open settings",
                "Please add a dark mode",
                "How do I export my data?",
                "Love the new design!",
                "Login fails after update",
                "Sync is slow on mobile",
                "Crash on startup since 2.3",
                "Dark theme would be nice",
            ]
            * 4
        )
    ]
    lines = [json.dumps(r) for r in rows] + ["{broken json"]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    params = write_params(
        {
            "store": "tiny.db",
            "input": {
                "path": str(corpus),
                "text_field": "body",
                "id_field": "id",
                "created_at_field": "when",
            },
            "notebooks": ["01_embed"],
        }
    )
    result = run_chain(params, run_id="tiny", notebooks_dir=project_root / "notebooks")
    assert result.ok
    run_dir = tmp_path / "reports" / "tiny"
    executed = nbformat.read(run_dir / "01_embed.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    html = (run_dir / "01_embed.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in html  # the plots are embedded, no network needed
    assert "feedback.jsonl:33" in html  # the broken line is reported with file and line
    with sqlite3.connect(tmp_path / "tiny.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 32
        assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 8
        detail = json.loads(
            conn.execute("SELECT detail FROM run_steps WHERE step = '01_embed'").fetchone()[0]
        )
    assert detail["items"] == 32 and detail["bad_rows"] == 1
    assert (run_dir / "index.html").exists()
