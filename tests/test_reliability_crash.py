"""Issue 10, item 6: the export set swaps as a whole; a killed run is marked failed (real kill -9)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from export_fixture import make_export_store

import thememap
from thememap.export import swap
from thememap.export.step import export_run
from thememap.files import sha256_of
from thememap.params import load_params

LIB = Path(thememap.__file__).resolve().parents[1]
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _files(out_dir: Path) -> dict[str, bytes]:
    """Every file of an export set (its subfolders too) by its path relative to the set."""
    return {
        p.relative_to(out_dir).as_posix(): p.read_bytes()
        for p in sorted(out_dir.rglob("*"))
        if p.is_file()
    }


def _consistent(out_dir: Path) -> dict[str, Any]:
    """The manifest, after checking that it lists exactly the files there, hashes matching."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    present = set(_files(out_dir)) - {"manifest.json"}
    assert present == set(manifest["files"])
    for name, entry in manifest["files"].items():
        assert sha256_of(out_dir / name) == entry["sha256"], f"{name} is from another export"
    return manifest


def test_a_failing_export_leaves_the_previous_set_whole(
    write_params: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = make_export_store(tmp_path / "store.db", n=120)
    params = load_params(write_params({"store": "store.db", "export": {"out_dir": "exp"}}))
    export_run(conn, params)
    before = _files(tmp_path / "exp")
    assert any("/" in name for name in before)  # the subfolders (datamapplot/...) are checked too
    conn.execute("UPDATE items SET content = content || ' (edited)'")

    def broken_manifest(*args: Any, **kwargs: Any) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr("thememap.export.step.write_manifest", broken_manifest)
    with pytest.raises(OSError, match="disk full"):
        export_run(conn, params)
    after = _files(tmp_path / "exp")
    assert after == before  # items.json was not replaced by the new run's
    assert not (tmp_path / ".exp.staging").exists()


def test_a_swap_cut_between_its_two_renames_is_mended(tmp_path: Path) -> None:
    out_dir = tmp_path / "exp"
    previous = tmp_path / ".exp.previous"
    previous.mkdir()
    (previous / "manifest.json").write_text("{}")
    swap.recover(out_dir)  # what the next export does first
    assert (out_dir / "manifest.json").read_text() == "{}" and not previous.exists()


def test_an_out_dir_with_foreign_files_is_not_replaced(write_params: Any, tmp_path: Path) -> None:
    from thememap.errors import ParamsError

    conn = make_export_store(tmp_path / "store.db", n=60)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "notes.txt").write_text("mine")
    params = load_params(write_params({"store": "store.db", "export": {"out_dir": "exp"}}))
    with pytest.raises(ParamsError, match=r"export\.out_dir: .*notes\.txt"):
        export_run(conn, params)
    assert (tmp_path / "exp" / "notes.txt").read_text() == "mine"


def _runner(tmp_path: Path, run_name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(LIB)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "thememap.runner.cli",
            "run",
            "p.yaml",
            "-q",
            "--run-name",
            run_name,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # kill -9 reaches the runner and its kernel
    )


@pytest.mark.slow
def test_kill_9_during_04_keeps_one_whole_export_set(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").touch()
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    make_export_store(tmp_path / "store.db", n=600).close()
    params = {"store": "store.db", "export": {"out_dir": "exp"}, "notebooks": ["04_export"]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    first = _runner(tmp_path, "a")
    assert first.wait(timeout=300) == 0, first.stderr.read() if first.stderr else ""
    exp = tmp_path / "exp"
    old = _consistent(exp)
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("UPDATE items SET content = content || ' (edited)'")
    items_mtime = (exp / "items.json").stat().st_mtime_ns

    killed = _runner(tmp_path, "b")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and killed.poll() is None:
        staged = (tmp_path / ".exp.staging").exists()
        touched = (exp / "items.json").exists() and (
            (exp / "items.json").stat().st_mtime_ns != items_mtime
        )
        if staged or touched:  # the export of run b is under way
            break
        time.sleep(0.002)
    assert killed.poll() is None, "run b finished before it could be killed"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert _consistent(exp)["run_id"] == old["run_id"]  # the old set, whole
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT status FROM runs WHERE id = 'b'").fetchone()[0] == "running"

    last = _runner(tmp_path, "c")
    _, err = last.communicate(timeout=300)
    assert last.returncode == 0, err
    assert "b were left 'running'" in err or "run(s) b" in err
    _consistent(exp)
    assert "(edited)" in (exp / "items.json").read_text()
    with sqlite3.connect(tmp_path / "store.db") as db:
        status = dict(db.execute("SELECT id, status FROM runs WHERE id IN ('a', 'b', 'c')"))
    assert status == {"a": "ok", "b": "failed", "c": "ok"}
