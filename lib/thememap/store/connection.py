"""Opening the store: WAL, foreign keys, migrations applied on open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from thememap.errors import StoreError
from thememap.store.migrations import migrate


def open_store(path: Path | str, *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the store at ``path``; ``create=False`` refuses a missing file.

    The connection is in autocommit mode: writes go through :func:`transaction`
    so that each unit of work lands whole or not at all.
    """
    path = Path(path)
    if path != Path(":memory:") and not path.exists():
        if not create:
            raise StoreError(f"{path}: no store here (run 01_embed first to create it)")
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{path}: not a usable SQLite store ({err})") from None
    migrate(conn, source=str(path))
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
