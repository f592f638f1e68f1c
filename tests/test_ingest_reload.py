"""Idempotent re-loads, duplicate texts, scale, and a load killed mid-way."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thememap.ingest import load_items
from thememap.ingest.params import InputParams
from thememap.store import open_store


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return open_store(tmp_path / "store.db")


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])


@pytest.mark.parametrize("id_field", [None, "id"])
def test_reloading_the_same_file_adds_nothing(
    tmp_path: Path, conn: sqlite3.Connection, id_field: str | None
) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,content\n1,alpha\n2,beta\n3,alpha\n")
    params = InputParams(id_field=id_field)
    first = load_items(conn, params, path=path, progress=False)
    dump = list(conn.iterdump())
    again = load_items(conn, params, path=path, progress=False)
    assert (first.added, first.already_present) == (3, 0)
    assert (again.read, again.added, again.already_present, again.bad) == (3, 0, 3, 0)
    assert list(conn.iterdump()) == dump


def test_reload_from_another_folder_is_still_idempotent(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    # positional ids use the file NAME, so a moved copy is the same items
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "notes.txt").write_text("one\ntwo\n")
    load_items(conn, InputParams(), path=tmp_path / "a/notes.txt", progress=False)
    again = load_items(conn, InputParams(), path=tmp_path / "b/notes.txt", progress=False)
    assert (again.added, again.already_present) == (0, 2)


def test_growing_file_adds_only_new_rows(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "feed.jsonl"
    rows = [{"id": i, "text": f"post {i}"} for i in range(10)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:6]))
    params = InputParams(text_field="text", id_field="id")
    load_items(conn, params, path=path, progress=False)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = load_items(conn, params, path=path, progress=False)
    assert (report.added, report.already_present) == (4, 6)
    assert count(conn) == 10


def test_same_id_same_text_twice_in_one_file_is_counted_not_bad(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text('{"id": 1, "text": "same"}\n{"id": 1, "text": "same"}\n')
    report = load_items(
        conn, InputParams(text_field="text", id_field="id"), path=path, progress=False
    )
    assert (report.added, report.already_present, report.bad) == (1, 1, 0)


def test_duplicate_texts_stay_items_sharing_one_hash(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "reviews.jsonl"
    texts = ["great app", "great app", "crashes", "great app"]
    path.write_text("".join(json.dumps({"r": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    params = InputParams(text_field="text", id_field="r")
    report = load_items(conn, params, path=path, progress=False, chunk_size=2)
    assert (report.added, report.duplicate_texts) == (4, 2)
    hashes = [r[0] for r in conn.execute("SELECT content_hash FROM items ORDER BY id")]
    assert hashes[0] == hashes[1] == hashes[3] != hashes[2]
    # a later file repeating a stored text counts as a duplicate text too
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"r": 99, "text": "crashes"}) + "\n")
    assert load_items(conn, params, path=more, progress=False).duplicate_texts == 1


def test_same_text_with_different_titles_is_not_a_duplicate(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "pkgs.jsonl"
    path.write_text(
        json.dumps({"text": "shared", "title": "tool"})
        + "\n"
        + json.dumps({"text": "shared", "title": "tool data"})
        + "\n"
    )
    params = InputParams(text_field="text", title_field="title")
    assert load_items(conn, params, path=path, progress=False).duplicate_texts == 0


def write_big_csv(path: Path, rows: int) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "month", "summary", "lang"])
        for i in range(rows):
            summary = f'Package {i % 997} does thing number {i}, with "quotes" and commas'
            writer.writerow([f"pkg-{i}", f"20{10 + i % 15}-{1 + i % 12:02d}", summary, "py"])


def test_twenty_thousand_rows_load_quickly(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "big.csv.gz"
    write_big_csv(path, 20_000)
    params = InputParams(text_field="summary", id_field="id", created_at_field="month")
    started = time.perf_counter()
    report = load_items(conn, params, path=path, progress=False)
    seconds = time.perf_counter() - started
    assert (report.added, report.bad) == (20_000, 0)
    assert count(conn) == 20_000
    # ~1 s here on a shared 2-core machine; the bound only catches an accidental O(n^2)
    assert seconds < 20, seconds
    again = load_items(conn, params, path=path, progress=False)
    assert again.already_present == 20_000


_KILL_SCRIPT = """
import sys
from thememap.ingest import load_items
from thememap.ingest.params import InputParams
from thememap.store import open_store
conn = open_store(sys.argv[1])
print("started", flush=True)
load_items(conn, InputParams(text_field="summary", id_field="id", created_at_field="month"),
           path=sys.argv[2], progress=False, chunk_size=1000)
print("finished", flush=True)
"""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # not created yet, or removed as the child closed
        return 0


@pytest.mark.slow
def test_a_killed_load_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    conn = open_store(store)
    seed = tmp_path / "seed.txt"
    seed.write_text("kept from before\n")
    load_items(conn, InputParams(), path=seed, progress=False)
    conn.close()
    path = tmp_path / "big.csv.gz"
    write_big_csv(path, 400_000)
    errors = tmp_path / "child-stderr.txt"
    with errors.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILL_SCRIPT, str(store), str(path)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started", errors.read_text()
    wal = Path(f"{store}-wal")
    deadline = time.monotonic() + 60
    # kill once the load has written a good part of its transaction into the WAL
    while time.monotonic() < deadline and _size(wal) < 4_000_000:
        assert proc.poll() is None, f"the load ended before it was killed: {errors.read_text()}"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    conn = open_store(store)
    assert [r[0] for r in conn.execute("SELECT content FROM items")] == ["kept from before"]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
