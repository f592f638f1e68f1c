"""Every input format, read from real files into a real store."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from thememap.errors import InputError
from thememap.ingest import load_items
from thememap.ingest.params import InputParams
from thememap.ingest.prepare import prepare_text, text_hash
from thememap.ingest.readers import detect_format
from thememap.store import open_store


def items(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT external_id, content, metadata, created_at, content_hash, source FROM items"
        " ORDER BY id"
    )
    return [{**dict(r), "metadata": json.loads(r["metadata"])} for r in rows]


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return open_store(tmp_path / "store.db")


def test_csv_fields_ids_dates_and_metadata(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "feedback.csv"
    path.write_text(
        "ticket,body,when,product,title\n"
        't1,"Login fails, twice",2024-05-03,web,Login\n'
        't2,"A quoted ""word""\nover two lines",2024-05,app,\n',
        encoding="utf-8",
    )
    params = InputParams(
        text_field="body", id_field="ticket", created_at_field="when", title_field="title"
    )
    report = load_items(conn, params, path=path, progress=False)
    assert report.counts() == {
        "read": 2, "added": 2, "already_present": 0, "changed": 0, "removed": 0,
        "duplicate_texts": 0, "without_date": 0, "bad": 0,
    }  # fmt: skip
    first, second = items(conn)
    assert first["external_id"] == "t1"
    assert first["content"] == "Login fails, twice"
    assert first["created_at"] == "2024-05-03"
    assert first["metadata"] == {"product": "web", "title": "Login"}
    assert first["source"] == "feedback.csv"
    expected = prepare_text("Login fails, twice", {"product": "web", "title": "Login"}, params)
    assert expected.startswith("Title: Login")
    assert first["content_hash"] == text_hash(expected)
    assert second["content"] == 'A quoted "word"\nover two lines'
    assert second["created_at"] == "2024-05"


def test_tsv_is_one_row_per_line_without_quoting(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "pkgs.tsv"
    path.write_text(
        'name\tmonth\tsummary\nalpha\t2017-12\t"Quoted" start is kept\nbeta\t\tNo month\n',
        encoding="utf-8",
    )
    params = InputParams(text_field="summary", id_field="name", created_at_field="month")
    report = load_items(conn, params, path=path, progress=False)
    assert (report.added, report.without_date, report.bad) == (2, 1, 0)
    rows = items(conn)
    assert rows[0]["content"] == '"Quoted" start is kept'
    assert rows[0]["created_at"] == "2017-12"
    assert rows[1]["created_at"] is None


def test_jsonl_gz_with_nested_metadata_and_blank_lines(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "items.jsonl.gz"
    lines = [
        {"id": 7, "text": "first", "tags": ["a", "b"], "extra": {"k": 1}},
        {"id": 8, "text": "second", "created": 1_700_000_000},
    ]
    body = json.dumps(lines[0]) + "\n\n   \n" + json.dumps(lines[1]) + "\n"
    path.write_bytes(gzip.compress(body.encode()))
    params = InputParams(text_field="text", id_field="id", created_at_field="created")
    report = load_items(conn, params, path=path, progress=False)
    assert (report.read, report.added, report.bad) == (2, 2, 0)
    first, second = items(conn)
    assert first["external_id"] == "7"
    assert first["metadata"] == {"tags": ["a", "b"], "extra": {"k": 1}}
    assert second["created_at"] == "2023-11-14T22:13:20Z"


def test_metadata_fields_list_keeps_title_and_context(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"text": "x", "title": "T", "area": "A", "drop": 1, "keep": 2}))
    params = InputParams(
        text_field="text", title_field="title", context_fields=["area"], metadata_fields=["keep"]
    )
    load_items(conn, params, path=path, progress=False)
    assert items(conn)[0]["metadata"] == {"title": "T", "area": "A", "keep": 2}


def test_text_one_item_per_line_ids_are_file_and_line(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("first note\n\nsecond note\r\n", encoding="utf-8")
    report = load_items(conn, InputParams(), path=path, progress=False)
    assert report.added == 2
    assert [(r["external_id"], r["content"]) for r in items(conn)] == [
        ("notes.txt:1", "first note"),
        ("notes.txt:3", "second note"),
    ]


def test_text_gz(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"one\ntwo\n"))
    assert load_items(conn, InputParams(), path=path, progress=False).added == 2
    assert items(conn)[1]["external_id"] == "notes.txt.gz:2"


def test_parquet_by_batches_with_timestamps(tmp_path: Path, conn: sqlite3.Connection) -> None:
    import datetime as dt

    path = tmp_path / "items.parquet"
    table = pa.table(
        {
            "key": [f"k{i}" for i in range(25)],
            "content": [f"text number {i}" for i in range(25)],
            "ts": [dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)] * 25,
            "score": [float(i) for i in range(25)],
        }
    )
    pq.write_table(table, path, row_group_size=10)
    params = InputParams(id_field="key", created_at_field="ts")
    report = load_items(conn, params, path=path, progress=False)
    assert report.added == 25
    rows = items(conn)
    assert rows[3]["external_id"] == "k3"
    assert rows[3]["created_at"] == "2025-01-01T12:00:00Z"
    assert rows[3]["metadata"] == {"score": 3.0}


def test_parquet_without_id_uses_row_numbers(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"content": ["a", "b"]}), path)
    load_items(conn, InputParams(), path=path, progress=False)
    assert [r["external_id"] for r in items(conn)] == ["p.parquet:1", "p.parquet:2"]


def make_reference_db(path: Path) -> None:
    """A SQLite file in the reference design's items schema."""
    ref = sqlite3.connect(path)
    ref.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, content TEXT, metadata TEXT,"
        " created_at TIMESTAMP, embedding BLOB, embedding_cluster_l1 INTEGER,"
        " embedding_cluster_l2 INTEGER, embedding_cluster_l3 INTEGER, umap_x REAL, umap_y REAL)"
    )
    ref.executemany(
        "INSERT INTO items(id, content, metadata, created_at, embedding, umap_x)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (1, "crash on save", '{"title": "Save bug", "repo": "app"}', "2024-02-01 10:00:00",
             b"\x00\x01", 0.5),
            (2, "add dark mode", None, "2024-03-05T08:00:00Z", None, None),
        ],
    )  # fmt: skip
    ref.commit()
    ref.close()


def test_sqlite_reference_schema(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "reference.db"
    make_reference_db(path)
    params = InputParams(
        format="sqlite", id_field="id", created_at_field="created_at", title_field="title"
    )
    report = load_items(conn, params, path=path, progress=False)
    assert (report.added, report.bad) == (2, 0)
    first, second = items(conn)
    assert first["external_id"] == "1"
    # metadata JSON is unpacked; the reference's derived columns are not copied
    assert first["metadata"] == {"title": "Save bug", "repo": "app"}
    assert first["created_at"] == "2024-02-01T10:00:00"
    assert second["created_at"] == "2024-03-05T08:00:00Z"
    assert second["metadata"] == {}
    assert first["content_hash"] == text_hash("Title: Save bug\n\ncrash on save")


def test_sqlite_other_table_and_missing_table(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE posts (pid TEXT, body TEXT)")
    db.execute("INSERT INTO posts VALUES ('p1', 'hello')")
    db.commit()
    db.close()
    params = InputParams(sqlite_table="posts", text_field="body", id_field="pid")
    assert load_items(conn, params, path=path, progress=False).added == 1
    with pytest.raises(InputError, match=r"other\.sqlite: no table 'items' \(tables: posts\)"):
        load_items(conn, InputParams(text_field="body"), path=path, progress=False)
    with pytest.raises(InputError, match="has no column 'content'"):
        load_items(conn, InputParams(sqlite_table="posts"), path=path, progress=False)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "csv"),
        ("a.CSV.gz", "csv"),
        ("a.tsv.gz", "tsv"),
        ("a.jsonl.gz", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.parquet", "parquet"),
        ("a.txt.gz", "text"),
        ("a.db", "sqlite"),
        ("a.sqlite3", "sqlite"),
    ],
)
def test_detect_format(name: str, expected: str) -> None:
    assert detect_format(Path(name)) == expected


@pytest.mark.parametrize("name", ["a.xlsx", "a", "a.parquet.gz", "a.db.gz"])
def test_unknown_extension_names_the_file(name: str) -> None:
    with pytest.raises(InputError, match=rf"{name}: cannot tell the format"):
        detect_format(Path(name))


def test_explicit_format_overrides_extension(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "export.dat"
    path.write_text('{"content": "x"}\n')
    assert load_items(conn, InputParams(format="jsonl"), path=path, progress=False).added == 1


def test_missing_file_names_it(tmp_path: Path, conn: sqlite3.Connection) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match=r"nope\.csv: input file not found"):
        load_items(conn, InputParams(), path=missing, progress=False)


def test_no_path_at_all(conn: sqlite3.Connection) -> None:
    with pytest.raises(InputError, match=r"input\.path is not set"):
        load_items(conn, InputParams(), progress=False)


def test_params_path_used_when_no_path_given(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "a.txt"
    path.write_text("hi\n")
    assert load_items(conn, InputParams(path=path), progress=False).added == 1


def test_csv_without_text_column_names_file_and_columns(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("id,body\n1,hello\n")
    with pytest.raises(InputError, match=r"wrong\.csv: no column 'content' .*columns: id, body"):
        load_items(conn, InputParams(), path=path, progress=False)
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0


def test_csv_bom_header(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffcontent,n\nhello,1\n".encode())
    assert load_items(conn, InputParams(), path=path, progress=False).added == 1


def test_parquet_without_text_column(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"body": ["a"]}), path)
    with pytest.raises(InputError, match=r"p\.parquet: no column 'content'"):
        load_items(conn, InputParams(), path=path, progress=False)


def test_not_a_parquet_file(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("hello")
    with pytest.raises(InputError, match=r"fake\.parquet: not a readable Parquet file"):
        load_items(conn, InputParams(), path=path, progress=False)


def test_demo_corpus_loads_cleanly(project_root: Path, conn: sqlite3.Connection) -> None:
    params = InputParams(text_field="text", id_field="package", title_field="title")
    report = load_items(conn, params, path=project_root / "data/demo.jsonl.gz", progress=False)
    assert (report.read, report.added, report.bad) == (3000, 3000, 0)
    sections = {r[0] for r in conn.execute("SELECT json_extract(metadata, '$.section') FROM items")}
    assert len(sections) == 14


def test_latin1_encoding_and_bad_encodings(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("café\n".encode("latin-1"))
    report = load_items(conn, InputParams(encoding="latin-1"), path=path, progress=False)
    assert report.added == 1
    assert items(conn)[0]["content"] == "café"
    with pytest.raises(InputError, match=r"old\.txt: unknown input\.encoding 'klingon'"):
        load_items(conn, InputParams(encoding="klingon"), path=path, progress=False)
    with pytest.raises(InputError, match="not ASCII-compatible"):
        load_items(conn, InputParams(encoding="utf-16"), path=path, progress=False)


def test_csv_with_crlf_line_endings(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "windows.csv"
    path.write_bytes(b'id,content\r\n1,"two\r\nlines"\r\n2,plain\r\n')
    report = load_items(conn, InputParams(id_field="id"), path=path, progress=False)
    assert (report.added, report.bad) == (2, 0)
    assert [r["content"] for r in items(conn)] == ["two\r\nlines", "plain"]
