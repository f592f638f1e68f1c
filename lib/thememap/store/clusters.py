"""Clusters, memberships and 2D layouts of clustering runs in the store.

A run's clustering is written whole in one transaction: re-running it replaces
that run's previous clusters, memberships and layout, and the reference's
``items.embedding_cluster_l1..l3`` / ``umap_x`` / ``umap_y`` columns are
refilled with this (latest) run's values.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from thememap.errors import StoreError
from thememap.store.connection import transaction
from thememap.store.vectors import to_blob
from thememap.store.view import check_clustering_current, record_cluster_view

REFERENCE_LEVELS = 3  # items.embedding_cluster_l1..l3


@dataclass
class LevelRecords:
    """Everything stored for one level (clusters numbered ``0..k-1``, items in run order)."""

    labels: np.ndarray  # (n,) int, -1 = unplaced
    parents: np.ndarray  # (k,) index of the parent at the level above, -1 at level 1
    sizes: np.ndarray  # (k,) items per cluster (comment_count)
    centroids: np.ndarray  # (k, d) float32
    coherence: np.ndarray  # (k,) mean cosine of members to the centroid
    stability: np.ndarray  # (k,) the method's stability score in [0, 1]
    representatives: Sequence[Sequence[int]]  # (k,) item ids, near the centroid and diverse
    keywords: Sequence[Sequence[str]]  # (k,) top terms
    centre_xy: np.ndarray | None  # (k, 2) cluster position on the map (label anchor)
    strength: np.ndarray  # (n,) membership strength
    outlier_score: np.ndarray  # (n,)
    placed_from_noise: np.ndarray  # (n,) bool: an outlier placed in its nearest cluster


def replace_run_clusters(
    conn: sqlite3.Connection,
    run_id: str,
    *,
    item_ids: np.ndarray,
    levels: Sequence[LevelRecords],
    coords: np.ndarray | None,
    cluster_type: str = "embedding",
) -> list[np.ndarray]:
    """Write a run's hierarchy (replacing what the run had); return ``clusters.id`` per level."""
    item_list = [int(i) for i in item_ids]
    db_ids: list[np.ndarray] = []
    with transaction(conn):
        delete_run_clusters(conn, run_id, cluster_type=cluster_type, _in_transaction=True)
        for depth, lv in enumerate(levels, start=1):
            ids = np.empty(len(lv.parents), dtype=np.int64)
            for c in range(len(lv.parents)):
                parent = int(lv.parents[c])
                xy = None if lv.centre_xy is None else lv.centre_xy[c]
                cur = conn.execute(
                    "INSERT INTO clusters(run_id, cluster_type, level, name, parent_id,"
                    " comment_count, centroid, coherence, stability, representatives, keywords,"
                    " x, y) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id, cluster_type, depth, f"L{depth}_{c}",
                        None if parent < 0 else int(db_ids[-1][parent]),
                        int(lv.sizes[c]), to_blob(lv.centroids[c]),
                        float(lv.coherence[c]), float(lv.stability[c]),
                        json.dumps([int(i) for i in lv.representatives[c]]),
                        json.dumps(list(lv.keywords[c])),
                        None if xy is None else float(xy[0]), None if xy is None else float(xy[1]),
                    ),
                )  # fmt: skip
                ids[c] = int(cur.lastrowid or 0)
            db_ids.append(ids)
            conn.executemany(
                "INSERT INTO memberships(run_id, item_id, level, cluster_id, strength,"
                " outlier_score, placed_from_noise) VALUES (?,?,?,?,?,?,?)",
                (
                    (
                        run_id, item, depth, None if lab < 0 else int(ids[lab]),
                        float(s), float(o), int(p),
                    )
                    for item, lab, s, o, p in zip(
                        item_list, lv.labels.tolist(), lv.strength.tolist(),
                        lv.outlier_score.tolist(), lv.placed_from_noise.tolist(), strict=True,
                    )
                ),
            )  # fmt: skip
        if coords is not None:
            conn.executemany(
                "INSERT INTO layouts(run_id, item_id, x, y) VALUES (?,?,?,?)",
                zip(
                    [run_id] * len(item_list),
                    item_list,
                    *np.asarray(coords, float).T.tolist(),
                    strict=True,
                ),
            )
        _fill_reference_columns(conn, item_list, levels, coords)
        record_cluster_view(conn, run_id, len(item_list))
    return db_ids


def _fill_reference_columns(
    conn: sqlite3.Connection,
    item_ids: list[int],
    levels: Sequence[LevelRecords],
    coords: np.ndarray | None,
) -> None:
    """The reference's columns: label number of L1..L3 (NULL = unplaced) and the map position."""
    conn.execute(
        "UPDATE items SET embedding_cluster_l1 = NULL, embedding_cluster_l2 = NULL,"
        " embedding_cluster_l3 = NULL, umap_x = NULL, umap_y = NULL"
    )
    _write_reference_columns(conn, item_ids, [lv.labels for lv in levels], coords)


def _write_reference_columns(
    conn: sqlite3.Connection,
    item_ids: list[int],
    labels: Sequence[np.ndarray],
    coords: np.ndarray | None,
) -> None:
    """Set the reference's columns of ``item_ids`` from per-level ``labels`` and ``coords``."""
    columns = []
    for depth in range(REFERENCE_LEVELS):
        columns.append(
            [None] * len(item_ids) if depth >= len(labels)
            else [None if lab < 0 else int(lab) for lab in labels[depth].tolist()]
        )  # fmt: skip
    xy = (
        np.asarray(coords, float).T.tolist() if coords is not None
        else [[None] * len(item_ids), [None] * len(item_ids)]
    )  # fmt: skip
    conn.executemany(
        "UPDATE items SET embedding_cluster_l1 = ?, embedding_cluster_l2 = ?,"
        " embedding_cluster_l3 = ?, umap_x = ?, umap_y = ? WHERE id = ?",
        zip(*columns, *xy, item_ids, strict=True),
    )


@dataclass
class AddedMembers:
    """Items added to a run's clustering after its fit (``thememap assign``), levels coarse
    first; ``labels`` index each level's ``cluster_ids`` (its clusters.id in id order)."""

    item_ids: np.ndarray  # (m,)
    cluster_ids: Sequence[np.ndarray]  # per level: label -> clusters.id
    labels: np.ndarray  # (levels, m), -1 = unplaced
    strength: np.ndarray  # (levels, m)
    outlier_score: np.ndarray  # (levels, m)
    placed_from_noise: np.ndarray  # (levels, m) bool
    coords: np.ndarray | None  # (m, 2)


def add_run_members(conn: sqlite3.Connection, run_id: str, added: AddedMembers) -> None:
    """Add items to ``run_id``'s clustering; call inside the caller's transaction.

    Writes their memberships and map positions, counts them into their clusters'
    ``comment_count``, and fills their reference columns when ``run_id`` is the
    clustering written last (the one those columns show).
    """
    items = [int(i) for i in added.item_ids]
    for depth, (ids, labels) in enumerate(zip(added.cluster_ids, added.labels, strict=True)):
        rows = [
            (run_id, item, depth + 1, None if lab < 0 else int(ids[lab]), float(s), float(o), int(p))
            for item, lab, s, o, p in zip(
                items, labels.tolist(), added.strength[depth].tolist(),
                added.outlier_score[depth].tolist(), added.placed_from_noise[depth].tolist(),
                strict=True,
            )
        ]  # fmt: skip
        conn.executemany(
            "INSERT INTO memberships(run_id, item_id, level, cluster_id, strength,"
            " outlier_score, placed_from_noise) VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        placed = labels[labels >= 0]
        counts = np.bincount(placed, minlength=len(ids))
        conn.executemany(
            "UPDATE clusters SET comment_count = comment_count + ? WHERE id = ?",
            [(int(counts[c]), int(ids[c])) for c in np.flatnonzero(counts)],
        )
    if added.coords is not None:
        conn.executemany(
            "INSERT INTO layouts(run_id, item_id, x, y) VALUES (?,?,?,?)",
            [
                (run_id, item, float(x), float(y))
                for item, (x, y) in zip(items, added.coords.tolist(), strict=True)
            ],
        )
    if latest_cluster_run(conn) == run_id:
        _write_reference_columns(conn, items, list(added.labels), added.coords)


def uncovered_items(conn: sqlite3.Connection, run_id: str) -> np.ndarray:
    """Ids of the items ``run_id``'s clustering has no membership for (added since), sorted."""
    rows = conn.execute(
        "SELECT i.id FROM items AS i WHERE NOT EXISTS (SELECT 1 FROM memberships AS m"
        " WHERE m.run_id = ? AND m.item_id = i.id) ORDER BY i.id",
        (run_id,),
    ).fetchall()
    return np.asarray([int(r[0]) for r in rows], dtype=np.int64)


def delete_run_clusters(
    conn: sqlite3.Connection,
    run_id: str,
    *,
    cluster_type: str = "embedding",
    _in_transaction: bool = False,
) -> None:
    """Remove a run's clusters of ``cluster_type``, their memberships and the run's layout."""

    def run() -> None:
        conn.execute(
            "DELETE FROM memberships WHERE run_id = ? AND cluster_id IN"
            " (SELECT id FROM clusters WHERE run_id = ? AND cluster_type = ?)"
            " OR (run_id = ? AND cluster_id IS NULL)",
            (run_id, run_id, cluster_type, run_id),
        )
        # children first, so parent_id references never dangle mid-delete
        conn.execute(
            "DELETE FROM clusters WHERE run_id = ? AND cluster_type = ? AND parent_id IS NOT NULL",
            (run_id, cluster_type),
        )
        conn.execute(
            "DELETE FROM clusters WHERE run_id = ? AND cluster_type = ?", (run_id, cluster_type)
        )
        conn.execute("DELETE FROM layouts WHERE run_id = ?", (run_id,))

    if _in_transaction:
        run()
    else:
        with transaction(conn):
            run()


def latest_cluster_run(conn: sqlite3.Connection) -> str | None:
    """The run whose clusters were written last (None when there are none)."""
    row = conn.execute("SELECT run_id FROM clusters ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def exported_cluster_run(conn: sqlite3.Connection, run_id: str | None = None) -> str:
    """The run whose clusters are exported: ``run_id`` if it has clusters, else the run
    started last among those that have (raises :class:`StoreError` when none has)."""
    if (
        run_id
        and conn.execute("SELECT 1 FROM clusters WHERE run_id = ? LIMIT 1", (run_id,)).fetchone()
    ):
        return run_id
    row = conn.execute(
        "SELECT c.run_id FROM clusters AS c LEFT JOIN runs AS r ON r.id = c.run_id"
        " GROUP BY c.run_id ORDER BY MAX(r.started_at) DESC, MAX(c.id) DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise StoreError("the store has no clusters yet: run 02_cluster first")
    return str(row[0])


# every column, so a column a later migration adds reaches the exports with no change here
_EVERY_COLUMN = "SELECT * FROM clusters WHERE run_id = ? ORDER BY level, comment_count DESC, id"


def cluster_table(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """A run's clusters with every stored column (JSON columns as text), by level, then size."""
    return pd.read_sql_query(_EVERY_COLUMN, conn, params=(run_id,))


def cluster_records(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """:func:`cluster_table` as plain records (Python values, as SQLite returns them)."""
    return [dict(row) for row in conn.execute(_EVERY_COLUMN, (run_id,))]


def clusters_per_level(conn: sqlite3.Connection, run_id: str) -> dict[int, int]:
    """How many clusters each level of ``run_id`` has; a run without clusters of its own
    (one that only exported) counts those of the run whose clusters were written last."""
    count = "SELECT level, COUNT(*) FROM clusters WHERE run_id = ? GROUP BY level ORDER BY level"
    rows = conn.execute(count, (run_id,)).fetchall()
    if not rows:
        rows = conn.execute(
            "SELECT level, COUNT(*) FROM clusters WHERE run_id = "
            "(SELECT run_id FROM clusters ORDER BY id DESC LIMIT 1) GROUP BY level"
        ).fetchall()
    return {int(level): int(n) for level, n in rows}


def read_clusters(conn: sqlite3.Connection, run_id: str | None = None) -> pd.DataFrame:
    """A run's clusters (default: the latest run), one row each, JSON columns decoded."""
    run_id = run_id or latest_cluster_run(conn)
    frame = pd.read_sql_query(
        "SELECT id, run_id, cluster_type, level, name, parent_id, comment_count, coherence,"
        " stability, representatives, keywords, x, y, llm_description, llm_pattern_name,"
        " llm_category, strength_score FROM clusters WHERE run_id = ? ORDER BY level, id",
        conn,
        params=(run_id,),
    )
    for column in ("representatives", "keywords"):
        frame[column] = frame[column].map(json.loads)
    return frame


def read_memberships(
    conn: sqlite3.Connection,
    run_id: str | None = None,
    *,
    level: int | None = None,
    check_current: bool = True,
) -> pd.DataFrame:
    """A run's memberships (item_id, level, cluster_id, strength, outlier_score, placed_from_noise).

    Raises :class:`~thememap.errors.StepOrderError` when the items changed since
    that clustering (``check_current=False`` reads it anyway).
    """
    run_id = run_id or latest_cluster_run(conn)
    if check_current and run_id is not None:
        check_clustering_current(conn, run_id)
    sql = (
        "SELECT item_id, level, cluster_id, strength, outlier_score, placed_from_noise"
        " FROM memberships WHERE run_id = ?"
    )
    args: tuple[str | int, ...] = (str(run_id),)
    if level is not None:
        sql += " AND level = ?"
        args = (str(run_id), level)
    return pd.read_sql_query(sql + " ORDER BY level, item_id", conn, params=args)


def read_layout(conn: sqlite3.Connection, run_id: str | None = None) -> pd.DataFrame:
    """A run's 2D map positions (item_id, x, y)."""
    run_id = run_id or latest_cluster_run(conn)
    return pd.read_sql_query(
        "SELECT item_id, x, y FROM layouts WHERE run_id = ? ORDER BY item_id",
        conn,
        params=(run_id,),
    )
