"""Issue 10, items 4 and 7: empty loads, unlocated errors, unusable stores (real files, real CLI)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import thememap
from thememap.errors import InputError
from thememap.ingest.load import load_items
from thememap.ingest.params import InputParams
from thememap.store.connection import open_store

LIB = Path(thememap.__file__).resolve().parents[1]  # the thememap under test
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def thememap_cli(
    *args: str, cwd: Path, unprivileged: bool = False, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess, optionally without root's capabilities.

    Unprivileged = still uid 0 (so the checkout and its venv stay readable, wherever the
    clone lives) but with every capability dropped, so file permissions apply as to anyone.
    """
    env = {**os.environ, "PYTHONPATH": str(LIB), "HOME": str(cwd), "MPLCONFIGDIR": str(cwd)}
    command = [sys.executable, "-m", "thememap.runner.cli", *args]
    if unprivileged:
        command = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", *command]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _items(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_store(tmp_path / "items.db")
    yield connection
    connection.close()


# -- item 4: a load that yields nothing is an input error ------------------------------------


def _write_parquet_with_null_texts(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"content": pa.array([None, None], pa.string()), "n": [1, 2]}), path)


@pytest.mark.parametrize(
    ("name", "body", "text_field", "shown"),
    [
        (
            "wrong_field.jsonl",
            '{"body": "a"}\n{"body": "b"}\n',
            "content",
            "wrong_field.jsonl:1 (id wrong_field.jsonl:1): missing text field",
        ),
        ("header_only.csv", "id,content\n", "content", "no rows to load"),
        ("empty.jsonl", "", "content", "no rows to load"),
        ("garbage.jsonl", "not json\n<html>\n", "content", ":1: broken JSON"),
        (
            "nulls.parquet",
            None,
            "content",
            "nulls.parquet:1 (id nulls.parquet:1): empty text field",
        ),
    ],
)
def test_a_load_that_leaves_the_store_empty_is_an_input_error(
    tmp_path: Path,
    conn: sqlite3.Connection,
    name: str,
    body: str | None,
    text_field: str,
    shown: str,
) -> None:
    path = tmp_path / name
    if body is None:
        _write_parquet_with_null_texts(path)
    else:
        path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_items(conn, InputParams(text_field=text_field), path=path, progress=False)
    assert str(path) in str(err.value) and shown in str(err.value)
    assert _items(tmp_path / "items.db") == 0


def test_a_reload_that_adds_nothing_to_a_full_store_is_fine(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"content": "hello"}\n', encoding="utf-8")
    load_items(conn, InputParams(), path=path, progress=False)
    again = load_items(conn, InputParams(), path=path, progress=False)
    assert (again.added, again.already_present) == (0, 1)


@pytest.mark.slow
def test_the_runner_exits_2_on_a_header_only_csv(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").touch()
    (tmp_path / "in.csv").write_text("id,content\n", encoding="utf-8")
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    params = {"store": "s.db", "input": {"path": "in.csv"}, "notebooks": ["01_embed", "02_cluster"]}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    done = thememap_cli("run", "p.yaml", "-q", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "01_embed.ipynb" in done.stderr and "in.csv: no rows to load" in done.stderr
    assert "02_cluster" not in done.stderr


# -- item 7: every file problem is one located line, exit 2, store unchanged -----------------


def test_a_lone_surrogate_spoils_its_row_only(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"content": "fine"}\n{"content": "bad \\ud800 text"}\n{"content": "ok"}\n')
    report = load_items(conn, InputParams(), path=path, progress=False)
    assert report.added == 2
    assert [(row.line, "surrogate" in row.reason) for row in report.bad_rows] == [(2, True)]


def _truncated_gzip(path: Path) -> None:
    lines = "".join(json.dumps({"content": f"row {i} " * 20}) + "\n" for i in range(2000))
    data = gzip.compress(lines.encode())
    path.write_bytes(data[: len(data) // 2])


def _corrupt_gzip(path: Path) -> None:
    data = bytearray(gzip.compress(b'{"content": "a"}\n' * 500))
    data[20:40] = b"\xff" * 20
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make", [_truncated_gzip, _corrupt_gzip])
def test_a_broken_gzip_names_the_file_and_loads_nothing(
    tmp_path: Path, conn: sqlite3.Connection, make: Any
) -> None:
    path = tmp_path / "in.jsonl.gz"
    make(path)
    with pytest.raises(InputError) as err:
        load_items(conn, InputParams(), path=path, progress=False)
    assert str(err.value).startswith(f"{path}: truncated or corrupt gzip after line ")
    assert _items(tmp_path / "items.db") == 0


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_bad_input_path_stops_the_run_before_any_store_exists(
    write_params: Any, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / "in.jsonl"
    if kind == "folder":
        target.mkdir()
    params = write_params({"store": "data/s.db", "input": {"path": "in.jsonl"}})
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    done = thememap_cli("run", str(params), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    expected = "is a folder, not a file; set input.path to one input file"
    if kind == "missing":
        expected = "input file not found"
    assert done.stderr.strip() == f"thememap: error: {target}: {expected}"
    assert not (tmp_path / "data").exists() and not (tmp_path / "reports").exists()


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A scratch folder for the permission cases (run as root without capabilities)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop root's capabilities")
    folder = Path(tempfile.mkdtemp(prefix="thememap-perm-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def _params_in(folder: Path, store: str) -> Path:
    (folder / "pyproject.toml").touch()
    (folder / "in.jsonl").write_text('{"content": "hello"}\n', encoding="utf-8")
    path = folder / "p.yaml"
    path.write_text(yaml.safe_dump({"store": store, "input": {"path": "in.jsonl"}}))
    shutil.copytree(NOTEBOOKS, folder / "notebooks")
    for item in (folder / "pyproject.toml", folder / "in.jsonl", path):
        item.chmod(0o644)
    return path


def test_a_read_only_store_file_is_one_line(shared_dir: Path) -> None:
    params = _params_in(shared_dir, "items.db")
    open_store(shared_dir / "items.db").close()
    (shared_dir / "items.db").chmod(0o444)  # read-only even for its owner without capabilities
    before = (shared_dir / "items.db").read_bytes()
    done = thememap_cli("run", str(params), cwd=shared_dir, unprivileged=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "items.db: the store file is read-only (permission denied)" in done.stderr
    assert (shared_dir / "items.db").read_bytes() == before


def test_an_unwritable_store_folder_is_one_line(shared_dir: Path) -> None:
    locked = shared_dir / "locked"
    locked.mkdir()
    locked.chmod(0o555)  # nobody, its owner included, may create files in it
    params = _params_in(shared_dir, "locked/sub/items.db")
    done = thememap_cli("run", str(params), cwd=shared_dir, unprivileged=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"{locked}: cannot write in the store's folder (permission denied)" in done.stderr
    assert list(locked.iterdir()) == []


def test_a_notebook_run_by_hand_with_a_missing_input_creates_no_store(
    write_params: Any, tmp_path: Path
) -> None:
    from thememap.runner.notebook import start_step

    params = write_params({"store": "data/s.db", "input": {"path": "nowhere.csv"}})
    with pytest.raises(InputError, match=r"nowhere\.csv: input file not found"):
        start_step("01_embed", str(params))
    assert not (tmp_path / "data").exists()
