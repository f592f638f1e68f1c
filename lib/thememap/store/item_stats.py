"""Read-only figures over the items table: 01's corpus overview and the run report's headline.

Each is one SQL query (a table scan at most, or an index), so they stay cheap at a
million items; the tables and plots made of them live in :mod:`thememap.ingest.overview`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pandas as pd

from thememap.store.items import LEVEL_COLUMNS


def corpus_counts(conn: sqlite3.Connection, *, max_chars: int | None = None) -> dict[str, Any]:
    """``items``, ``distinct`` texts (content hashes), ``dated`` items, ``first_date``,
    ``last_date``, ``mean_chars`` and ``cut`` (texts longer than ``max_chars``; 0 without)."""
    # one table scan, plus the content_hash index for the distinct count
    row = conn.execute(
        """
        SELECT COUNT(*) AS items,
               COUNT(created_at) AS dated,
               MIN(created_at) AS first_date,
               MAX(created_at) AS last_date,
               AVG(LENGTH(content)) AS mean_chars,
               SUM(LENGTH(content) > ?) AS cut
        FROM items
        """,
        (max_chars if max_chars is not None else -1,),
    ).fetchone()
    distinct = conn.execute(
        "SELECT COUNT(*) FROM (SELECT DISTINCT content_hash FROM items)"
    ).fetchone()[0]
    return {**dict(row), "distinct": distinct}


def text_lengths(conn: sqlite3.Connection) -> pd.DataFrame:
    """Per item: ``chars`` and ``words`` (whitespace-separated runs, counted in SQL), by item id."""
    return pd.read_sql_query(
        """
        SELECT id,
               LENGTH(content) AS chars,
               LENGTH(TRIM(content)) - LENGTH(REPLACE(TRIM(content), ' ', '')) + 1 AS words
        FROM items ORDER BY id
        """,
        conn,
        index_col="id",
    )


def created_at_values(conn: sqlite3.Connection) -> pd.Series:
    """Every item's ``created_at`` that is set (text, as stored)."""
    query = "SELECT created_at FROM items WHERE created_at IS NOT NULL"
    return pd.read_sql_query(query, conn)["created_at"]


def shared_texts(conn: sqlite3.Connection, *, n: int) -> pd.DataFrame:
    """The ``n`` texts shared by the most items: ``items`` (how many) and one ``content``."""
    return pd.read_sql_query(
        """
        SELECT COUNT(*) AS items, MIN(content) AS content
        FROM items GROUP BY content_hash HAVING COUNT(*) > 1
        ORDER BY items DESC, content LIMIT ?
        """,
        conn,
        params=(n,),
    )


def positioned_count(conn: sqlite3.Connection) -> int:
    """How many items have a map position."""
    return int(conn.execute("SELECT COUNT(*) FROM items WHERE umap_x IS NOT NULL").fetchone()[0])


def unplaced_counts(conn: sqlite3.Connection) -> dict[int, int]:
    """Per reference level (1..3), how many items have no cluster label there."""
    return {
        level: int(conn.execute(f"SELECT COUNT(*) FROM items WHERE {column} IS NULL").fetchone()[0])
        for level, column in LEVEL_COLUMNS.items()
    }
