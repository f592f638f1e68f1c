"""The store: migrations on fresh and older stores, vectors round-trip, transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from thememap.errors import StepOrderError, StoreError
from thememap.store import open_store, transaction
from thememap.store.migrations import MIGRATIONS, migrate
from thememap.store.vectors import load_item_vectors, missing_hashes, put_vectors


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table','view')")
    }


def test_fresh_store_gets_every_migration_and_wal(tmp_path: Path):
    conn = open_store(tmp_path / "s.db")
    applied = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert applied == [name for name, _ in MIGRATIONS]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"items", "embeddings", "runs", "run_steps", "reference_items"} <= _tables(conn)


def test_older_store_is_migrated_and_keeps_its_rows(tmp_path: Path, monkeypatch):
    path = tmp_path / "old.db"
    # build a store as the first release made it: only migration 001
    monkeypatch.setattr("thememap.store.migrations.MIGRATIONS", MIGRATIONS[:1])
    conn = sqlite3.connect(path, isolation_level=None)
    from thememap.store import migrations

    migrations.migrate(conn)
    conn.execute(
        "INSERT INTO items(external_id, content, content_hash) VALUES ('a', 'hello', 'h1')"
    )
    conn.close()
    monkeypatch.undo()

    conn = open_store(path)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(items)")}
    assert {"embedding_cluster_l1", "umap_x", "umap_y"} <= cols
    assert conn.execute("SELECT content FROM reference_items").fetchone()[0] == "hello"
    assert migrate(conn) == []  # idempotent


def test_vectors_move_to_a_rowid_table_without_overflow_pages(tmp_path: Path, monkeypatch):
    from thememap.store import migrations

    path = tmp_path / "old.db"
    # a store with the WITHOUT ROWID vectors table of 001 (migrations before 011)
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:10])
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(conn)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(200, 384)).astype(np.float32)
    hashes = [f"h{i}" for i in range(200)]
    conn.executemany(
        "INSERT INTO items(external_id, content, content_hash) VALUES (?, ?, ?)",
        [(f"i{i}", f"text {i}", h) for i, h in enumerate(hashes)],
    )
    put_vectors(conn, "m", hashes, vectors)
    conn.execute(
        "INSERT OR REPLACE INTO store_meta(key, value) VALUES ('active_embedding_model', 'm')"
    )
    overflow = "SELECT COUNT(*) FROM dbstat WHERE name = 'embeddings' AND pagetype = 'overflow'"
    assert conn.execute(overflow).fetchone()[0] == 200  # one 4 KB page per 1.5 KB vector
    conn.close()
    monkeypatch.undo()
    before = path.stat().st_size

    monkeypatch.setattr("thememap.store.connection.SHRINK_MIN_BYTES", 0)  # shrink even this
    conn = open_store(path)
    assert conn.execute(overflow).fetchone()[0] == 0
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert path.stat().st_size < 0.7 * before  # 200 overflow pages of 4 KB gone
    _, got = load_item_vectors(conn, "m")
    np.testing.assert_array_equal(got, vectors)
    assert conn.execute("SELECT COUNT(embedding) FROM reference_items").fetchone()[0] == 200
    put_vectors(conn, "m", hashes[:1], vectors[1:2])  # a re-embedded text replaces its vector
    np.testing.assert_array_equal(load_item_vectors(conn, "m")[1][0], vectors[1])


def test_store_from_a_newer_thememap_is_refused(tmp_path: Path):
    conn = open_store(tmp_path / "s.db")
    conn.execute("INSERT INTO schema_migrations(name) VALUES ('999_from_the_future')")
    conn.close()
    with pytest.raises(StoreError, match="newer thememap"):
        open_store(tmp_path / "s.db")


def test_missing_store_refused_when_not_creating(tmp_path: Path):
    with pytest.raises(StoreError, match="run 01_embed first"):
        open_store(tmp_path / "none.db", create=False)


def test_not_a_database_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "notes.db"
    bad.write_text("this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite store"):
        open_store(bad)


def test_transaction_rolls_back_whole(tmp_path: Path):
    conn = open_store(tmp_path / "s.db")
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO items(external_id, content, content_hash) VALUES ('a','x','h')")
        raise RuntimeError("killed mid-way")
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0


def test_vectors_round_trip_and_shared_by_duplicate_texts(tmp_path: Path):
    conn = open_store(tmp_path / "s.db")
    conn.executemany(
        "INSERT INTO items(external_id, content, content_hash) VALUES (?, ?, ?)",
        [("a", "same", "h1"), ("b", "same", "h1"), ("c", "other", "h2")],
    )
    assert missing_hashes(conn, "m") == ["h1", "h2"]
    with pytest.raises(StepOrderError, match="no 'm' vector"):
        put_vectors(conn, "m", ["h1"], np.ones((1, 3), np.float32))
        load_item_vectors(conn, "m")
    put_vectors(conn, "m", ["h2"], np.full((1, 3), 2, np.float32))
    ids, matrix = load_item_vectors(conn, "m")
    assert ids.tolist() == [1, 2, 3]
    assert matrix.dtype == np.float32
    assert matrix.tolist() == [[1, 1, 1], [1, 1, 1], [2, 2, 2]]
    assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 2
    assert conn.execute("SELECT embedding FROM reference_items WHERE id = 3").fetchone()[0]
