"""Issue 12, items 8-10 on the real chain: ``thememap run`` in a subprocess, real kernels.

One tiny corpus, one full run (then two short resumed runs on its store): the terminal
shows each notebook's progress and time, and neither the terminal nor the reports carry
the kernel's transport warning, onnxruntime's quantisation advice or raw Python reprs.
The bundled notebooks' default params make "Run All" on 01_embed load the demo corpus.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

import thememap
from thememap.params import packaged

pytestmark = pytest.mark.slow

LIB = Path(thememap.__file__).resolve().parents[1]  # the thememap under test
NOISE = [
    "without encryption",  # ipykernel, once per kernel start
    "pre-processing before quantization",  # onnxruntime.quantization, once per graph build
    "Alternative text is missing",  # nbconvert, once per report with figures
    "ClusterParams(",  # a params section's repr
    "Empty DataFrame",  # an empty table's repr (no dates: no trends)
    "dtype: int64",  # a Series' repr
]


def demo_rows(n: int) -> list[dict[str, str]]:
    with gzip.open(packaged("data") / "demo.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for _, line in zip(range(n), handle, strict=False)]


def thememap_run(params: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(LIB), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "thememap.runner.cli", "run", str(params), *args],
        cwd=params.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def progress_of(output: str, notebook: str) -> list[str]:
    """What the run printed for ``notebook``, without the time stamps."""
    found = re.findall(rf"^\d\d:\d\d:\d\d {notebook}: (.*)$", output, flags=re.MULTILINE)
    return [str(line) for line in found]


def test_run_shows_progress_and_leaves_quiet_reports(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").touch()
    # 90 distinct texts without dates: 01 has no duplicates and 04 no trends to show
    rows = list({r["text"]: r for r in demo_rows(100)}.values())[:90]
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settings = {
        "store": "store.db",
        "input": {"path": "items.jsonl", "text_field": "text", "id_field": "package"},
        # a fresh model cache: the int8 graph is built in this run, where onnxruntime advises
        "embed": {"cache_dir": "model-cache"},
        "cluster": {"check_runs": 0, "layout": "pca"},
    }
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump(settings), encoding="utf-8")

    done = thememap_run(params, "--run-name", "full")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert (tmp_path / "model-cache").is_dir()
    expected = {
        "01_embed": "embedding (local:all-MiniLM-L6-v2:int8): 100% 90/90",
        "02_cluster": "clustering 90 items into 3 levels",
        "03_describe": "offline cards for",
        "04_export": "exported 90 items",
    }
    for number, (notebook, relayed) in enumerate(expected.items(), start=1):
        shown = progress_of(output, notebook)
        assert shown[0] == f"started ({number} of 4)", output
        assert any(line.startswith(relayed) for line in shown), (notebook, shown)
        assert re.fullmatch(r"ok in \d+\.\d s", shown[-1]), shown
        assert len(shown) <= 12, shown  # concise
    assert "Executing notebook" not in output and "Input Notebook" not in output

    reports = sorted((tmp_path / "reports" / "full").glob("0*"))
    assert [p.name for p in reports if p.suffix == ".html"] == [
        "01_embed.html",
        "02_cluster.html",
        "03_describe.html",
        "04_export.html",
    ]
    for text, where in [(output, "terminal")] + [(p.read_text(), p.name) for p in reports]:
        for noise in NOISE:
            assert noise not in text, f"{noise!r} in the {where}"
    html = {p.stem: p.read_text() for p in reports if p.suffix == ".html"}
    assert 'cluster: layout "pca", check_runs 0 (the rest as in' in html["02_cluster"]
    assert "no duplicate texts" in html["01_embed"]
    assert "no trends: no item has a date" in html["04_export"]

    # resumed from the store: one notebook, then the tail of the chain from a number
    only = thememap_run(params, "--run-name", "only", "--only", "02_cluster", "-q")
    assert only.returncode == 0, only.stderr[-3000:]
    assert progress_of(only.stdout + only.stderr, "02_cluster") == []  # -q: warnings only
    assert [p.name for p in (tmp_path / "reports" / "only").glob("*.ipynb")] == ["02_cluster.ipynb"]
    tail = thememap_run(params, "--run-name", "tail", "--from", "04")
    assert tail.returncode == 0, tail.stderr[-3000:]
    assert progress_of(tail.stderr, "04_export")[0] == "started (1 of 1)"
    assert progress_of(tail.stderr, "01_embed") == []
    with sqlite3.connect(tmp_path / "store.db") as conn:
        steps = conn.execute("SELECT run_id, step FROM run_steps ORDER BY rowid").fetchall()
    assert steps[-2:] == [("only", "02_cluster"), ("tail", "04_export")]


def test_run_all_on_01_embed_with_its_default_params_loads_the_demo(tmp_path: Path) -> None:
    from thememap.runner.run import ensure_kernel, kernel_config

    project = tmp_path / "project"
    env = {**os.environ, "PYTHONPATH": str(LIB)}
    subprocess.run(
        [sys.executable, "-m", "thememap.runner.cli", "init", str(project)], check=True, env=env
    )
    # the demo file of a fresh project, cut to 120 rows to keep the test short
    rows = demo_rows(120)
    with gzip.open(project / "data" / "demo.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in rows))
    import papermill

    notebooks = project / "notebooks"
    papermill.execute_notebook(  # no parameters: the notebook's own defaults, as in JupyterLab
        str(notebooks / "01_embed.ipynb"),
        str(tmp_path / "01_embed.out.ipynb"),
        kernel_name=ensure_kernel(),
        cwd=str(notebooks),
        progress_bar=False,
        config=kernel_config(),
    )
    executed = nbformat.read(tmp_path / "01_embed.out.ipynb", as_version=4)
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert [o for o in outputs if o.output_type == "error"] == []
    with sqlite3.connect(project / "data" / "items.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == len(rows)
        distinct = conn.execute("SELECT COUNT(DISTINCT content_hash) FROM items").fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == distinct > 100
