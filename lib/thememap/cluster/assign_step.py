"""The assign step on a store: place the items a clustering does not cover yet in it.

:func:`assign_store` reads the latest (or a named) cluster run as arrays, places
the items added since with :func:`thememap.cluster.assign.place_items`, and writes
them batch by batch (:mod:`thememap.store.assignments`, one transaction each).
The reference for scores and map positions is the run's *fitted* items only, so
a re-run after a kill places the remaining items exactly as one run would have.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass

import numpy as np

from thememap.cluster.assign import AssignSummary, FittedHierarchy, place_items, summarise
from thememap.cluster.continuity import RunLevels, read_run_levels
from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.params import ClusterParams
from thememap.errors import StepOrderError
from thememap.progress import progress_bar
from thememap.store.assignments import (
    assigned_item_ids,
    next_batch_number,
    read_assignments,
    write_assignment_batch,
)
from thememap.store.clusters import (
    AddedMembers,
    exported_cluster_run,
    read_layout,
    uncovered_items,
)
from thememap.store.vectors import load_item_vectors
from thememap.vectors import unit_rows

log = logging.getLogger(__name__)


@dataclass
class AssignResult:
    """What :func:`assign_store` did: ``summary`` covers every item assigned into the run
    so far (earlier, killed attempts included); ``placed_now`` those of this call."""

    run_id: str
    placed_now: int
    summary: AssignSummary
    seconds: float

    @property
    def items_per_second(self) -> float:
        """Throughput of this call (0 when nothing was placed)."""
        return self.placed_now / self.seconds if self.placed_now and self.seconds else 0.0


def fitted_hierarchy(
    conn: sqlite3.Connection, run_id: str, ids: np.ndarray, vectors: np.ndarray
) -> tuple[FittedHierarchy, RunLevels]:
    """``run_id``'s fit as arrays: its clusters and the items it was fitted on (those not
    assigned afterwards), with their vectors (rows of ``vectors``, ids ``ids``) and map."""
    run = read_run_levels(conn, run_id)
    if not run.cluster_ids or any(c is None for c in run.centroids):
        raise StepOrderError(
            f"cluster run {run_id} has no stored centroids: run 02_cluster again before assigning"
        )
    fitted = ~np.isin(run.item_ids, assigned_item_ids(conn, run_id))
    item_ids = run.item_ids[fitted]
    rows = np.searchsorted(ids, item_ids)
    layout = read_layout(conn, run_id)
    coords = None
    if len(layout):
        at = np.searchsorted(layout["item_id"].to_numpy(), item_ids)
        at = np.clip(at, 0, len(layout) - 1)
        if np.array_equal(layout["item_id"].to_numpy()[at], item_ids):
            coords = layout[["x", "y"]].to_numpy(dtype=np.float64)[at]
        else:
            log.warning("run %s: some fitted items have no map position; none placed", run_id)
    fit = FittedHierarchy(
        centroids=[unit_rows(np.asarray(c, np.float32)) for c in run.centroids if c is not None],
        parents=run.parents,
        vectors=unit_rows(vectors[rows]),
        labels=np.vstack(run.labels)[:, fitted],
        coords=coords,
    )
    return fit, run


def assign_store(
    conn: sqlite3.Connection,
    cluster: ClusterParams,
    continuity: ContinuityParams,
    *,
    run_id: str | None = None,
    progress: bool = True,
) -> AssignResult:
    """Place every item ``run_id``'s clustering (default: the latest) does not cover yet.

    Raises :class:`~thememap.errors.StoreError` when the store has no clustering and
    :class:`~thememap.errors.StepOrderError` when an item has no vector yet.
    """
    started = time.perf_counter()
    run_id = exported_cluster_run(conn, run_id)
    todo = uncovered_items(conn, run_id)
    placed_now = 0
    if len(todo):
        ids, vectors = load_item_vectors(conn)
        fit, run = fitted_hierarchy(conn, run_id, ids, vectors)
        spread = fit.spread()
        size = continuity.assign_batch_size
        bar = progress_bar(total=len(todo), unit="item", desc="assigning", disable=not progress)
        with bar:
            for start in range(0, len(todo), size):
                batch = todo[start : start + size]
                placement = place_items(
                    vectors[np.searchsorted(ids, batch)],
                    fit,
                    noise_threshold=cluster.noise_threshold,
                    keep_noise=cluster.keep_noise,
                    n_neighbors=cluster.n_neighbors,
                    spread=spread,
                )
                added = AddedMembers(
                    item_ids=batch,
                    cluster_ids=run.cluster_ids,
                    labels=placement.labels,
                    strength=placement.strength,
                    outlier_score=placement.outlier_score,
                    placed_from_noise=placement.is_outlier & (placement.labels >= 0),
                    coords=placement.coords,
                )
                write_assignment_batch(
                    conn,
                    run_id,
                    added,
                    nearest_fine=placement.nearest[-1],
                    fine_outlier=placement.is_outlier[-1],
                    batch=next_batch_number(conn, run_id),
                )
                placed_now += len(batch)
                bar.update(len(batch))
    flags = read_assignments(conn, run_id)["is_outlier"].to_numpy(dtype=bool)
    summary = summarise(flags, refit_outlier_share=continuity.refit_outlier_share)
    result = AssignResult(run_id, placed_now, summary, time.perf_counter() - started)
    log.info(
        "assigned %d new item(s) to run %s (%.0f items/s); %s",
        placed_now,
        run_id,
        result.items_per_second,
        "; ".join(summary.lines()),
    )
    return result
