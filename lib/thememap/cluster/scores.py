"""Per-item scores of a labelled hierarchy: membership strength and outlier score.

Strength is the cosine of an item to its cluster's centroid; the outlier score
is the robust z of its distance ``1 - cos`` within its cluster, ``max(0, (d -
median) / (1.4826 * MAD))``. Items left unplaced (label -1, only from the
``hdbscan`` method or ``keep_noise``) are scored against their nearest centroid
of that level, so every item has both scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thememap.cluster.partition import cluster_sums, nearest_centroid
from thememap.vectors import unit_rows


@dataclass
class LevelScores:
    """Centroids per level and per-item scores, ``(levels, n)`` arrays."""

    centroids: list[np.ndarray]
    strength: np.ndarray
    outlier_score: np.ndarray


def parents_of(labels: np.ndarray) -> list[np.ndarray]:
    """Parent (level ``l-1`` cluster) of every cluster of every level of nested ``labels``.

    ``labels`` is ``(levels, n)`` with clusters ``0..k-1`` per level and ``-1``
    for unplaced items; a cluster's parent is the coarser label of its items
    (nested labels give exactly one; ``-1`` when its items are unplaced above).
    """
    out = [np.full(_count(labels[0]), -1, dtype=np.int64)]
    for lvl in range(1, len(labels)):
        par = np.full(_count(labels[lvl]), -1, dtype=np.int64)
        placed = labels[lvl] >= 0
        par[labels[lvl][placed]] = labels[lvl - 1][placed]
        out.append(par)
    return out


def score_levels(x: np.ndarray, labels: np.ndarray) -> LevelScores:
    """Centroids, strength and outlier score of every item at every level of ``labels``."""
    levels, n = labels.shape
    centroids: list[np.ndarray] = []
    strength = np.zeros((levels, n), np.float32)
    outlier = np.zeros((levels, n), np.float32)
    for lvl in range(levels):
        lab = labels[lvl]
        k = _count(lab)
        placed = lab >= 0
        cent = (
            unit_rows(cluster_sums(x[placed], lab[placed], k)) if k else np.zeros((0, x.shape[1]))
        )
        centroids.append(cent.astype(np.float32))
        if k == 0:
            continue
        own = np.where(placed, lab, 0)
        if not placed.all():
            own[~placed], _, _ = nearest_centroid(x[~placed], cent)
        cos = cosine_to_own(x, cent, own)
        strength[lvl] = cos
        outlier[lvl] = _robust_z(1.0 - cos, own, k, fitted=placed)
    return LevelScores(centroids, strength, outlier)


def _count(labels: np.ndarray) -> int:
    return int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0


def cosine_to_own(x: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cosine of each row to its cluster's centroid (the strength), in chunks (no n x d temporary)."""
    out = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), 65_536):
        rows = slice(start, start + 65_536)
        out[rows] = np.einsum("ij,ij->i", x[rows], centroids[labels[rows]])
    return out


def _robust_z(dist: np.ndarray, labels: np.ndarray, k: int, *, fitted: np.ndarray) -> np.ndarray:
    """Robust z of each row's distance, median and MAD taken over the ``fitted`` rows."""
    med, mad = distance_spread(dist[fitted], labels[fitted], k)
    return robust_z(dist, labels, med, mad)


def distance_spread(dist: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster ``0..k-1``: median and MAD of its rows' distances to its centroid
    (0 and 1 for a cluster without rows). What an outlier score is measured against."""
    med = np.zeros(k)
    mad = np.ones(k)
    order = np.lexsort((dist, labels))
    d_fit, lab_fit = dist[order], labels[order]
    bounds = np.searchsorted(lab_fit, np.arange(k + 1))
    for c in range(k):
        d = d_fit[bounds[c] : bounds[c + 1]]
        if len(d):
            med[c] = np.median(d)
            mad[c] = np.median(np.abs(d - med[c]))
    return med, mad


def robust_z(dist: np.ndarray, labels: np.ndarray, med: np.ndarray, mad: np.ndarray) -> np.ndarray:
    """The outlier score: ``max(0, (d - median) / (1.4826 * MAD))`` of each row's cluster."""
    z = (dist - med[labels]) / (1.4826 * mad[labels] + 1e-6)
    return np.maximum(z, 0.0).astype(np.float32)
