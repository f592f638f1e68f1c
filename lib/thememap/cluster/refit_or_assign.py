"""02_cluster's choice: refit the hierarchy, or place the new items in the last one.

With ``continuity.assign_new_items: true`` and a clustering in the store, notebook 02
does what ``thememap assign`` does (:func:`thememap.cluster.assign_step.assign_store`)
instead of refitting, and shows that clustering, new items included, read back from
the store (:func:`stored_cluster_result`). Otherwise it fits as always
(:func:`thememap.cluster.step.cluster_store`). Assigning only adds: items edited or
removed since the fit keep (or lose) their places, so refit after large edits.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import numpy as np

from thememap.cluster.assign_step import assign_store
from thememap.cluster.continuity import read_run_levels
from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.hierarchy import Hierarchy
from thememap.cluster.params import ClusterParams
from thememap.cluster.step import ClusterResult, cluster_store
from thememap.store.clusters import (
    cluster_table,
    latest_cluster_run,
    read_clusters,
    read_layout,
    read_memberships,
)

log = logging.getLogger(__name__)


def cluster_or_assign(
    conn: sqlite3.Connection,
    cluster: ClusterParams,
    continuity: ContinuityParams,
    *,
    run_id: str,
) -> ClusterResult:
    """Refit (as :func:`cluster_store`), or assign the new items into the latest clustering
    when ``continuity.assign_new_items`` and one exists; ``result.run_id`` names the
    clustering shown (the earlier run's when assigning)."""
    previous = latest_cluster_run(conn)
    if not continuity.assign_new_items or previous is None or previous == run_id:
        return cluster_store(conn, cluster, run_id=run_id)
    started = time.perf_counter()
    assigned = assign_store(conn, cluster, continuity, run_id=previous)
    for line in assigned.summary.lines():
        log.info("%s", line)
    result = stored_cluster_result(conn, previous, cluster)
    result.seconds = {"assign": time.perf_counter() - started}
    return result


def stored_cluster_result(
    conn: sqlite3.Connection, run_id: str, params: ClusterParams
) -> ClusterResult:
    """``run_id``'s clustering read back from the store as a :class:`ClusterResult`
    (no restarts or reproducibility checks: those belong to a fit)."""
    run = read_run_levels(conn, run_id)
    n, levels = len(run.item_ids), len(run.cluster_ids)
    strength = np.zeros((levels, n), np.float32)
    outlier = np.zeros((levels, n), np.float32)
    members = read_memberships(conn, run_id, check_current=False)
    for lvl in range(levels):
        at = members[members["level"] == lvl + 1]
        rows = np.searchsorted(run.item_ids, at["item_id"].to_numpy())
        strength[lvl, rows] = at["strength"].fillna(0).to_numpy(np.float32)
        outlier[lvl, rows] = at["outlier_score"].fillna(0).to_numpy(np.float32)
    table = cluster_table(conn, run_id).sort_values("id")
    hierarchy = Hierarchy(
        labels=np.vstack(run.labels),
        parents=run.parents,
        centroids=[c if c is not None else np.zeros((0, 0), np.float32) for c in run.centroids],
        strength=strength,
        outlier_score=outlier,
        is_outlier=outlier > params.noise_threshold,
        stability=[
            table.loc[table["level"] == lvl + 1, "stability"].fillna(0).to_numpy(float)
            for lvl in range(levels)
        ],
        fine_agreement=float("nan"),
    )
    layout = read_layout(conn, run_id)
    coords = None
    if len(layout) == n:
        coords = layout[["x", "y"]].to_numpy(np.float64)  # both by item id
    return ClusterResult(
        run_id=run_id,
        item_ids=run.item_ids,
        hierarchy=hierarchy,
        coords=coords,
        clusters=read_clusters(conn, run_id),
        cluster_ids=list(run.cluster_ids),
    )
