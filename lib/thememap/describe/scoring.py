"""Coherence, its random-cluster baseline, the 1-10 strength scale, zero-shot categories.

Coherence of a cluster (:func:`thememap.vectors.coherence`) = mean cosine of its
members to the cluster's unit centroid, which for unit vectors equals the length of
the members' mean vector.

A random set of ``n`` items is not coherence 0: it inherits the corpus's common
direction. Its expected coherence is (for sampling without replacement from N
items whose mean vector is ``m``)::

    baseline(n) = sqrt(|m|^2 + (1 - |m|^2) / n * (N - n) / (N - 1))

Strength rescales the gain over that baseline::

    lift = (coherence - baseline(n)) / (1 - baseline(n))        # 0 = random, 1 = identical
    strength = clip(round(1 + 9 * lift / full_lift), 1, 10)

with ``full_lift`` (default :data:`FULL_LIFT`) the lift that earns a 10. The default
0.5 was set on the Debian dev corpus with MiniLM vectors, where coarse topical
clusters land around 3-5 and tight leaves (near-duplicate items) reach 8-10;
see docs/benchmarks.md ("Cluster cards").
"""

from __future__ import annotations

import numpy as np

FULL_LIFT = 0.5


def random_baseline(n: int, *, corpus_mean_norm: float, corpus_size: int) -> float:
    """Expected coherence of ``n`` items drawn at random from the corpus (formula above)."""
    m2 = corpus_mean_norm**2
    if corpus_size <= 1 or n >= corpus_size:
        return float(np.sqrt(m2)) if n >= corpus_size else 1.0
    var = (1.0 - m2) / max(n, 1) * (corpus_size - n) / (corpus_size - 1)
    return float(np.sqrt(m2 + var))


def lift(value: float, baseline: float) -> float:
    """Coherence gain over the random baseline, as a share of what was possible."""
    return float((value - baseline) / max(1.0 - baseline, 1e-6))


def strength(value: float, baseline: float, *, full_lift: float = FULL_LIFT) -> int:
    """Strength 1-10 from coherence and its random baseline (mapping in the module doc)."""
    scaled = 1.0 + 9.0 * lift(value, baseline) / full_lift
    return int(np.clip(round(scaled), 1, 10))


def zero_shot(centroids: np.ndarray, label_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best label index, similarity matrix) for each centroid against label descriptions."""
    sims = centroids @ label_vectors.T
    return np.argmax(sims, axis=1), sims


def calibrated_category(
    centroids: np.ndarray,
    label_vectors: np.ndarray,
    item_sample: np.ndarray,
    *,
    min_margin: float,
    min_lift: float,
    member_means: np.ndarray | None = None,
    sizes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest category per centroid, or -1 where it does not clearly fit.

    Both tests are in units of how much single items vary (standard deviations over
    ``item_sample``), so thresholds do not depend on the model's cosine range:

    * **margin**: the cluster prefers its nearest description over the runner-up by at
      least ``min_margin`` units of that preference's spread over items;
    * **lift**: the cluster's items are closer to that description than the corpus's items
      are on average, by at least ``min_lift`` units (a category every item is equally
      near, such as one that fits nothing, says nothing about this cluster), and by two
      standard errors of a mean of ``sizes`` items (``2 / sqrt(size)``).

    ``member_means``: the (not normalised) mean vector of each cluster's items, for the
    lift; defaults to ``centroids``. Returns (best index or -1, raw similarities, margin).
    """
    sims = centroids @ label_vectors.T
    n = len(sims)
    rows = np.arange(n)
    sizes = np.full(n, np.inf) if sizes is None else np.asarray(sizes, dtype=np.float64)
    item_sims = item_sample @ label_vectors.T
    means = centroids if member_means is None else member_means
    lift = (
        (means - item_sample.mean(axis=0))
        @ label_vectors.T
        / np.maximum(item_sims.std(axis=0), 1e-6)
    )
    best = np.argmax(sims, axis=1)
    if sims.shape[1] == 1:
        margin = np.full(n, np.inf)
    else:
        runner = np.argsort(-sims, axis=1)[:, 1]
        spread = np.array(
            [
                float(np.std(item_sims[:, b] - item_sims[:, r]))
                for b, r in zip(best, runner, strict=True)
            ]
        )
        margin = (sims[rows, best] - sims[rows, runner]) / np.maximum(spread, 1e-6)
    # a small cluster's mean wanders: its lift must also clear two standard errors
    floor = np.maximum(min_lift, 2.0 / np.sqrt(np.maximum(sizes, 1.0)))
    fits = (margin >= min_margin) & (lift[rows, best] >= floor)
    return np.where(fits, best, -1), sims, margin
