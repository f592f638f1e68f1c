"""The current view: which items a run maps, and whether a clustering still covers them.

A run maps the current input: 01 adds new items, replaces changed texts and
removes items gone from the input (their vectors stay cached in
``embeddings``). Each such change bumps ``store_meta.items_version``;
02 records the version it clustered (:func:`record_cluster_view`), and 03/04
refuse a clustering of an older view (:func:`check_clustering_current`).
"""

from __future__ import annotations

import sqlite3

from thememap.errors import StepOrderError

_VERSION_KEY = "items_version"


def items_version(conn: sqlite3.Connection) -> int:
    """How many times the set of items or their texts changed (0 for a new store)."""
    row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (_VERSION_KEY,)).fetchone()
    return 0 if row is None else int(row[0])


def bump_items_version(conn: sqlite3.Connection) -> int:
    """Record that items were added, changed or removed; call inside the writing transaction."""
    version = items_version(conn) + 1
    conn.execute(
        "INSERT OR REPLACE INTO store_meta(key, value) VALUES (?, ?)", (_VERSION_KEY, str(version))
    )
    return version


def record_cluster_view(conn: sqlite3.Connection, run_id: str, items: int) -> None:
    """Remember which view ``run_id``'s clustering covers; call inside its writing transaction."""
    conn.execute(
        "INSERT OR REPLACE INTO cluster_run_views(run_id, items_version, items) VALUES (?, ?, ?)",
        (run_id, items_version(conn), items),
    )


def check_clustering_current(conn: sqlite3.Connection, run_id: str) -> None:
    """Raise :class:`StepOrderError` unless ``run_id``'s clustering covers every current item.

    A clustering recorded with its view must match the current ``items_version``;
    one from before views were recorded must have a membership for every item
    (a reference-design store, labels without memberships, is taken as it is).
    """
    n_items = int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])
    row = conn.execute(
        "SELECT items_version, items FROM cluster_run_views WHERE run_id = ?", (run_id,)
    ).fetchone()
    if row is not None:
        if int(row[0]) == items_version(conn):
            return
        raise StepOrderError(
            f"the clustering of run {run_id} covered {int(row[1])} items, but the items changed "
            f"since (now {n_items}: added, edited or removed by 01_embed); "
            "run 02_cluster again before describing or exporting"
        )
    if (
        conn.execute("SELECT 1 FROM memberships WHERE run_id = ? LIMIT 1", (run_id,)).fetchone()
        is None
    ):
        return
    missing = int(
        conn.execute(
            "SELECT COUNT(*) FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM memberships AS m"
            " WHERE m.run_id = ? AND m.item_id = i.id)",
            (run_id,),
        ).fetchone()[0]
    )
    if missing:
        raise StepOrderError(
            f"the clustering of run {run_id} does not cover {missing} of the {n_items} items "
            "(they were added after it); run 02_cluster again before describing or exporting"
        )
