"""Opening the store: WAL, foreign keys, migrations applied on open."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from thememap.errors import StoreError
from thememap.store.migrations import migrate

log = logging.getLogger(__name__)
SHRINK_MIN_BYTES = 64 * 2**20  # free space after a table rewrite worth a VACUUM


def open_store(path: Path | str, *, create: bool = True) -> sqlite3.Connection:
    """Open (and migrate) the store at ``path``; ``create=False`` refuses a missing file.

    The connection is in autocommit mode: writes go through :func:`transaction`
    so that each unit of work lands whole or not at all.
    """
    path = Path(path)
    if path != Path(":memory:"):
        if not path.exists() and not create:
            raise StoreError(f"{path}: no store here (run 01_embed first to create it)")
        check_writable(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"{path.parent}: cannot create the store's folder ({err})") from None
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{path}: not a usable SQLite store ({err})") from None
    applied = migrate(conn, source=str(path))
    if "011_embeddings_rowid" in applied:
        _give_back_space(conn, str(path))
    return conn


def _give_back_space(conn: sqlite3.Connection, source: str) -> None:
    """Shrink the file once after a migration that rewrote a large table (VACUUM; about 15 s
    for a 3.7 GB store); a store another process holds open is left as it is, its free
    pages reused by later writes."""
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    if free * size < SHRINK_MIN_BYTES:
        return
    log.info(
        "%s: giving back %.0f MB the vector table no longer needs", source, free * size / 2**20
    )
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # in WAL mode the file shrinks here
    except sqlite3.OperationalError as exc:
        log.info("%s: not shrunk now (%s); `sqlite3 FILE VACUUM` does it later", source, exc)


def check_writable(path: Path) -> None:
    """Raise :class:`StoreError` (one clear line) unless the store at ``path`` can be written."""
    if path.is_dir():
        raise StoreError(f"{path}: is a folder; set store: to a file such as data/items.db")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StoreError(
            f"{path}: the store file is read-only (permission denied); "
            "make it writable or set store: to another file"
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    # SQLite writes its -wal and -shm files beside the store
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(
            f"{folder}: cannot write in the store's folder (permission denied); "
            "SQLite keeps its journal beside the store: make the folder writable "
            "or set store: to a file elsewhere"
        )


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
