"""The nested hierarchy: a stable fine partition, merged upward by size-weighted Ward.

1. (above ``sample_threshold`` rows) fit on a seeded sample, assign the rest later;
2. fine level: spherical k-means, several restarts, the consensus one kept
   (:mod:`thememap.cluster.partition`);
3. a Ward tree over the fine clusters' centroids (:mod:`thememap.cluster.merge`);
4. the coarsest count chosen by modularity on the kNN graph, the levels between
   spaced geometrically (:mod:`thememap.cluster.counts`), unless params set them;
5. every level is a cut of the same tree, so every child lies inside exactly one
   parent by construction; every item gets a label at every level, a membership
   strength (cosine to its cluster's centroid) and an outlier score (robust z of
   its distance to the centroid within its cluster). With ``keep_noise`` the items
   whose outlier score exceeds ``noise_threshold`` are left unplaced (-1) instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from thememap.cluster.counts import between_counts, choose_top_count, fine_cluster_graph, fine_count
from thememap.cluster.knn import KnnGraph, knn_graph
from thememap.cluster.merge import cut_tree, ward_tree
from thememap.cluster.partition import cluster_sums, fine_partition, nearest_centroid, unit_rows

log = logging.getLogger(__name__)


@dataclass
class Hierarchy:
    """Labels and scores of a nested hierarchy, level 0 = coarsest.

    ``labels[l, i]`` is item ``i``'s cluster at level ``l`` (``-1`` = left
    unplaced, only with ``keep_noise``); ``parents[l][c]`` is the level ``l-1``
    cluster holding cluster ``c`` of level ``l`` (``parents[0]`` is all -1).
    """

    labels: np.ndarray  # (levels, n) int64
    parents: list[np.ndarray]  # per level, (k_l,) int64
    centroids: list[np.ndarray]  # per level, (k_l, d) float32 unit rows
    strength: np.ndarray  # (levels, n) float32 cosine to own centroid
    outlier_score: np.ndarray  # (levels, n) float32 robust z, >= 0
    is_outlier: np.ndarray  # (levels, n) bool: outlier_score > noise_threshold
    stability: list[np.ndarray]  # per level, (k_l,) float in [0, 1]
    fine_agreement: float  # mean ARI of the kept fine partition with the other restarts
    top_scores: dict[int, float] = field(default_factory=dict)  # modularity per candidate L1 count
    fit_rows: np.ndarray | None = None  # rows the partition was fitted on (None = all)
    knn: KnnGraph | None = None  # kNN graph of the fitted rows (reused by the layout)

    @property
    def counts(self) -> list[int]:
        """Number of clusters per level, coarse to fine."""
        return [len(p) for p in self.parents]

    @property
    def n_levels(self) -> int:
        """Number of levels."""
        return len(self.parents)


def build_hierarchy(
    x: np.ndarray,
    *,
    levels: int = 3,
    seed: int = 42,
    level_counts: list[int] | None = None,
    min_sizes: list[int] | None = None,
    fine_per_sqrt_n: float = 1.0,
    top_range: tuple[int, int] = (4, 40),
    restarts: int = 3,
    keep_noise: bool = False,
    noise_threshold: float = 3.5,
    sample_threshold: int = 100_000,
    sample_size: int = 50_000,
    n_neighbors: int = 15,
    knn: KnnGraph | None = None,
) -> Hierarchy:
    """Build a ``levels``-level nested hierarchy of the rows of ``x`` (cosine geometry).

    ``level_counts`` fixes the number of clusters per level (coarse to fine,
    ``None`` entries chosen automatically); ``min_sizes`` the smallest cluster
    per level. See the module docstring for the method.
    """
    x = unit_rows(x)
    n = len(x)
    if n == 0:
        raise ValueError("no rows to cluster")
    rng = np.random.default_rng(seed)
    fit_rows = None
    if n > sample_threshold and sample_size < n:
        fit_rows = np.sort(rng.choice(n, size=sample_size, replace=False))
        log.info("fitting on a sample of %d of %d rows; the rest are assigned", sample_size, n)
    x_fit = x if fit_rows is None else x[fit_rows]
    counts_given: list[int | None] = list(level_counts) if level_counts else [None] * levels
    sizes_given: list[int | None] = list(min_sizes) if min_sizes else [None] * levels
    fine_min = int(sizes_given[-1] or max(3, min(10, len(x_fit) // 1000)))
    k_fine = counts_given[-1] or fine_count(
        n, per_sqrt_n=fine_per_sqrt_n, min_size=fine_min, fit_rows=len(x_fit)
    )
    fine = fine_partition(
        x_fit,
        n_clusters=int(k_fine),
        seed=int(rng.integers(2**31 - 1)),
        restarts=restarts,
        min_size=fine_min,
    )
    k = len(fine.centroids)
    sizes = np.bincount(fine.labels, minlength=k)
    merges = ward_tree(fine.centroids * 1.0, sizes)
    # the fine centroids above are unit rows; Ward on them approximates item-level Ward

    top_scores: dict[int, float] = {}
    given_top = counts_given[0]
    if given_top is not None:
        top = int(given_top)
    else:
        if knn is None or (fit_rows is not None and len(knn.indices) != len(x_fit)):
            knn = knn_graph(x_fit, n_neighbors=n_neighbors, seed=seed)
        graph = fine_cluster_graph(knn.indices, fine.labels, k)
        lo, hi = top_range
        hi = min(hi, max(lo, k // 2)) if levels > 1 else min(hi, k)
        top, top_scores = choose_top_count(merges, graph, lo=lo, hi=hi)
    auto = between_counts(top, k, levels)
    counts = [
        int(min(c if c is not None else a, k)) for c, a in zip(counts_given, auto, strict=True)
    ]
    counts[-1] = k if counts_given[-1] is None else counts[-1]
    for i in range(1, levels):
        counts[i] = max(counts[i], counts[i - 1])

    fine_to_level = [cut_tree(merges, k, c) for c in counts]
    fine_to_level = _apply_min_sizes(fine_to_level, sizes, fine.centroids, sizes_given)

    # every row (sampled or not) gets its fine cluster, then the tree's cut gives the rest
    if fit_rows is None:
        fine_labels = fine.labels
    else:
        fine_labels, _, _ = nearest_centroid(x, fine.centroids)
    labels = np.stack([m[fine_labels] for m in fine_to_level])
    parents = [np.full(int(fine_to_level[0].max()) + 1, -1, dtype=np.int64)]
    for lvl in range(1, levels):
        par = np.empty(int(fine_to_level[lvl].max()) + 1, dtype=np.int64)
        par[fine_to_level[lvl]] = fine_to_level[lvl - 1]
        parents.append(par)

    centroids, strength, outlier = (
        [],
        np.empty((levels, n), np.float32),
        np.empty((levels, n), np.float32),
    )
    stability = []
    for lvl in range(levels):
        kl = len(parents[lvl])
        cent = unit_rows(cluster_sums(x, labels[lvl], kl))
        centroids.append(cent)
        cos = np.einsum("ij,ij->i", x, cent[labels[lvl]])
        strength[lvl] = cos
        outlier[lvl] = _robust_z(1.0 - cos, labels[lvl], kl)
        # a coarse cluster is as stable as its fine parts, weighted by size
        stab = np.bincount(fine_to_level[lvl], weights=fine.stability * sizes, minlength=kl)
        stability.append(
            stab / np.maximum(np.bincount(fine_to_level[lvl], weights=sizes, minlength=kl), 1)
        )
    is_outlier = outlier > noise_threshold
    if keep_noise:
        labels = np.where(is_outlier, -1, labels)
    return Hierarchy(
        labels=labels,
        parents=parents,
        centroids=centroids,
        strength=strength,
        outlier_score=outlier,
        is_outlier=is_outlier,
        stability=stability,
        fine_agreement=fine.agreement,
        top_scores=top_scores,
        fit_rows=fit_rows,
        knn=knn,
    )


def _robust_z(dist: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """``max(0, (d - median) / (1.4826 * MAD))`` of each row's distance within its cluster."""
    order = np.lexsort((dist, labels))
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    med = np.zeros(k)
    mad = np.ones(k)
    for c in range(k):
        d = dist[order[bounds[c] : bounds[c + 1]]]
        if len(d):
            med[c] = np.median(d)
            mad[c] = np.median(np.abs(d - med[c]))
    z = (dist - med[labels]) / (1.4826 * mad[labels] + 1e-6)
    return np.maximum(z, 0.0).astype(np.float32)


def _apply_min_sizes(
    fine_to_level: list[np.ndarray],
    sizes: np.ndarray,
    fine_centroids: np.ndarray,
    min_sizes: list[int | None],
) -> list[np.ndarray]:
    """Merge clusters below a level's minimum size into their nearest sibling (same parent).

    Levels are processed coarse to fine and a cluster only joins a sibling
    under the same parent, so nesting stays true.
    """
    out = [m.copy() for m in fine_to_level]
    for lvl, min_size in enumerate(min_sizes):
        if not min_size:
            continue
        while True:
            kl = int(out[lvl].max()) + 1
            level_sizes = np.bincount(out[lvl], weights=sizes, minlength=kl)
            cent = unit_rows(cluster_sums(fine_centroids * sizes[:, None], out[lvl], kl))
            parent = np.zeros(kl, dtype=np.int64)
            if lvl > 0:
                parent[out[lvl]] = out[lvl - 1]
            small = [c for c in np.argsort(level_sizes, kind="stable") if level_sizes[c] < min_size]
            target = None
            for c in small:
                sibs = np.flatnonzero((parent == parent[c]) & (np.arange(kl) != c))
                if len(sibs):
                    target = (c, sibs[int(np.argmax(cent[sibs] @ cent[c]))])
                    break
            if target is None:
                break
            c, into = target
            merged = np.where(out[lvl] == c, into, out[lvl])
            _, out[lvl] = np.unique(merged, return_inverse=True)
        # finer levels must not be coarser than this one: nothing to do, they nest already
    return out
