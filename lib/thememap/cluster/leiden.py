"""Level 1 by Leiden: modularity communities of the graph between fine clusters.

The fine clusters are the nodes, the kNN edges between their items the edge
weights (:func:`thememap.cluster.counts.fine_cluster_graph`). Leiden (Traag et
al. 2019, the ``leidenalg`` package) finds the partition of that graph with the
highest modularity at a given resolution; unlike greedy agglomeration it keeps
moving and refining nodes, so it reaches better optima and its communities are
guaranteed connected. The number of level-1 themes is not chosen from a range:
it is whatever the resolution's modularity optimum has, and the resolution was
chosen by the weak tail of quality and stability over resampled corpora
(bench/cluster_generalise.py, docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np


def _igraph(graph: np.ndarray) -> object:
    """An undirected weighted igraph of a symmetric adjacency matrix (diagonal = 2 x loops)."""
    import igraph

    k = len(graph)
    rows, cols = np.triu_indices(k, 1)
    weights = graph[rows, cols]
    keep = weights > 0
    loops = np.flatnonzero(np.diag(graph) > 0)
    edges = list(zip(rows[keep].tolist(), cols[keep].tolist(), strict=True)) + [
        (int(i), int(i)) for i in loops
    ]
    values = weights[keep].tolist() + (np.diag(graph)[loops] / 2.0).tolist()
    return igraph.Graph(n=k, edges=edges, edge_attrs={"weight": values})


def leiden_groups(
    graph: np.ndarray, *, resolution: float, seed: int, bounds: tuple[int, int] | None = None
) -> np.ndarray:
    """Leiden modularity communities (labels ``0..g-1``) of the nodes of a weighted ``graph``.

    With ``bounds=(lo, hi)`` the resolution is halved (too many communities) or
    doubled (too few) until the count lies in the bounds, at most 8 times;
    labels are numbered by their smallest node so they do not depend on the
    optimiser's order.
    """
    import leidenalg

    k = len(graph)
    if k < 2:
        return np.zeros(k, dtype=np.int64)
    g = _igraph(graph)
    labels = np.zeros(k, dtype=np.int64)
    for _ in range(9):
        part = leidenalg.find_partition(
            g,
            leidenalg.RBConfigurationVertexPartition,
            weights="weight",
            resolution_parameter=resolution,
            seed=int(seed) % (2**31 - 1),
            n_iterations=-1,
        )
        labels = _first_seen_order(np.asarray(part.membership, dtype=np.int64))
        count = int(labels.max()) + 1
        if bounds is None or bounds[0] <= count <= bounds[1]:
            break
        resolution = resolution / 2.0 if count > bounds[1] else resolution * 2.0
    return labels


def _first_seen_order(labels: np.ndarray) -> np.ndarray:
    """Renumber labels in order of first appearance (smallest node first)."""
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first, kind="stable")
    remap = np.empty(len(order), dtype=np.int64)
    remap[order] = np.arange(len(order))
    return remap[labels]


def consensus_groups(
    fine_labels: np.ndarray,
    candidate_labels: list[np.ndarray],
    graph: np.ndarray,
    *,
    resolution: float,
    seed: int,
    bounds: tuple[int, int] | None = None,
) -> np.ndarray:
    """Level-1 groups of one candidate's fine clusters that all candidates agree on.

    ``candidate_labels`` are the level-1 labels every candidate gave the items.
    Two fine clusters' agreement is the share of candidates that put a random
    item of one and a random item of the other in the same level-1 group; the
    kNN edges between fine clusters are weighted by it and Leiden runs once more
    on that consensus graph. Edges that only some candidates keep inside a group
    fade, so the result moves far less between seeds than any one candidate
    (the ensemble-clustering idea; Lancichinetti & Fortunato 2012).
    """
    k = len(graph)
    agreement = np.zeros((k, k))
    for labels in candidate_labels:
        m = int(labels.max()) + 1
        table = np.bincount(fine_labels * m + labels, minlength=k * m).reshape(k, m)
        share = table / np.maximum(table.sum(1, keepdims=True), 1)
        agreement += share @ share.T
    agreement /= max(len(candidate_labels), 1)
    return leiden_groups(graph * agreement, resolution=resolution, seed=seed, bounds=bounds)
