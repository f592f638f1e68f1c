"""The ``items`` table: typed reads and the bulk insert of already validated items."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from thememap.store.connection import transaction
from thememap.store.view import bump_items_version

# the reference's label-number column of each level (02_cluster fills them)
LEVEL_COLUMNS = {1: "embedding_cluster_l1", 2: "embedding_cluster_l2", 3: "embedding_cluster_l3"}
INSERT_ITEM = (
    "INSERT INTO items(external_id, content, metadata, created_at, content_hash, source)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def item_texts(conn: sqlite3.Connection) -> list[str]:
    """Every item's raw text, in item id order (the order of ``load_item_vectors``)."""
    return [str(r[0]) for r in conn.execute("SELECT content FROM items ORDER BY id")]


def count_items(conn: sqlite3.Connection) -> int:
    """Number of items in the store."""
    return int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])


def insert_items(
    conn: sqlite3.Connection,
    rows: Iterable[tuple[str, str, str, str | None, str, str]],
) -> np.ndarray:
    """Insert ``(external_id, content, metadata_json, created_at, content_hash, source)`` rows
    in one transaction; return their new ``items.id`` in the same order."""
    ids = []
    with transaction(conn):
        for row in rows:
            cur = conn.execute(INSERT_ITEM, row)
            ids.append(int(cur.lastrowid or 0))
        bump_items_version(conn)
    return np.asarray(ids, dtype=np.int64)


def item_rows(conn: sqlite3.Connection) -> list[tuple[int, str, dict[str, Any], str | None]]:
    """``(id, content, metadata, content_hash)`` of every item, in id order."""
    return [
        (int(r[0]), str(r[1]), _metadata(r[2]), r[3])
        for r in conn.execute("SELECT id, content, metadata, content_hash FROM items ORDER BY id")
    ]


def _metadata(text: str | None) -> dict[str, Any]:
    """Stored metadata as a dict (``{}`` when empty or not a JSON object)."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def set_content_hashes(conn: sqlite3.Connection, changed: list[tuple[str, int]]) -> None:
    """Re-key items ``(new hash, item id)`` in one transaction; a clustering of them is stale."""
    with transaction(conn):
        conn.executemany("UPDATE items SET content_hash = ? WHERE id = ?", changed)
        bump_items_version(conn)


def item_contents(conn: sqlite3.Connection) -> dict[int, str]:
    """Item id -> raw text."""
    return {int(r[0]): str(r[1]) for r in conn.execute("SELECT id, content FROM items")}


def has_items(conn: sqlite3.Connection) -> bool:
    """Whether the store holds any item."""
    return conn.execute("SELECT 1 FROM items LIMIT 1").fetchone() is not None


def read_items(conn: sqlite3.Connection) -> pd.DataFrame:
    """Every item by id: ``id, external_id, content, metadata`` (JSON text), ``created_at``,
    its map position ``x, y`` and the reference level columns (:data:`LEVEL_COLUMNS`, Int64)."""
    items = pd.read_sql_query(
        "SELECT id, external_id, content, metadata, created_at, umap_x AS x, umap_y AS y, "
        + ", ".join(LEVEL_COLUMNS.values())
        + " FROM items ORDER BY id",
        conn,
    )
    for column in LEVEL_COLUMNS.values():
        items[column] = items[column].astype("Int64")
    return items


def positioned_items(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """The items that have a map position, by id, with the reference's columns
    (``umap_x``, ``umap_y``, :data:`LEVEL_COLUMNS`) and ``external_id``."""
    return conn.execute(
        "SELECT id, content, metadata, created_at, umap_x, umap_y,"
        " embedding_cluster_l1, embedding_cluster_l2, embedding_cluster_l3, external_id"
        " FROM items WHERE umap_x IS NOT NULL AND umap_y IS NOT NULL ORDER BY id"
    ).fetchall()
