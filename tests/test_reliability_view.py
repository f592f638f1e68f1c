"""Issue 10, item 5: a run maps the current input; a stale clustering is refused (real SQLite)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from export_fixture import make_export_store

from thememap.embed.step import embed_store
from thememap.errors import StepOrderError
from thememap.export.step import export_run
from thememap.ingest.load import load_items
from thememap.ingest.params import InputParams
from thememap.params import load_params
from thememap.store.clusters import read_memberships
from thememap.store.connection import open_store
from thememap.store.view import record_cluster_view


class CountingEmbedder:
    """A deterministic stand-in backend that counts the texts it embeds."""

    model_id = "fake:8"
    dim = 8

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        rows = np.stack([np.random.default_rng(len(t)).normal(size=8) for t in texts])
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _jsonl(path: Path, rows: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in rows.items()))
    return path


def test_a_run_maps_the_current_input_and_keeps_old_vectors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conn = open_store(tmp_path / "items.db")
    params = InputParams(text_field="text", id_field="id")
    path = tmp_path / "in.jsonl"
    _jsonl(path, {"a": "alpha text", "b": "beta text", "c": "gamma text"})
    load_items(conn, params, path=path, progress=False)
    embedder = CountingEmbedder()
    embed_store(conn, embedder, params, progress=False)

    _jsonl(path, {"a": "alpha text", "b": "beta text, edited", "d": "delta text"})
    with caplog.at_level(logging.INFO, logger="thememap"):
        report = load_items(conn, params, path=path, progress=False)
    assert (report.added, report.changed, report.removed, report.already_present) == (1, 1, 1, 1)
    assert "added 1, changed 1, removed 1" in caplog.text
    stored = dict(conn.execute("SELECT external_id, content FROM items"))
    assert stored == {"a": "alpha text", "b": "beta text, edited", "d": "delta text"}

    embedder.embedded.clear()
    again = embed_store(conn, embedder, params, progress=False)
    assert sorted(embedder.embedded) == ["beta text, edited", "delta text"]
    assert again.items == 3
    # the old texts' vectors are still cached: 3 first + 2 new
    assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 5

    _jsonl(path, {"a": "alpha text", "b": "beta text", "c": "gamma text"})  # back as it was
    embedder.embedded.clear()
    load_items(conn, params, path=path, progress=False)
    embed_store(conn, embedder, params, progress=False)
    assert embedder.embedded == []  # nothing paid twice


def test_append_mode_only_adds(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "items.db")
    params = InputParams(text_field="text", id_field="id", mirror=False)
    load_items(conn, params, path=_jsonl(tmp_path / "1.jsonl", {"a": "x"}), progress=False)
    report = load_items(conn, params, path=_jsonl(tmp_path / "2.jsonl", {"b": "y"}), progress=False)
    assert (report.added, report.removed) == (1, 0)
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 2


def _export_params(write_params: Any) -> Any:
    return load_params(write_params({"store": "store.db", "export": {"out_dir": "exp"}}))


@pytest.mark.parametrize("change", ["added", "edited", "removed"])
def test_a_clustering_of_an_older_view_is_refused(
    write_params: Any, tmp_path: Path, change: str
) -> None:
    conn = make_export_store(tmp_path / "store.db", n=60)
    with conn:
        record_cluster_view(conn, "fixture-run", 60)  # what 02_cluster records
    export_run(conn, _export_params(write_params))  # the current clustering exports
    manifest = (tmp_path / "exp" / "manifest.json").read_text()

    rows = {r[0]: r[1] for r in conn.execute("SELECT external_id, content FROM items")}
    if change == "added":
        rows["new"] = "a new piece of feedback"
    elif change == "edited":
        rows[next(iter(rows))] = "an edited text"
    else:
        del rows[next(iter(rows))]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": k, "content": v}) + "\n" for k, v in rows.items()))
    load_items(conn, InputParams(id_field="id"), path=path, progress=False)

    with pytest.raises(StepOrderError, match="run 02_cluster again"):
        export_run(conn, _export_params(write_params))
    with pytest.raises(StepOrderError, match="run 02_cluster again"):
        read_memberships(conn, "fixture-run")  # what 03_describe reads
    assert (tmp_path / "exp" / "manifest.json").read_text() == manifest  # nothing half-exported


def test_a_clustering_from_before_views_must_cover_every_item(
    write_params: Any, tmp_path: Path
) -> None:
    conn = make_export_store(tmp_path / "store.db", n=60)  # no view recorded: older stores
    export_run(conn, _export_params(write_params))
    path = tmp_path / "more.jsonl"
    path.write_text(json.dumps({"id": "extra", "content": "one more"}) + "\n")
    load_items(conn, InputParams(id_field="id", mirror=False), path=path, progress=False)
    with pytest.raises(StepOrderError, match="does not cover 1 of the 61 items"):
        export_run(conn, _export_params(write_params))


def test_reloading_the_same_file_keeps_the_clustering_current(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "items.db")
    path = _jsonl(tmp_path / "in.jsonl", {"a": "x", "b": "y"})
    params = InputParams(text_field="text", id_field="id")
    load_items(conn, params, path=path, progress=False)
    with conn:
        record_cluster_view(conn, "r", 2)
    load_items(conn, params, path=path, progress=False)
    from thememap.store.view import check_clustering_current

    check_clustering_current(conn, "r")  # no error: nothing changed


@pytest.mark.slow
def test_01_then_03_04_without_02_is_refused_by_the_runner(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess
    import sys

    import yaml

    import thememap

    (tmp_path / "pyproject.toml").touch()
    shutil.copytree(Path(__file__).resolve().parents[1] / "notebooks", tmp_path / "notebooks")
    topics = ["the app crashes on start", "please add a dark mode", "sync is slow on mobile"]
    rows = {f"r{i}": f"{topics[i % 3]} (report {i})" for i in range(45)}
    _jsonl(tmp_path / "in.jsonl", rows)
    base = {"store": "s.db", "input": {"path": "in.jsonl", "text_field": "text", "id_field": "id"}}
    env = {**os.environ, "PYTHONPATH": str(Path(thememap.__file__).resolve().parents[1])}

    def run(name: str, notebooks: list[str]) -> subprocess.CompletedProcess[str]:
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({**base, "notebooks": notebooks}))
        return subprocess.run(
            [sys.executable, "-m", "thememap.runner.cli", "run", f"{name}.yaml", "-q"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    first = run("first", ["01_embed", "02_cluster"])
    assert first.returncode == 0, first.stderr
    _jsonl(tmp_path / "in.jsonl", {**rows, **{f"n{i}": f"new idea number {i}" for i in range(5)}})
    second = run("second", ["01_embed", "03_describe", "04_export"])
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert "03_describe.ipynb" in second.stderr and "run 02_cluster again" in second.stderr
    assert not (tmp_path / "exports").exists()
