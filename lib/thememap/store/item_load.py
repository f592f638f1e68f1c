"""The items table's side of one load (:mod:`thememap.ingest.load`), inside its transaction.

A temporary table ``load_lines`` remembers which external ids the file held and
on which line: an id seen twice in one file is told from one already in the
store, and in mirror mode the items whose id the file did not hold are removed.
The caller opens the transaction; these functions only read and write in it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from thememap.store.items import INSERT_ITEM

_IN_CLAUSE_VARS = 900  # values per IN (...) query; well under SQLite's variable limit

# (external_id, content, metadata_json, created_at, content_hash, source)
ItemRow = tuple[str, str, str, str | None, str, str]


def start_load(conn: sqlite3.Connection) -> None:
    """Make the (empty) ``load_lines`` table of this connection."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS load_lines"
        " (external_id TEXT PRIMARY KEY, line INTEGER NOT NULL)"
    )
    conn.execute("DELETE FROM temp.load_lines")


def end_load(conn: sqlite3.Connection) -> None:
    """Forget this load's lines (the table stays for the connection's next load)."""
    conn.execute("DELETE FROM temp.load_lines")


def known_items(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, tuple[str, int | None]]:
    """For each of ``ids`` in the store: ``(content, line)``, ``line`` the file line this
    load saw it on (None when it was in the store before this load)."""
    known: dict[str, tuple[str, int | None]] = {}
    for start in range(0, len(ids), _IN_CLAUSE_VARS):
        part = list(ids[start : start + _IN_CLAUSE_VARS])
        marks = ",".join("?" * len(part))
        rows = conn.execute(
            "SELECT i.external_id, i.content, l.line FROM items AS i"
            " LEFT JOIN temp.load_lines AS l ON l.external_id = i.external_id"
            f" WHERE i.external_id IN ({marks})",
            part,
        )
        for external_id, content, line in rows:
            known[external_id] = (content, line)
    return known


def known_hashes(conn: sqlite3.Connection, hashes: Sequence[str]) -> set[str]:
    """Those of ``hashes`` that some item in the store already has."""
    found: set[str] = set()
    for start in range(0, len(hashes), _IN_CLAUSE_VARS):
        part = list(hashes[start : start + _IN_CLAUSE_VARS])
        marks = ",".join("?" * len(part))
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT DISTINCT content_hash FROM items WHERE content_hash IN ({marks})", part
            )
        )
    return found


def add_items(
    conn: sqlite3.Connection, rows: Sequence[ItemRow], lines: Sequence[tuple[str, int]]
) -> None:
    """Insert new items and note the ``(external_id, line)`` each came from."""
    conn.executemany(INSERT_ITEM, rows)
    conn.executemany("INSERT INTO temp.load_lines VALUES (?, ?)", lines)


def note_line(conn: sqlite3.Connection, external_id: str, line: int) -> None:
    """Note that the file holds ``external_id`` (an item already in the store, unchanged)."""
    conn.execute("INSERT OR IGNORE INTO temp.load_lines VALUES (?, ?)", (external_id, line))


def replace_item(conn: sqlite3.Connection, row: ItemRow, line: int) -> None:
    """Give the item ``row[0]`` a new text (it keeps its id; its old vector stays cached)."""
    external_id, content, metadata, created_at, content_hash, source = row
    conn.execute(
        "UPDATE items SET content = ?, metadata = ?, created_at = ?, content_hash = ?,"
        " source = ?, loaded_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE external_id = ?",
        (content, metadata, created_at, content_hash, source, external_id),
    )
    conn.execute("INSERT INTO temp.load_lines VALUES (?, ?)", (external_id, line))


def remove_unseen(conn: sqlite3.Connection) -> int:
    """Remove the items whose id this load did not see; return how many."""
    cursor = conn.execute(
        "DELETE FROM items WHERE external_id NOT IN (SELECT external_id FROM temp.load_lines)"
    )
    return max(cursor.rowcount, 0)
