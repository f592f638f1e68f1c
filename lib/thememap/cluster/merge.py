"""Merging fine clusters upward: size-weighted Ward agglomeration on centroids.

The fine partition's clusters are treated as weighted points (centroid, size);
Ward's criterion on weighted points is exactly the increase in within-cluster
sum of squares of the items, so cutting the resulting tree at any count gives
the same coarse partition as item-level Ward restricted to unions of fine
clusters, in O(k^2) memory for k fine clusters (never n x n).
"""

from __future__ import annotations

import numpy as np


def ward_tree(centroids: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Merge ``k`` weighted points into one; return the ``(k-1, 3)`` merges ``(a, b, cost)``.

    Row ``i`` merges clusters ``a`` and ``b`` (indices of the original points;
    the merged cluster keeps the index ``a``) at Ward cost ``cost``. Ties break
    on the lowest index so the tree is deterministic.
    """
    k = len(centroids)
    if k < 2:
        return np.empty((0, 3))
    c = np.asarray(centroids, dtype=np.float64).copy()
    w = np.asarray(sizes, dtype=np.float64).copy()
    sq = (c**2).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * c @ c.T, 0.0)
    cost = dist * (w[:, None] * w[None, :]) / (w[:, None] + w[None, :])
    np.fill_diagonal(cost, np.inf)
    active = np.ones(k, dtype=bool)
    merges = np.empty((k - 1, 3))
    # each row's minimum is cached so a step costs O(k) except for rows touching a/b
    row_min = cost.min(1)
    row_arg = cost.argmin(1)
    for step in range(k - 1):
        a = int(np.argmin(row_min))
        b = int(row_arg[a])
        a, b = min(a, b), max(a, b)
        merges[step] = (a, b, cost[a, b])
        wa, wb = w[a], w[b]
        c[a] = (wa * c[a] + wb * c[b]) / (wa + wb)
        w[a] = wa + wb
        active[b] = False
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        row_min[b] = np.inf
        idx = np.flatnonzero(active)
        idx = idx[idx != a]
        if idx.size:
            d = ((c[idx] - c[a]) ** 2).sum(1) * w[idx] * w[a] / (w[idx] + w[a])
            cost[a, idx] = d
            cost[idx, a] = d
            row_min[a] = d.min()
            row_arg[a] = idx[int(d.argmin())]
        else:
            row_min[a] = np.inf
        # rows whose cached minimum pointed at a or b must be refreshed
        stale = idx[(row_arg[idx] == a) | (row_arg[idx] == b)]
        for r in stale:
            row_arg[r] = int(cost[r].argmin())
            row_min[r] = cost[r, row_arg[r]]
        # rows whose new distance to a beats their cached minimum
        if idx.size:
            better = idx[cost[idx, a] < row_min[idx]]
            row_min[better] = cost[better, a]
            row_arg[better] = a
    return merges


def cut_tree(merges: np.ndarray, n_points: int, n_clusters: int) -> np.ndarray:
    """Labels ``0..n_clusters-1`` of the ``n_points`` leaves when the tree is cut at that count.

    Labels are numbered by the smallest leaf index they contain, so they do not
    depend on merge order.
    """
    n_clusters = int(min(max(n_clusters, 1), n_points))
    parent = np.arange(n_points)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in merges[: n_points - n_clusters]:
        parent[find(int(b))] = find(int(a))
    roots = np.array([find(i) for i in range(n_points)])
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def modularity_tree(
    graph: np.ndarray, *, resolution: float = 1.0, groups: np.ndarray | None = None
) -> np.ndarray:
    """Greedy modularity agglomeration (Clauset-Newman-Moore) of a weighted graph's nodes.

    ``graph`` is a symmetric ``(k, k)`` matrix of edge weights between fine
    clusters. Each step merges the pair whose union raises modularity most (or
    lowers it least), so the tree follows the items' neighbourhoods rather than
    centroid distances. Returns ``(k-1, 3)`` merges ``(a, b, -gain)`` like
    :func:`ward_tree`; ties break on the lowest index.

    With ``groups`` (a label per node) only nodes of the same group merge, and
    the tree stops when each group is one node (``k - n_groups`` merges): every
    cut at ``n_groups`` clusters or more then nests inside ``groups``.
    """
    k = len(graph)
    if k < 2:
        return np.empty((0, 3))
    e = np.asarray(graph, dtype=np.float64)
    total = e.sum()
    e = e / total if total > 0 else np.full_like(e, 1.0 / (k * k))
    e = e.copy()
    a = e.sum(1)
    gain = 2.0 * (e - resolution * np.outer(a, a))
    np.fill_diagonal(gain, -np.inf)
    apart = None if groups is None else groups[:, None] != groups[None, :]
    if apart is not None:
        gain[apart] = -np.inf
    steps = k - 1 if groups is None else k - len(np.unique(groups))
    merges = np.empty((steps, 3))
    active = np.ones(k, dtype=bool)
    for step in range(steps):
        flat = int(np.argmax(gain))
        i, j = divmod(flat, k)
        i, j = min(i, j), max(i, j)
        merges[step] = (i, j, -gain[i, j])
        e[i, :] += e[j, :]
        e[:, i] += e[:, j]
        a[i] += a[j]
        e[j, :] = 0.0
        e[:, j] = 0.0
        a[j] = 0.0
        active[j] = False
        row = 2.0 * (e[i, :] - resolution * a[i] * a)
        row[~active] = -np.inf
        if apart is not None:
            row[apart[i]] = -np.inf
        gain[i, :] = row
        gain[:, i] = row
        gain[j, :] = -np.inf
        gain[:, j] = -np.inf
        gain[i, i] = -np.inf
    return merges
