"""Each kind of bad row, with its exact file:line; skip vs fail; fail leaves the store unchanged."""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
from pathlib import Path

import pytest

from thememap.errors import BadRow, BadRowsError
from thememap.ingest import load_items
from thememap.ingest.params import InputParams
from thememap.store import open_store


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return open_store(tmp_path / "store.db")


def jsonl(path: Path, *lines: str | dict[str, object]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def only_bad(report_bad: list[BadRow]) -> list[str]:
    return [str(row) for row in report_bad]


def test_jsonl_each_kind_of_bad_row_named_by_line(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = jsonl(
        tmp_path / "mixed.jsonl",
        {"id": "a", "text": "good one", "at": "2024-01-02"},  # 1
        {"id": "b", "body": "no text field"},  # 2
        {"id": "c", "text": "   \t "},  # 3
        {"id": "d", "text": "x" * 50},  # 4 over the limit
        '{"id": "e", "text": "broken',  # 5
        '["not", "an", "object"]',  # 6
        {"id": "f", "text": "bad date", "at": "next tuesday"},  # 7
        {"id": "a", "text": "good one, edited"},  # 8 same id, other text
        {"id": "g", "text": None},  # 9
        {"id": "h", "text": ["a", "list"]},  # 10
        {"text": "no id"},  # 11
        {"id": "i", "text": "good two"},  # 12
    )
    params = InputParams(text_field="text", id_field="id", created_at_field="at", max_text_bytes=40)
    report = load_items(conn, params, path=path, progress=False)
    assert [(r.line, r.item_id) for r in report.bad_rows] == [
        (2, "b"), (3, "c"), (4, "d"), (5, None), (6, None), (7, "f"),
        (8, "a"), (9, "g"), (10, "h"), (11, None),
    ]  # fmt: skip
    messages = only_bad(report.bad_rows)
    where = str(path)
    assert messages[0] == f"{where}:2 (id b): missing text field 'text'"
    assert messages[1] == f"{where}:3 (id c): empty text field 'text' (only whitespace)"
    assert messages[2] == f"{where}:4 (id d): text is 50 bytes, over input.max_text_bytes=40"
    assert messages[3].startswith(f"{where}:5: broken JSON: Unterminated string")
    assert messages[4] == f"{where}:6: JSON line is a list, not an object"
    assert messages[5].startswith(f"{where}:7 (id f): unparsable date in 'at': 'next tuesday'")
    assert messages[6] == f"{where}:8 (id a): id 'a' already used at line 1 with a different text"
    assert messages[7] == f"{where}:9 (id g): empty text field 'text'"
    assert messages[8] == f"{where}:10 (id h): text field 'text' is a list, not text"
    assert messages[9] == f"{where}:11: missing id field 'id'"
    assert report.counts() == {
        "read": 12, "added": 2, "already_present": 0, "changed": 0, "removed": 0,
        "duplicate_texts": 0, "without_date": 1, "bad": 10,
    }  # fmt: skip
    stored = [r[0] for r in conn.execute("SELECT external_id FROM items ORDER BY id")]
    assert stored == ["a", "i"]


def test_undecodable_line_spoils_only_that_line(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9 in latin-1"}\n{"text": "also fine"}\n')
    report = load_items(conn, InputParams(text_field="text"), path=path, progress=False)
    assert report.added == 2
    assert only_bad(report.bad_rows) == [f"{path}:2: undecodable bytes (not valid utf-8) on line 2"]


def test_undecodable_text_file_line(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"ok\n\xff\xfe broken\nok too\n"))
    report = load_items(conn, InputParams(), path=path, progress=False)
    assert report.added == 2
    assert [(r.line, r.reason) for r in report.bad_rows] == [
        (2, "undecodable bytes (not valid utf-8) on line 2")
    ]


def test_csv_bad_rows_use_physical_line_numbers(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "tickets.csv"
    path.write_bytes(
        b"id,content,created\n"  # 1
        b'1,"spans\ntwo lines",2024-01-01\n'  # 2-3
        b"2,too,many,fields\n"  # 4
        b"3,short\n"  # 5
        b"4,\xe9t\xe9,2024-01-01\n"  # 6 (latin-1)
        b"\n"  # 7 blank: ignored
        b"5,,2024-01-01\n"  # 8 empty text
        b"6,when?,31/31/2024\n"  # 9
        b"7,fine,1700000000\n"  # 10
    )
    params = InputParams(id_field="id", created_at_field="created")
    report = load_items(conn, params, path=path, progress=False)
    assert [(r.line, r.reason) for r in report.bad_rows] == [
        (4, "expected 3 fields, found 4"),
        (5, "expected 3 fields, found 2"),
        (6, "undecodable bytes (not valid utf-8) on line 6"),
        (8, "empty text field 'content'"),
        (9, "unparsable date in 'created': '31/31/2024' is not a date"),
    ]
    assert report.added == 2
    assert report.read == 7


def test_undecodable_line_inside_a_multiline_csv_field(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "multi.csv"
    path.write_bytes(b'content\n"first line\nsecond \xff line"\nnext\n')
    report = load_items(conn, InputParams(), path=path, progress=False)
    assert [(r.line, r.reason) for r in report.bad_rows] == [
        (2, "undecodable bytes (not valid utf-8) on line 3")
    ]
    assert report.added == 1


def test_sqlite_undecodable_and_broken_metadata(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "ref.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, content TEXT, metadata TEXT)")
    db.execute("INSERT INTO items VALUES (1, 'good', '{}')")
    db.execute("INSERT INTO items VALUES (2, CAST(x'ff41' AS TEXT), '{}')")
    db.execute("INSERT INTO items VALUES (3, 'meta broken', '{oops')")
    db.execute("INSERT INTO items VALUES (4, 'meta list', '[1]')")
    db.execute("INSERT INTO items VALUES (5, x'00', '{}')")
    db.commit()
    db.close()
    report = load_items(
        conn, InputParams(format="sqlite", id_field="id"), path=path, progress=False
    )
    assert [(r.line, r.reason) for r in report.bad_rows] == [
        (2, "undecodable bytes (not valid UTF-8) in column content"),
        (3, "metadata column is broken JSON: Expecting property name enclosed in double quotes"),
        (4, "metadata column is not a JSON object"),
        (5, "text field 'content' is a bytes, not text"),
    ]
    assert report.added == 1


def store_state(path: Path) -> tuple[bytes, list[str]]:
    """The main database file's bytes after a checkpoint, and a full dump."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    dump = list(conn.iterdump())
    conn.close()
    return path.read_bytes(), dump


def test_fail_raises_listing_every_bad_row_and_changes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    conn = open_store(store)
    first = jsonl(tmp_path / "first.jsonl", {"id": "x", "text": "already here"})
    load_items(conn, InputParams(text_field="text", id_field="id"), path=first, progress=False)
    before = store_state(store)

    path = jsonl(
        tmp_path / "batch.jsonl",
        *({"id": f"n{i}", "text": f"new {i}"} for i in range(5000)),
        {"id": "x", "text": "changed text"},  # line 5001: conflicts with the store
        "{not json",  # line 5002
    )
    # mirror: false only adds, so a changed text is a bad row
    params = InputParams(text_field="text", id_field="id", on_bad_row="fail", mirror=False)
    with pytest.raises(BadRowsError) as caught:
        load_items(conn, params, path=path, progress=False, chunk_size=500)
    message = str(caught.value)
    assert message.startswith("2 bad row(s); nothing was loaded")
    assert f"{path}:5001 (id x): id 'x' is already in the store with a different text" in message
    assert f"{path}:5002: broken JSON" in message
    assert [r.line for r in caught.value.bad_rows] == [5001, 5002]
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 1
    conn.close()
    assert store_state(store) == before


def test_skip_loads_good_rows_and_fail_with_none_bad_loads_all(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = jsonl(tmp_path / "a.jsonl", {"text": "one"}, {"text": ""}, {"text": "two"})
    skip = load_items(conn, InputParams(text_field="text"), path=path, progress=False)
    assert (skip.added, skip.bad) == (2, 1)
    clean = jsonl(tmp_path / "b.jsonl", {"text": "three"})
    params = InputParams(text_field="text", on_bad_row="fail")
    assert load_items(conn, params, path=clean, progress=False).added == 1


def test_positional_id_conflict_explains_itself(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("alpha\nbeta\n")
    load_items(conn, InputParams(), path=path, progress=False)
    path.write_text("alpha\ngamma\n")  # line 2 edited
    report = load_items(conn, InputParams(mirror=False), path=path, progress=False)
    assert (report.already_present, report.added, report.bad) == (1, 0, 1)
    assert "input.id_field is not set" in report.bad_rows[0].reason


def test_report_frames_and_csv(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = jsonl(tmp_path / "a.jsonl", {"text": "one"}, {"text": " "}, "[]")
    report = load_items(conn, InputParams(text_field="text"), path=path, progress=False)
    frame = report.to_frame()
    assert frame.loc["added", "rows"] == 1
    assert frame.loc["bad", "rows"] == 2
    bad = report.bad_rows_frame()
    assert list(bad.columns) == ["file", "line", "item_id", "reason"]
    assert bad["line"].tolist() == [2, 3]
    out = report.write_bad_rows(tmp_path / "out" / "bad.csv")
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "line", "item_id", "reason"]
    assert rows[1] == [str(path), "2", "a.jsonl:2", "empty text field 'text' (only whitespace)"]
    assert rows[2] == [str(path), "3", "", "JSON line is a list, not an object"]


def test_skip_logs_a_summary(
    tmp_path: Path, conn: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    path = jsonl(tmp_path / "a.jsonl", {"text": "one"}, {"nope": 1})
    with caplog.at_level("INFO", logger="thememap"):
        load_items(conn, InputParams(text_field="text"), path=path, progress=False)
    assert "added 1" in caplog.text
    assert "1 bad row(s) skipped" in caplog.text
    assert f"{path}:2" in caplog.text
