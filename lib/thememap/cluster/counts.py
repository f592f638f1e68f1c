"""How many clusters each level gets, when the params do not say.

The finest level grows with the square root of n (``fine_per_sqrt_n``); the
coarsest is chosen from the data: among the cuts of the Ward tree with a count
in ``[top_min, top_max]``, the one whose partition has the highest modularity
on the items' kNN graph (clusters that keep neighbours together). Levels in
between are spaced geometrically, so each level splits its parents by a similar
factor.
"""

from __future__ import annotations

import numpy as np

from thememap.cluster.merge import cut_tree


def fine_count(n: int, *, per_sqrt_n: float, min_size: int, fit_rows: int) -> int:
    """Clusters at the finest level: ``per_sqrt_n * sqrt(n)``, at most ``fit_rows / min_size``."""
    k = round(per_sqrt_n * float(np.sqrt(max(n, 1))))
    return int(max(1, min(k, fit_rows // max(min_size, 1), fit_rows)))


def between_counts(top: int, fine: int, levels: int) -> list[int]:
    """Counts for ``levels`` levels from ``top`` to ``fine``, spaced geometrically, non-decreasing."""
    if levels == 1:
        return [top]
    ratio = (max(fine, top) / max(top, 1)) ** (1.0 / (levels - 1))
    counts = [round(top * ratio**i) for i in range(levels)]
    counts[-1] = max(fine, top)
    for i in range(1, levels):
        counts[i] = max(counts[i], counts[i - 1])
    return counts


def fine_cluster_graph(
    knn_indices: np.ndarray,
    fine_labels: np.ndarray,
    k: int,
    *,
    centroids: np.ndarray | None = None,
    island_share: float = 0.01,
    island_links: int = 3,
) -> np.ndarray:
    """Symmetric ``(k, k)`` count of kNN edges between fine clusters (self excluded).

    A fine cluster with fewer than ``island_share`` of its edges leaving it (a
    group of near-duplicates, say) would never merge with anything and surface
    as a tiny top-level theme; with ``centroids`` given, such islands get weak
    links (that share of their volume) to their ``island_links`` most similar
    clusters, so they join their nearest theme instead.
    """
    src = np.repeat(fine_labels, knn_indices.shape[1] - 1)
    dst = fine_labels[knn_indices[:, 1:].ravel()]
    graph = np.bincount(src * k + dst, minlength=k * k).reshape(k, k).astype(np.float64)
    graph = graph + graph.T
    if centroids is None or k < 2:
        return graph
    volume = graph.sum(1)
    outside = volume - np.diag(graph)
    islands = np.flatnonzero(outside < island_share * np.maximum(volume, 1.0))
    for c in islands:
        sims = centroids @ centroids[c]
        sims[c] = -np.inf
        near = np.argsort(-sims, kind="stable")[: min(island_links, k - 1)]
        weight = island_share * max(volume[c], 1.0) / len(near)
        graph[c, near] += weight
        graph[near, c] += weight
    return graph


def modularity(graph: np.ndarray, groups: np.ndarray, *, resolution: float = 1.0) -> float:
    """Newman modularity of a grouping of the nodes of a weighted ``graph``."""
    n_groups = int(groups.max()) + 1
    onehot = np.zeros((len(groups), n_groups))
    onehot[np.arange(len(groups)), groups] = 1.0
    between = onehot.T @ graph @ onehot
    total = between.sum()
    if total <= 0:
        return 0.0
    degree = between.sum(1) / total
    return float(np.trace(between) / total - resolution * (degree**2).sum())


def choose_top_count(
    merges: np.ndarray,
    graph: np.ndarray,
    *,
    lo: int,
    hi: int,
    resolution: float = 1.0,
) -> tuple[int, dict[int, float]]:
    """The count in ``[lo, hi]`` whose Ward cut has the highest modularity (and every score)."""
    k = len(graph)
    lo, hi = max(1, min(lo, k)), max(1, min(hi, k))
    scores = {
        t: modularity(graph, cut_tree(merges, k, t), resolution=resolution)
        for t in range(lo, hi + 1)
    }
    best = max(scores, key=lambda t: (round(scores[t], 6), -t))
    return best, scores
