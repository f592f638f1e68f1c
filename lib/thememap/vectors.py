"""Vector helpers every step shares: unit rows, a cluster's coherence, its representatives.

Embedding vectors are compared by cosine, so they are kept as unit rows; the cluster
step (stored representatives and coherence) and the describe step (cards) compute a
cluster's figures with these same functions.
"""

from __future__ import annotations

import numpy as np


def unit_rows(x: np.ndarray, *, tolerance: float = 1e-4) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32.

    When every row is already within ``tolerance`` of unit length ``x`` comes back as
    it is, with no copy (vectors read back from the store: 1M x 384 is 1.5 GB);
    ``tolerance=0`` always divides (a model's output, a mean of unit vectors).
    """
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if tolerance > 0 and len(x) and float(np.abs(norms - 1.0).max()) < tolerance:
        return x
    return x / np.maximum(norms, 1e-12)


def coherence(vectors: np.ndarray) -> float:
    """Mean cosine of unit ``vectors`` to their unit centroid (1 = identical items): the
    length of their mean."""
    if len(vectors) == 0:
        return 0.0
    return float(np.linalg.norm(vectors.mean(axis=0)))


def mmr(
    vectors: np.ndarray, centroid: np.ndarray, *, k: int, lambda_: float, pool: int = 200
) -> np.ndarray:
    """Row indices of ``k`` items by maximal marginal relevance to ``centroid``: near it,
    yet unlike each other (so five near-identical items are not all shown).

    Each pick maximises ``lambda_ * cos(item, centroid) - (1 - lambda_) * max cos(item,
    picked)``: ``lambda_`` = 1 takes the items nearest the centroid, lower values trade
    closeness for diversity. Only the ``pool`` items nearest the centroid are considered
    (outliers never represent a cluster, and the cost stays O(pool * k)).
    """
    if len(vectors) == 0:
        return np.empty(0, dtype=np.int64)
    relevance = vectors @ centroid
    candidates = np.argsort(-relevance, kind="stable")[:pool]
    chosen: list[int] = [int(candidates[0])]
    max_sim = vectors[candidates] @ vectors[chosen[0]]
    taken = np.zeros(len(candidates), dtype=bool)
    taken[0] = True
    while len(chosen) < min(k, len(candidates)):
        score = lambda_ * relevance[candidates] - (1.0 - lambda_) * max_sim
        score[taken] = -np.inf
        best = int(np.argmax(score))
        taken[best] = True
        chosen.append(int(candidates[best]))
        max_sim = np.maximum(max_sim, vectors[candidates] @ vectors[candidates[best]])
    return np.asarray(chosen, dtype=np.int64)
