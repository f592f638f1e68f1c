"""The nested hierarchy: a stable fine partition, merged upward along the kNN graph.

1. (above ``sample_threshold`` rows) fit on a seeded sample, assign the rest later;
2. one cosine kNN graph of the fitted rows (:mod:`thememap.cluster.knn`), reused by the map;
3. fine level: spherical k-means in a 10-d UMAP of that graph (min_dist 0, a fixed
   seed: the space is a function of the data, as the graph is) or in its spectral
   embedding (:mod:`thememap.cluster.spectral`), several restarts, the consensus one
   kept (:mod:`thememap.cluster.partition`);
4. a merge tree over the fine clusters: greedy modularity on the kNN edges between
   them (default) or size-weighted Ward on their centroids (:mod:`thememap.cluster.merge`);
5. the coarsest count chosen by modularity on the kNN graph, the levels between
   spaced geometrically (:mod:`thememap.cluster.counts`), unless params set them;
6. every level is a cut of the same tree, so every child lies inside exactly one
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
from thememap.cluster.layout import umap_embedding
from thememap.cluster.leiden import consensus_groups, leiden_groups
from thememap.cluster.merge import cut_tree, modularity_tree, ward_tree
from thememap.cluster.params import ClusterParams
from thememap.cluster.partition import (
    best_jaccard,
    cluster_sums,
    fine_partition,
    nearest_centroid,
)
from thememap.cluster.scores import score_levels
from thememap.cluster.spectral import spectral_embedding
from thememap.vectors import unit_rows

log = logging.getLogger(__name__)

# chosen by the 10th percentile of level-1 ARI/NMI and seed agreement over resampled
# corpora (bench/cluster_generalise.py; docs/benchmarks.md "Clustering")
LEIDEN_RESOLUTION = 0.5
# k-means effort when params leave it open, (restarts, inits) by the rows fitted. Over 30
# resampled corpora (1.5k-9k items) 20 x 5 lifts level-1 ARI p10 0.391 -> 0.402 and level-3
# seed agreement 0.84 -> 0.86 (docs/benchmarks.md "More k-means restarts"); on a 30,000-row
# sample it would double the fit (100k rows: 61 -> 114 s), so larger fits keep 10 x 3.
SMALL_FIT_ROWS = 10_000
SMALL_FIT_EFFORT = (20, 5)
LARGE_FIT_EFFORT = (10, 3)


def kmeans_effort(params: ClusterParams, fit_rows: int) -> tuple[int, int]:
    """(restarts, k-means inits) for a fit on ``fit_rows`` rows: the params', else by size."""
    restarts, inits = SMALL_FIT_EFFORT if fit_rows <= SMALL_FIT_ROWS else LARGE_FIT_EFFORT
    return params.restarts or restarts, params.kmeans_inits or inits


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
    fine_agreement: float  # mean ARI (over levels) of the kept restart with the other restarts
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
    x: np.ndarray, params: ClusterParams | None = None, *, knn: KnnGraph | None = None
) -> Hierarchy:
    """Build the nested hierarchy of the rows of ``x`` (cosine geometry) that ``params`` asks
    for (default: :class:`ClusterParams` ``()``); ``knn``: a kNN graph of the rows to reuse.

    ``params.level_counts`` fixes the number of clusters per level (coarse to fine,
    ``None`` entries chosen automatically); ``params.min_sizes`` the smallest cluster
    per level. See the module docstring for the method. ``params.method`` plays no part
    here (:func:`thememap.cluster.estimator.fit_hierarchy` dispatches on it).
    """
    p = params if params is not None else ClusterParams()
    levels, seed, merge, top_range = p.levels, p.seed, p.merge, (p.top_min, p.top_max)
    resolution = p.resolution or (LEIDEN_RESOLUTION if merge == "leiden" else 1.0)
    x = unit_rows(x)
    n = len(x)
    if n == 0:
        raise ValueError("no rows to cluster")
    rng = np.random.default_rng(seed)
    fit_rows = None
    if n > p.sample_threshold and p.sample_size < n:
        fit_rows = np.sort(rng.choice(n, size=p.sample_size, replace=False))
        log.info("fitting on a sample of %d of %d rows; the rest are assigned", p.sample_size, n)
    x_fit = x if fit_rows is None else x[fit_rows]
    counts_given: list[int | None] = list(p.level_counts) if p.level_counts else [None] * levels
    sizes_given: list[int | None] = list(p.min_sizes) if p.min_sizes else [None] * levels
    fine_min = int(sizes_given[-1] or max(3, min(10, len(x_fit) // 1000)))
    k_fine = counts_given[-1] or fine_count(
        n, per_sqrt_n=p.fine_per_sqrt_n, min_size=fine_min, fit_rows=len(x_fit)
    )
    if knn is None or len(knn.indices) != len(x_fit):
        # the kNN graph approximates a fixed object: its NN-descent seed does not follow the
        # clustering seed (measured on 20k PyPI rows: seed ARI 0.42/0.42/0.35 -> 0.67/0.69/0.63)
        knn = knn_graph(x_fit, n_neighbors=p.n_neighbors, seed=0)
    space = _fine_space(
        x_fit,
        knn,
        p.embedding,
        # the space approximates a fixed object of the data (like the kNN graph): its seed
        # does not follow the clustering seed unless params say so
        seed=seed if p.space_seed is None else p.space_seed,
        spectral_dims=p.spectral_dims,
        umap_dims=p.umap_dims,
    )
    cuts = _Cuts(levels, counts_given, sizes_given, merge, resolution, top_range)
    restarts, inits = kmeans_effort(p, len(x_fit))
    candidates = [
        _candidate(
            x_fit, space, knn, cuts,
            k_fine=int(k_fine), seed=int(rng.integers(2**31 - 1)), fine_min=fine_min,
            n_init=inits,
        )
        for _ in range(restarts)
    ]  # fmt: skip
    keep, agreement, stability = _consensus(candidates, levels)
    best = candidates[keep]
    if merge == "leiden" and counts_given[0] is None and len(candidates) > 1:
        lo, hi = top_range
        groups = consensus_groups(
            best.fine_labels, [c.level_labels(0) for c in candidates], best.graph,
            resolution=resolution, seed=seed, bounds=(lo, min(hi, len(best.graph))),
        )  # fmt: skip
        best.fine_to_level, _ = _cut_levels(
            best.graph, best.fine_centroids, best.sizes, groups, cuts
        )
        stability = _stability(best, [c for i, c in enumerate(candidates) if i != keep], levels)
    fine_to_level, fine_centroids, top_scores = (
        best.fine_to_level, best.fine_centroids, best.top_scores,
    )  # fmt: skip

    # every row (sampled or not) gets its fine cluster, then the tree's cut gives the rest
    if fit_rows is None:
        fine_labels = best.fine_labels
    else:
        fine_labels, _, _ = nearest_centroid(x, fine_centroids)
    labels = np.stack([m[fine_labels] for m in fine_to_level])
    parents = [np.full(int(fine_to_level[0].max()) + 1, -1, dtype=np.int64)]
    for lvl in range(1, levels):
        par = np.empty(int(fine_to_level[lvl].max()) + 1, dtype=np.int64)
        par[fine_to_level[lvl]] = fine_to_level[lvl - 1]
        parents.append(par)
    scores = score_levels(x, labels)
    outlier = scores.outlier_score
    is_outlier = outlier > p.noise_threshold
    if p.keep_noise:
        labels = np.where(is_outlier, -1, labels)
    return Hierarchy(
        labels=labels,
        parents=parents,
        centroids=scores.centroids,
        strength=scores.strength,
        outlier_score=outlier,
        is_outlier=is_outlier,
        stability=stability,
        fine_agreement=agreement,
        top_scores=top_scores,
        fit_rows=fit_rows,
        knn=knn,
    )


def _fine_space(
    x_fit: np.ndarray,
    knn: KnnGraph,
    embedding: str,
    *,
    seed: int,
    spectral_dims: int,
    umap_dims: int,
) -> np.ndarray:
    """The space the fine level is cut in: UMAP, spectral or the vectors themselves."""
    if embedding == "umap":
        # min_dist 0 packs each neighbourhood tight, as for clustering (not drawing) in UMAP's docs
        return umap_embedding(x_fit, seed=seed, n_components=umap_dims, min_dist=0.0, knn=knn)
    if embedding == "spectral":
        return spectral_embedding(knn, dims=spectral_dims)
    if embedding == "raw":
        return x_fit
    raise ValueError(f"unknown embedding {embedding!r}: use umap, spectral or raw")


@dataclass(frozen=True)
class _Cuts:
    """How a candidate's merge tree is cut into levels (the params, resolved for the corpus)."""

    levels: int
    counts_given: list[int | None]  # clusters per level, None = chosen from the data
    sizes_given: list[int | None]  # smallest cluster per level, None = no minimum
    merge: str
    resolution: float
    top_range: tuple[int, int]


@dataclass
class _Candidate:
    """One restart's hierarchy over the fitted rows."""

    fine_labels: np.ndarray  # (n_fit,) fine cluster of each fitted row
    fine_centroids: np.ndarray  # (k, d) in the vectors' space
    fine_to_level: list[np.ndarray]  # per level, (k,) cluster of each fine cluster
    top_scores: dict[int, float]
    graph: np.ndarray  # (k, k) kNN edges between fine clusters
    sizes: np.ndarray  # (k,) items per fine cluster

    def level_labels(self, lvl: int) -> np.ndarray:
        return self.fine_to_level[lvl][self.fine_labels]


def _candidate(
    x_fit: np.ndarray,
    space: np.ndarray,
    knn: KnnGraph,
    cuts: _Cuts,
    *,
    k_fine: int,
    seed: int,
    fine_min: int,
    n_init: int,
) -> _Candidate:
    """Fine k-means (one seed) in ``space``, a merge tree, the level counts and cuts."""
    fine = fine_partition(space, n_clusters=k_fine, seed=seed, min_size=fine_min, n_init=n_init)
    k = len(fine.centroids)
    sizes = np.bincount(fine.labels, minlength=k)
    fine_centroids = unit_rows(cluster_sums(x_fit, fine.labels, k))  # in the vectors' space
    graph = fine_cluster_graph(knn.indices, fine.labels, k, centroids=fine_centroids)
    groups = None
    if cuts.merge == "leiden" and cuts.counts_given[0] is None:
        lo, hi = cuts.top_range
        groups = leiden_groups(
            graph, resolution=cuts.resolution, seed=seed, bounds=(lo, min(hi, k))
        )
    fine_to_level, top_scores = _cut_levels(graph, fine_centroids, sizes, groups, cuts)
    return _Candidate(fine.labels, fine_centroids, fine_to_level, top_scores, graph, sizes)


def _cut_levels(
    graph: np.ndarray,
    fine_centroids: np.ndarray,
    sizes: np.ndarray,
    groups: np.ndarray | None,
    cuts: _Cuts,
) -> tuple[list[np.ndarray], dict[int, float]]:
    """Each level's cluster of every fine cluster: level 1 = ``groups`` when given, else a cut."""
    levels, counts_given, merge, resolution = (
        cuts.levels,
        cuts.counts_given,
        cuts.merge,
        cuts.resolution,
    )
    k = len(graph)
    top_scores: dict[int, float] = {}
    if groups is not None:
        # the levels below are cuts of a modularity tree that never merges across groups
        merges = modularity_tree(graph, resolution=1.0, groups=groups)
        top = int(groups.max()) + 1
    else:
        if merge in ("modularity", "leiden"):
            merges = modularity_tree(graph, resolution=resolution)
        elif merge == "ward":
            merges = ward_tree(fine_centroids, sizes)
        else:
            raise ValueError(f"unknown merge {merge!r}: use leiden, modularity or ward")
        if counts_given[0] is not None:
            top = int(counts_given[0])
        else:
            lo, hi = cuts.top_range
            hi = min(hi, max(lo, k // 2)) if levels > 1 else min(hi, k)
            top, top_scores = choose_top_count(merges, graph, lo=lo, hi=hi, resolution=resolution)
    auto = between_counts(top, k, levels)
    counts = [
        int(min(c if c is not None else a, k)) for c, a in zip(counts_given, auto, strict=True)
    ]
    counts[-1] = k if counts_given[-1] is None else counts[-1]
    for i in range(1, levels):
        counts[i] = max(counts[i], counts[i - 1])
    fine_to_level = [cut_tree(merges, k, c) for c in counts]
    return _apply_min_sizes(fine_to_level, sizes, fine_centroids, cuts.sizes_given), top_scores


def _consensus(candidates: list[_Candidate], levels: int) -> tuple[int, float, list[np.ndarray]]:
    """The candidate agreeing best with the others (mean ARI over levels and candidates).

    Also returns that mean ARI and, per level, each kept cluster's stability:
    its best Jaccard overlap with a cluster of each other candidate, averaged.
    """
    from sklearn.metrics import adjusted_rand_score

    r = len(candidates)
    kept_counts = [len(np.unique(f)) for f in candidates[0].fine_to_level]
    if r == 1:
        return 0, 1.0, [np.ones(c) for c in kept_counts]
    labels = [[c.level_labels(lvl) for lvl in range(levels)] for c in candidates]
    agree = np.eye(r)
    for i in range(r):
        for j in range(i + 1, r):
            agree[i, j] = agree[j, i] = np.mean(
                [adjusted_rand_score(labels[i][lvl], labels[j][lvl]) for lvl in range(levels)]
            )
    mean = (agree.sum(1) - 1.0) / (r - 1)
    keep = int(np.argmax(mean))
    others = [c for j, c in enumerate(candidates) if j != keep]
    return keep, float(mean[keep]), _stability(candidates[keep], others, levels)


def _stability(kept: _Candidate, others: list[_Candidate], levels: int) -> list[np.ndarray]:
    """Per level, each kept cluster's best Jaccard with a cluster of each other candidate, averaged."""
    return [
        np.mean([best_jaccard(kept.level_labels(lvl), o.level_labels(lvl)) for o in others], axis=0)
        for lvl in range(levels)
    ]


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
