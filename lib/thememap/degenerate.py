"""Degenerate corpora say so: the cluster params a store can actually support.

Applied by ``start_step("02_cluster", ...)`` before clustering, so the
hierarchy code gets counts it can honour, and the user a warning naming the
key, instead of "Unnamed cluster"s or a silent 1/1/1:

- every item has the same (prepared) text: one theme at every level;
- a ``cluster.level_counts`` entry above what the items allow (distinct texts
  divided by the finest level's minimum cluster size) is clamped to it.
"""

from __future__ import annotations

import logging
import sqlite3

from thememap.cluster.params import ClusterParams

log = logging.getLogger(__name__)


def distinct_texts(conn: sqlite3.Connection) -> tuple[int, int]:
    """``(items, distinct texts)`` of the current items."""
    row = conn.execute("SELECT COUNT(*), COUNT(DISTINCT content_hash) FROM items").fetchone()
    return int(row[0]), int(row[1])


def feasible_cluster_params(conn: sqlite3.Connection, params: ClusterParams) -> ClusterParams:
    """``params`` with level counts the store's items can support (a copy; warnings logged)."""
    n_items, n_distinct = distinct_texts(conn)
    if n_items == 0:
        return params  # 02 says "run 01_embed first"
    if n_distinct == 1 and n_items > 1:
        log.warning(
            "all %d items have the same text: one theme per level (cluster.level_counts set to %s)",
            n_items,
            [1] * params.levels,
        )
        return params.model_copy(update={"level_counts": [1] * params.levels})
    if params.level_counts is None:
        return params
    min_sizes = params.min_sizes or [None] * params.levels
    fine_min = min_sizes[-1] or max(3, min(10, n_items // 1000))  # as cluster/hierarchy.py
    most = max(1, n_distinct // fine_min)
    counts = list(params.level_counts)
    for i, count in enumerate(counts):
        if count is not None and count > most:
            log.warning(
                "cluster.level_counts[%d]: %d clusters asked, but %d items (%d distinct texts) "
                "in clusters of at least %d allow at most %d; clamped to %d",
                i,
                count,
                n_items,
                n_distinct,
                fine_min,
                most,
                most,
            )
            counts[i] = most
    if counts == params.level_counts:
        return params
    return params.model_copy(update={"level_counts": counts})
