"""The fine partition (spherical k-means) and the partition helpers the cluster step shares.

k-means on unit vectors: Euclidean on the sphere orders neighbours as cosine
does. :func:`best_jaccard` scores how well each cluster of one labelling comes
back in another (candidate stability, the reproducibility refits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans

from thememap.vectors import unit_rows

_CHUNK = 65_536


def nearest_centroid(
    x: np.ndarray, centroids: np.ndarray, *, second: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cosine-nearest centroid of every row, in chunks (never n x k at once for big n).

    Returns ``(labels, cosine_to_own, cosine_to_second_or_None)``.
    """
    c = unit_rows(centroids)
    n = len(x)
    labels = np.empty(n, dtype=np.int64)
    best = np.empty(n, dtype=np.float32)
    runner_up = np.empty(n, dtype=np.float32) if second and len(c) > 1 else None
    for start in range(0, n, _CHUNK):
        sims = x[start : start + _CHUNK] @ c.T
        lab = sims.argmax(1)
        labels[start : start + _CHUNK] = lab
        best[start : start + _CHUNK] = sims[np.arange(len(lab)), lab]
        if runner_up is not None:
            sims[np.arange(len(lab)), lab] = -np.inf
            runner_up[start : start + _CHUNK] = sims.max(1)
    return labels, best, runner_up


def cluster_sums(x: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum of the rows of each cluster, ``(n_clusters, d)`` float32 (one sparse product)."""
    from scipy.sparse import csr_matrix

    onehot = csr_matrix(
        (np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))),
        shape=(n_clusters, len(labels)),
    )
    return np.asarray(onehot @ x, dtype=np.float32)


def best_jaccard(a: np.ndarray, b: np.ndarray, k_a: int | None = None) -> np.ndarray:
    """For each cluster ``0..k_a-1`` of ``a``, its best Jaccard overlap with a cluster of ``b``.

    Unplaced items (-1) in either labelling count as belonging to no cluster.
    """
    k_a = int(a.max()) + 1 if k_a is None else k_a
    a_sizes = np.bincount(a[a >= 0], minlength=k_a).astype(np.float64)
    keep = (a >= 0) & (b >= 0)
    if not keep.any():
        return np.zeros(k_a)
    kb = int(b.max()) + 1
    b_sizes = np.bincount(b[b >= 0], minlength=kb).astype(np.float64)
    table = np.bincount(a[keep] * kb + b[keep], minlength=k_a * kb).reshape(k_a, kb)
    union = a_sizes[:, None] + b_sizes[None, :] - table
    return (table / np.maximum(union, 1.0)).max(1)


@dataclass
class FinePartition:
    """Result of :func:`fine_partition`."""

    labels: np.ndarray  # (n,) int64, 0..k-1
    centroids: np.ndarray  # (k, d) float32 unit rows


def fine_partition(
    x: np.ndarray,
    *,
    n_clusters: int,
    seed: int,
    max_iter: int = 30,
    min_size: int = 1,
    n_init: int = 1,
) -> FinePartition:
    """Spherical k-means into ``n_clusters`` (``n_init`` initialisations, the best kept).

    Clusters smaller than ``min_size`` are dissolved and their items moved to
    the nearest remaining centroid, so the result may have fewer clusters. (The
    restarts and their consensus live one step up: :func:`thememap.cluster.hierarchy.
    build_hierarchy` compares whole candidate hierarchies.)
    """
    x = unit_rows(x)
    n_clusters = int(min(max(n_clusters, 1), len(x)))
    # the k-means seed is drawn from ``seed`` (as the former first restart drew it)
    random_state = int(np.random.default_rng(seed).integers(0, 2**31 - 1))
    km = KMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, random_state=random_state)
    km.fit(x)
    labels = km.labels_.astype(np.int64)
    centroids = km.cluster_centers_.astype(np.float32)
    labels, centroids = _dissolve_small(x, labels, centroids, min_size=min_size)
    return FinePartition(labels, unit_rows(centroids))


def _dissolve_small(
    x: np.ndarray, labels: np.ndarray, centroids: np.ndarray, *, min_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Drop clusters below ``min_size`` (and empty ones); re-assign their items; renumber."""
    sizes = np.bincount(labels, minlength=len(centroids))
    keep = np.flatnonzero(sizes >= max(min_size, 1))
    if len(keep) == 0:
        keep = np.array([int(sizes.argmax())])
    if len(keep) == len(centroids):
        return labels, centroids
    remap = -np.ones(len(centroids), dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    new = remap[labels]
    moved = new < 0
    kept_centroids = centroids[keep]
    if moved.any():
        new[moved], _, _ = nearest_centroid(x[moved], kept_centroids)
    # centroids of the grown clusters are recomputed from their items
    return new, unit_rows(cluster_sums(x, new, len(keep)))
