"""A person's theme edits in the store: ``theme_edits``, ``theme_edit_runs``, ``edited_themes``.

* ``theme_edits``: one row per edit (kind, its fields as JSON, author, where it came
  from, when); ``key`` is the canonical JSON of kind and fields, so writing the same
  edit again (a YAML edits file read by every run) is one edit, not two;
* ``theme_edit_runs``: per run, each edit's outcome there (``applied`` or why not);
* ``edited_themes``: a run's themes as shown after the edits.

The logic of edits is :mod:`thememap.cluster.edits`; this module only stores. A run's
outcomes and shown themes are written whole in one transaction (:func:`write_edited_run`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from thememap.store.connection import transaction

# Tables: migration 010_theme_edits in store/migrations.py.


def edit_key(kind: str, fields: Mapping[str, Any]) -> str:
    """The canonical text of an edit: equal for the same kind and fields."""
    return json.dumps({"kind": kind, **fields}, sort_keys=True, ensure_ascii=False)


def put_edit(
    conn: sqlite3.Connection,
    kind: str,
    fields: Mapping[str, Any],
    *,
    author: str | None = None,
    source: str | None = None,
) -> int:
    """Store an edit (once: the same kind and fields again return the first one's id)."""
    return put_edits(conn, [(kind, fields, author, source)])[0]


def put_edits(
    conn: sqlite3.Connection,
    edits: Iterable[tuple[str, Mapping[str, Any], str | None, str | None]],
) -> list[int]:
    """Store ``(kind, fields, author, source)`` edits in one transaction (each once, as
    :func:`put_edit`); return their ids in order."""
    ids = []
    with transaction(conn):
        for kind, fields, author, source in edits:
            key = edit_key(kind, fields)
            conn.execute(
                "INSERT OR IGNORE INTO theme_edits(kind, payload, key, author, source)"
                " VALUES (?, ?, ?, ?, ?)",
                (kind, json.dumps(dict(fields), ensure_ascii=False), key, author, source),
            )
            row = conn.execute("SELECT edit_id FROM theme_edits WHERE key = ?", (key,)).fetchone()
            ids.append(int(row[0]))
    return ids


def delete_edit(conn: sqlite3.Connection, edit_id: int) -> bool:
    """Remove an edit (later runs no longer apply it); False when there was none."""
    with transaction(conn):
        gone = conn.execute("DELETE FROM theme_edits WHERE edit_id = ?", (edit_id,)).rowcount
    return bool(gone)


def read_edits(conn: sqlite3.Connection) -> pd.DataFrame:
    """Every edit in the order made: ``edit_id, kind, payload`` (a dict), ``author, source,
    created_at``."""
    frame = pd.read_sql_query(
        "SELECT edit_id, kind, payload, author, source, created_at FROM theme_edits"
        " ORDER BY edit_id",
        conn,
    )
    frame["payload"] = frame["payload"].map(json.loads)
    return frame


def write_edited_run(
    conn: sqlite3.Connection,
    run_id: str,
    outcomes: Mapping[int, str],
    themes: Iterable[Mapping[str, Any]],
) -> None:
    """Replace ``run_id``'s edit outcomes (edit id -> status) and shown themes, in one
    transaction: the rows are read inside it, so a failure leaves the store as it was."""
    with transaction(conn):
        conn.execute("DELETE FROM theme_edit_runs WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM edited_themes WHERE run_id = ?", (run_id,))
        conn.executemany(
            "INSERT INTO theme_edit_runs(run_id, edit_id, status) VALUES (?, ?, ?)",
            [(run_id, int(e), status) for e, status in outcomes.items()],
        )
        for row in themes:
            conn.execute(
                "INSERT INTO edited_themes(run_id, theme_id, level, parent_theme_id,"
                " comment_count, name, edited, pinned_name, card, sources)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    row["theme_id"],
                    int(row["level"]),
                    row["parent_theme_id"],
                    int(row["comment_count"]),
                    row["name"],
                    int(bool(row["edited"])),
                    int(bool(row["pinned_name"])),
                    None if row["card"] is None else json.dumps(row["card"], ensure_ascii=False),
                    json.dumps(list(row["sources"])),
                ),
            )


def read_edit_outcomes(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """The edits ``run_id`` applied or skipped: ``edit_id, kind, payload, author, status``."""
    frame = pd.read_sql_query(
        "SELECT e.edit_id, e.kind, e.payload, e.author, r.status FROM theme_edit_runs AS r"
        " JOIN theme_edits AS e ON e.edit_id = r.edit_id WHERE r.run_id = ? ORDER BY e.edit_id",
        conn,
        params=(run_id,),
    )
    frame["payload"] = frame["payload"].map(json.loads)
    return frame


def read_edited_themes(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """``run_id``'s themes as shown after its edits (empty when edits were never applied):
    ``theme_id, level, parent_theme_id, comment_count, name, edited, pinned_name, card``
    (a dict or None), ``sources`` (the run's theme ids it is made of)."""
    frame = pd.read_sql_query(
        "SELECT theme_id, level, parent_theme_id, comment_count, name, edited, pinned_name,"
        " card, sources FROM edited_themes WHERE run_id = ? ORDER BY level, theme_id",
        conn,
        params=(run_id,),
    )
    frame["edited"] = frame["edited"].astype(bool)
    frame["pinned_name"] = frame["pinned_name"].astype(bool)
    frame["card"] = frame["card"].map(
        lambda text: json.loads(text) if isinstance(text, str) else None
    )
    frame["sources"] = frame["sources"].map(json.loads)
    return frame


def edited_names(shown: pd.DataFrame) -> dict[str, str]:
    """The run's own theme id -> the name it is shown under, for every theme an applied edit
    touched (``shown``: :func:`read_edited_themes`; a merged theme's sources all map to it)."""
    edited = shown[shown["edited"]]
    return {
        str(theme): str(name)
        for sources, name in zip(edited["sources"], edited["name"], strict=True)
        for theme in sources
    }
