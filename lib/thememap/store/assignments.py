"""Items placed in a cluster run after its fit (``thememap assign``): the only writer of
``theme_assignments``.

Each batch lands in one transaction with the items' memberships, map positions and
the clusters' new sizes (:func:`thememap.store.clusters.add_run_members`), so a
killed assign leaves whole batches only, and a re-run places just the items the
run still has no membership for. The batch that covers the last item also records
that the clustering covers the current items again
(:func:`~thememap.store.view.record_cluster_view`), so 03/04 accept it.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from thememap.store.clusters import AddedMembers, add_run_members, uncovered_items
from thememap.store.connection import transaction
from thememap.store.view import record_cluster_view


def write_assignment_batch(
    conn: sqlite3.Connection,
    run_id: str,
    added: AddedMembers,
    *,
    nearest_fine: np.ndarray,
    fine_outlier: np.ndarray,
    batch: int,
) -> bool:
    """Write one batch of placed items (one transaction); True when the run now covers
    every item. ``nearest_fine``: (m,) each item's nearest finest-level cluster (its
    label there, also when ``keep_noise`` left it unplaced); ``fine_outlier``: (m,)
    whether it is an outlier at that level."""
    fine_ids = added.cluster_ids[-1]
    with transaction(conn):
        add_run_members(conn, run_id, added)
        conn.executemany(
            "INSERT INTO theme_assignments(run_id, item_id, cluster_id, strength,"
            " outlier_score, is_outlier, batch) VALUES (?,?,?,?,?,?,?)",
            [
                (run_id, int(item), int(fine_ids[lab]), float(s), float(o), int(flag), batch)
                for item, lab, s, o, flag in zip(
                    added.item_ids.tolist(), np.asarray(nearest_fine).tolist(),
                    added.strength[-1].tolist(), added.outlier_score[-1].tolist(),
                    np.asarray(fine_outlier, bool).tolist(), strict=True,
                )
            ],
        )  # fmt: skip
        complete = len(uncovered_items(conn, run_id)) == 0
        if complete:
            record_cluster_view(conn, run_id, _count_items(conn))
    return complete


def _count_items(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])


def assigned_item_ids(conn: sqlite3.Connection, run_id: str) -> np.ndarray:
    """Ids of the items assigned into ``run_id`` after its fit, sorted."""
    rows = conn.execute(
        "SELECT item_id FROM theme_assignments WHERE run_id = ? ORDER BY item_id", (run_id,)
    ).fetchall()
    return np.asarray([int(r[0]) for r in rows], dtype=np.int64)


def next_batch_number(conn: sqlite3.Connection, run_id: str) -> int:
    """The number the next batch of ``run_id`` gets (batches count across re-runs)."""
    row = conn.execute(
        "SELECT MAX(batch) FROM theme_assignments WHERE run_id = ?", (run_id,)
    ).fetchone()
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def read_assignments(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """``run_id``'s assigned items: item_id, cluster_id (finest level), strength,
    outlier_score, is_outlier, batch, assigned_at; by item id."""
    return pd.read_sql_query(
        "SELECT item_id, cluster_id, strength, outlier_score, is_outlier, batch, assigned_at"
        " FROM theme_assignments WHERE run_id = ? ORDER BY item_id",
        conn,
        params=(run_id,),
    )
