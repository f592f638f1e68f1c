"""Clustering methods compared by bench/cluster_quality.py (benchmark code, not library).

Every method maps unit vectors + a seed to a list of label arrays, coarse to
fine (``-1`` = unplaced), so the same metrics apply to all of them.
"""

from __future__ import annotations

import warnings

import numpy as np


def reference_recipe(x: np.ndarray, seed: int) -> list[np.ndarray]:
    """The reference design exactly: recursive HDBSCAN on the raw (normalised) vectors.

    L1 min_cluster_size=max(50, n//100), min_samples=10; L2 inside each L1 cluster
    of >= 30 items with max(15, m//10) / 5; L3 inside each L2 cluster of >= 15
    items with min(50, max(5, m//5)) / 3; euclidean, eom. (HDBSCAN takes no seed.)
    """
    import hdbscan

    def run(data: np.ndarray, mcs: int, ms: int) -> np.ndarray:
        return hdbscan.HDBSCAN(
            min_cluster_size=mcs, min_samples=ms, metric="euclidean",
            cluster_selection_method="eom",
        ).fit_predict(data)  # fmt: skip

    def sub(data: np.ndarray, parent: np.ndarray, fn, ms: int, min_points: int) -> np.ndarray:
        labels = np.full_like(parent, -1)
        offset = 0
        for p in sorted(set(parent.tolist()) - {-1}):
            mask = parent == p
            if mask.sum() < min_points:
                continue
            s = run(data[mask], fn(int(mask.sum())), ms)
            s[s >= 0] += offset
            labels[mask] = s
            offset = labels.max() + 1 if labels.max() >= 0 else 0
        return labels

    l1 = run(x, max(50, len(x) // 100), 10)
    l2 = sub(x, l1, lambda m: max(15, m // 10), 5, 30)
    l3 = sub(x, l2, lambda m: min(50, max(5, m // 5)), 3, 15)
    return [l1, l2, l3]


def bertopic_default(x: np.ndarray, seed: int) -> list[np.ndarray]:
    """BERTopic's default: UMAP(15 neighbours, 5-d, min_dist 0, cosine) + HDBSCAN(10, eom).

    One flat level (BERTopic's topics); reported at every level.
    """
    import hdbscan
    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        red = umap.UMAP(
            n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed
        ).fit_transform(x)
    labels = hdbscan.HDBSCAN(
        min_cluster_size=10, metric="euclidean", cluster_selection_method="eom"
    ).fit_predict(red)
    return [labels]


def evoc_layers(x: np.ndarray, seed: int) -> list[np.ndarray]:
    """EVoC's cluster layers: coarsest as L1, then the middle and the finest layer."""
    import evoc

    layers = evoc.EVoC(random_state=seed).fit(x).cluster_layers_  # finest first
    layers = list(reversed(layers))
    if len(layers) >= 3:
        return [layers[0], layers[len(layers) // 2], layers[-1]]
    return layers


def kmeans_true_k(x: np.ndarray, seed: int, *, k: int = 14) -> list[np.ndarray]:
    """k-means told the true number of sections (a baseline that cheats on k)."""
    from sklearn.cluster import KMeans

    return [KMeans(k, n_init=1, random_state=seed).fit_predict(x)]


def agglomerative_ward(x: np.ndarray, seed: int) -> list[np.ndarray]:
    """Item-level Ward agglomeration (O(n^2) memory) cut at 14 (the true k), 38 and sqrt(n)."""
    from sklearn.cluster import AgglomerativeClustering

    k3 = round(float(np.sqrt(len(x))))
    model = AgglomerativeClustering(n_clusters=k3, linkage="ward", compute_full_tree=True).fit(x)
    from scipy.cluster.hierarchy import fcluster

    children = model.children_
    n = len(x)
    # rebuild a scipy linkage from sklearn's merge order to cut at several counts
    z = np.zeros((n - 1, 4))
    sizes = np.ones(2 * n - 1)
    for i, (a, b) in enumerate(children):
        sizes[n + i] = sizes[a] + sizes[b]
        z[i] = (a, b, i + 1, sizes[n + i])
    return [fcluster(z, t=k, criterion="maxclust") - 1 for k in (14, 38, k3)]


def thememap_default(x: np.ndarray, seed: int, **overrides: object) -> list[np.ndarray]:
    """Ours, as ``thememap run`` fits it (``fit_hierarchy`` with the params' defaults)."""
    from thememap.cluster.estimator import fit_hierarchy
    from thememap.cluster.params import ClusterParams

    params = ClusterParams(seed=seed, **overrides)  # type: ignore[arg-type]
    return list(fit_hierarchy(x, params).labels)


def umap_ward(x: np.ndarray, seed: int, *, k: int = 8) -> list[np.ndarray]:
    """UMAP to 10-d (cosine, min_dist 0) then item-level Ward cut at ``k``, 3k and sqrt(n)."""
    import umap
    from scipy.cluster.hierarchy import fcluster, linkage

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        red = umap.UMAP(
            n_neighbors=15, n_components=10, min_dist=0.0, metric="cosine", random_state=seed
        ).fit_transform(x)
    z = linkage(red, method="ward")
    k3 = max(3 * k, round(float(np.sqrt(len(x)))))
    return [fcluster(z, t=t, criterion="maxclust") - 1 for t in (k, 3 * k, k3)]
