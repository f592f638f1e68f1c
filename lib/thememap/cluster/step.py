"""The cluster step: vectors -> nested hierarchy + 2D map + per-cluster summaries.

:func:`cluster_items` is the step on arrays (what :func:`thememap.fit` calls);
:func:`cluster_store` reads the store's vectors, calls it, and writes the result
(what notebook 02 calls).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from thememap.cluster.estimator import fit_hierarchy
from thememap.cluster.evaluate import map_agreement
from thememap.cluster.hierarchy import Hierarchy
from thememap.cluster.layout import layout_2d
from thememap.cluster.params import ClusterParams
from thememap.cluster.reference_hdbscan import hdbscan_available
from thememap.cluster.reproducibility import Reproducibility, reproducibility
from thememap.cluster.summary import anchors, coherence, keywords, representatives
from thememap.store.clusters import LevelRecords, read_clusters, replace_run_clusters
from thememap.store.items import item_texts
from thememap.store.vectors import load_item_vectors
from thememap.vectors import unit_rows

log = logging.getLogger(__name__)


@dataclass
class ClusterResult:
    """What :func:`cluster_store` built and wrote (arrays in ``item_ids`` order)."""

    run_id: str
    item_ids: np.ndarray
    hierarchy: Hierarchy
    coords: np.ndarray | None
    clusters: pd.DataFrame
    records: list[LevelRecords] = field(default_factory=list)
    cluster_ids: list[np.ndarray] = field(default_factory=list)  # id of cluster c, per level
    seconds: dict[str, float] = field(default_factory=dict)
    checks: Reproducibility | None = None  # refits with other seeds / resampled items
    map_agreement: list[float] = field(default_factory=list)  # per level, see evaluate

    @property
    def counts(self) -> list[int]:
        """Clusters per level, coarse to fine."""
        return self.hierarchy.counts

    @property
    def unplaced_share(self) -> list[float]:
        """Share of items left in no cluster, per level (0 unless keep_noise)."""
        return [float((lab < 0).mean()) for lab in self.hierarchy.labels]

    @property
    def outlier_share(self) -> list[float]:
        """Share of items whose outlier score passed the threshold, per level."""
        return [float(o.mean()) for o in self.hierarchy.is_outlier]

    def headline(self) -> dict[str, object]:
        """Figures for ``step.done``: counts, unplaced / placed-outlier shares, seconds."""
        return {
            "items": len(self.item_ids),
            "clusters_per_level": self.counts,
            "unplaced_share": [round(s, 4) for s in self.unplaced_share],
            "placed_outlier_share": [
                round(o - u, 4)
                for o, u in zip(self.outlier_share, self.unplaced_share, strict=True)
            ],
            "map_neighbour_agreement": [round(a, 3) for a in self.map_agreement],
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
        }

    def headline_table(self) -> pd.DataFrame:
        """The headline figures as a table per level, for the notebook."""
        levels = range(1, len(self.counts) + 1)
        placed = [o - u for o, u in zip(self.outlier_share, self.unplaced_share, strict=True)]
        agreement: list[float | None] = [round(a, 3) for a in self.map_agreement]
        frame = pd.DataFrame(
            {
                "clusters": self.counts,
                "unplaced": [f"{s:.1%}" for s in self.unplaced_share],
                "placed outliers": [f"{s:.1%}" for s in placed],
                "map neighbour agreement": agreement or [None for _ in levels],
            },
            index=[f"level {lv}" for lv in levels],
        )
        total = sum(self.seconds.values())
        frame.index.name = f"{len(self.item_ids):,} items, {total:.1f} s"
        return frame


def cluster_vectors(
    x: np.ndarray, params: ClusterParams
) -> tuple[Hierarchy, np.ndarray | None, dict[str, float]]:
    """Hierarchy and 2D map of the rows of ``x`` with ``params``; also the seconds of each part."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    x = unit_rows(x)
    hierarchy = fit_hierarchy(x, params)
    seconds["hierarchy"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    coords = layout_2d(
        x,
        method=params.layout,
        seed=params.seed,
        n_neighbors=params.n_neighbors,
        min_dist=params.layout_min_dist,
        n_epochs=params.layout_epochs,
        sample_size=params.layout_sample_size,
        groups=hierarchy.labels[-1].clip(min=0),
        knn=hierarchy.knn,
        knn_rows=hierarchy.fit_rows,
        themes=hierarchy.labels[0],
        theme_weight=params.layout_theme_weight,
    )
    seconds["layout"] = time.perf_counter() - t0
    return hierarchy, coords, seconds


def level_records(
    x: np.ndarray,
    item_ids: np.ndarray,
    hierarchy: Hierarchy,
    coords: np.ndarray | None,
    texts: list[str] | None,
    *,
    n_representatives: int,
    seed: int,
) -> list[LevelRecords]:
    """Per-level tables for the store: sizes, coherence, representatives, keywords, anchors."""
    out = []
    for lvl in range(hierarchy.n_levels):
        labels = hierarchy.labels[lvl]
        k = len(hierarchy.parents[lvl])
        reps = representatives(x, labels, hierarchy.centroids[lvl], n=n_representatives)
        out.append(
            LevelRecords(
                labels=labels,
                parents=hierarchy.parents[lvl],
                sizes=np.bincount(labels[labels >= 0], minlength=k),
                centroids=hierarchy.centroids[lvl],
                coherence=coherence(x, labels, k),
                stability=hierarchy.stability[lvl],
                representatives=[[int(item_ids[r]) for r in rs] for rs in reps],
                keywords=keywords(texts, labels, k, seed=seed) if texts else [[] for _ in range(k)],
                centre_xy=None if coords is None else anchors(coords, labels, k),
                strength=hierarchy.strength[lvl],
                outlier_score=hierarchy.outlier_score[lvl],
                placed_from_noise=hierarchy.is_outlier[lvl] & (labels >= 0),
            )
        )
    return out


def numbered_ids(records: list[LevelRecords], start: int = 1) -> list[np.ndarray]:
    """Cluster ids numbered level by level from ``start`` (as a fresh store numbers them)."""
    ids, next_id = [], start
    for lv in records:
        ids.append(np.arange(next_id, next_id + len(lv.parents), dtype=np.int64))
        next_id += len(lv.parents)
    return ids


def clusters_frame(records: list[LevelRecords], cluster_ids: list[np.ndarray]) -> pd.DataFrame:
    """One row per cluster (the store's ``clusters`` columns that the step computes)."""
    rows = []
    for depth, (lv, ids) in enumerate(zip(records, cluster_ids, strict=True), start=1):
        for c, cid in enumerate(ids.tolist()):
            parent = int(lv.parents[c])
            xy = None if lv.centre_xy is None else lv.centre_xy[c]
            rows.append(
                {
                    "id": cid,
                    "level": depth,
                    "name": f"L{depth}_{c}",
                    "parent_id": None if parent < 0 else int(cluster_ids[depth - 2][parent]),
                    "comment_count": int(lv.sizes[c]),
                    "coherence": float(lv.coherence[c]),
                    "stability": float(lv.stability[c]),
                    "representatives": [int(i) for i in lv.representatives[c]],
                    "keywords": list(lv.keywords[c]),
                    "x": None if xy is None else float(xy[0]),
                    "y": None if xy is None else float(xy[1]),
                }
            )
    frame = pd.DataFrame(rows)
    frame["parent_id"] = frame["parent_id"].astype("Int64")
    return frame


def cluster_items(
    x: np.ndarray,
    params: ClusterParams,
    *,
    item_ids: np.ndarray,
    texts: list[str] | None,
    run_id: str = "",
) -> ClusterResult:
    """The whole cluster step on arrays: hierarchy, map, reproducibility checks, summaries.

    ``item_ids`` name the rows (representatives are given as these ids); the
    clusters are numbered level by level from 1 in ``result.cluster_ids``.
    """
    seconds: dict[str, float] = {}
    x = unit_rows(x)
    log.info("clustering %d items into %d levels", len(item_ids), params.levels)
    hierarchy, coords, parts = cluster_vectors(x, params)
    seconds.update(parts)
    log.info(
        "clusters per level %s (%.1f s), map %.1f s",
        hierarchy.counts,
        parts.get("hierarchy", 0.0),
        parts.get("layout", 0.0),
    )
    checks = None
    if params.check_runs:
        log.info("reproducibility: refitting %d times", 2 * params.check_runs)
        t0 = time.perf_counter()
        checks = reproducibility(x, params, hierarchy, runs=params.check_runs)
        hierarchy.stability = checks.cluster_stability  # what users read: does it come back?
        seconds["checks"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    records = level_records(
        x, item_ids, hierarchy, coords, texts,
        n_representatives=params.representatives, seed=params.seed,
    )  # fmt: skip
    seconds["summaries"] = time.perf_counter() - t0
    cluster_ids = numbered_ids(records)
    return ClusterResult(
        run_id=run_id,
        item_ids=np.asarray(item_ids),
        hierarchy=hierarchy,
        coords=coords,
        clusters=clusters_frame(records, cluster_ids),
        records=records,
        cluster_ids=cluster_ids,
        seconds=seconds,
        checks=checks,
        map_agreement=[]
        if coords is None
        else [map_agreement(coords, lab) for lab in hierarchy.labels],
    )


def cluster_store(conn: sqlite3.Connection, params: ClusterParams, *, run_id: str) -> ClusterResult:
    """Cluster every item's vector in the store and write the run's clusters (replacing them)."""
    t0 = time.perf_counter()
    item_ids, x = load_item_vectors(conn)
    texts = item_texts(conn)
    load_seconds = time.perf_counter() - t0
    result = cluster_items(x, params, item_ids=item_ids, texts=texts, run_id=run_id)
    result.seconds = {"load": load_seconds, **result.seconds}
    t0 = time.perf_counter()
    result.cluster_ids = replace_run_clusters(
        conn, run_id, item_ids=item_ids, levels=result.records, coords=result.coords
    )
    result.seconds["write"] = time.perf_counter() - t0
    result.clusters = read_clusters(conn, run_id)
    return result


def compare_methods(
    conn: sqlite3.Connection,
    params: ClusterParams,
    result: ClusterResult,
    *,
    max_items: int = 20_000,
) -> pd.DataFrame:
    """Clusters and unplaced share per level: this run's method beside the other one.

    The other method (``graph`` for an ``hdbscan`` run and the reverse) is fitted
    on the same vectors when the corpus has at most ``max_items`` items
    (recursive HDBSCAN is super-linear); above that only this run's row is shown.
    """
    rows = {params.method + " (this run)": result.hierarchy}
    other = "hdbscan" if params.method == "graph" else "graph"
    if len(result.item_ids) <= max_items and (other != "hdbscan" or hdbscan_available()):
        _, x = load_item_vectors(conn)
        rows[other] = fit_hierarchy(x, params.model_copy(update={"method": other}))
    table = {}
    for name, h in rows.items():
        entry: dict[str, object] = {}
        for lvl, lab in enumerate(h.labels, start=1):
            entry[f"L{lvl} clusters"] = len(set(lab[lab >= 0].tolist()))
            entry[f"L{lvl} unplaced"] = f"{float((lab < 0).mean()):.0%}"
        table[name] = entry
    return pd.DataFrame(table).T
