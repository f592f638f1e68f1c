"""The one SQL that is not the store's: reading a table of the user's own SQLite input file.

Opened read-only (the file is never changed), rows in rowid order; TEXT that is
not valid UTF-8 comes back as :class:`Undecodable` bytes so the reader can report
that row alone. :func:`thememap.ingest.readers.read_sqlite` turns the rows into records.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from thememap.errors import InputError


class Undecodable(bytes):
    """A TEXT value SQLite holds that is not valid UTF-8 (kept as bytes to report it)."""


def _text(value: bytes) -> str | Undecodable:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return Undecodable(value)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def input_table_rows(
    path: Path, *, table: str, text_field: str, leave_out: Collection[str] = ()
) -> Iterator[dict[str, Any]]:
    """Rows of ``table`` in the SQLite file ``path`` as ``{column: value}``, in rowid order,
    without the ``leave_out`` columns.

    Raises :class:`InputError` (naming the file) when it is not a readable SQLite file,
    has no such table (listing those it has), or the table has no ``text_field`` column.
    """
    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.text_factory = _text
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({_quote(table)})")]
    except sqlite3.DatabaseError as err:
        raise InputError(f"{path}: not a readable SQLite file ({err})") from None
    try:
        if not columns:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            raise InputError(
                f"{path}: no table {table!r} (tables: {', '.join(tables) or 'none'}); "
                "set input.sqlite_table"
            )
        if text_field not in columns:
            raise InputError(
                f"{path}: table {table!r} has no column {text_field!r} "
                f"(columns: {', '.join(columns)}); set input.text_field"
            )
        wanted = [c for c in columns if c not in leave_out]
        select = ", ".join(_quote(c) for c in wanted)
        try:
            cursor = conn.execute(f"SELECT {select} FROM {_quote(table)} ORDER BY rowid")
        except sqlite3.OperationalError:  # a WITHOUT ROWID table keeps its own order
            cursor = conn.execute(f"SELECT {select} FROM {_quote(table)}")
        for values in cursor:
            yield dict(zip(wanted, values, strict=True))
    finally:
        conn.close()
