"""02_cluster end to end: vectors from the store -> hierarchy + map -> store."""

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
from thememap.cluster.partition import unit_rows
from thememap.cluster.reference_hdbscan import hdbscan_available
from thememap.cluster.reproducibility import Reproducibility, reproducibility
from thememap.cluster.summary import anchors, coherence, keywords, representatives
from thememap.store.clusters import LevelRecords, read_clusters, replace_run_clusters
from thememap.store.vectors import load_item_vectors

log = logging.getLogger(__name__)


@dataclass
class ClusterResult:
    """What :func:`cluster_store` built and wrote (arrays in ``item_ids`` order)."""

    run_id: str
    item_ids: np.ndarray
    hierarchy: Hierarchy
    coords: np.ndarray | None
    clusters: pd.DataFrame
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
                coherence=coherence(hierarchy.strength[lvl], labels, k),
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


def cluster_store(conn: sqlite3.Connection, params: ClusterParams, *, run_id: str) -> ClusterResult:
    """Cluster every item's vector in the store and write the run's clusters (replacing them)."""
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    item_ids, x = load_item_vectors(conn)
    x = unit_rows(x)
    texts = [str(r[0]) for r in conn.execute("SELECT content FROM items ORDER BY id")]
    seconds["load"] = time.perf_counter() - t0
    log.info("clustering %d items into %d levels", len(item_ids), params.levels)
    hierarchy, coords, parts = cluster_vectors(x, params)
    seconds.update(parts)
    checks = None
    if params.check_runs:
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
    t0 = time.perf_counter()
    replace_run_clusters(conn, run_id, item_ids=item_ids, levels=records, coords=coords)
    seconds["write"] = time.perf_counter() - t0
    return ClusterResult(
        run_id=run_id,
        item_ids=item_ids,
        hierarchy=hierarchy,
        coords=coords,
        clusters=read_clusters(conn, run_id),
        seconds=seconds,
        checks=checks,
        map_agreement=[]
        if coords is None
        else [map_agreement(coords, lab) for lab in hierarchy.labels],
    )


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
