"""The reference design's recipe, selectable as ``cluster.method: hdbscan``.

Recursive HDBSCAN on the L2-normalised vectors (euclidean, excess of mass):
level 1 with ``min_cluster_size=max(50, n // 100)``, ``min_samples=10``; each
level-1 cluster of at least 30 items is split again with ``max(15, m // 10)`` /
5; each level-2 cluster of at least 15 items with ``min(50, max(5, m // 5))`` /
3 (``m`` = that cluster's size). Items HDBSCAN calls noise stay unplaced (-1)
at that level and every level below, exactly as the reference leaves them; a
child only ever splits its own parent, so the levels nest. It is here so users
who want density-based noise, or who compare with the reference, can have it;
expect many unplaced items (80% on the Debian dev corpus) and super-linear time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from thememap.errors import ParamsError

# (min_cluster_size of a cluster of m items, min_samples, smallest cluster that is split)
_LEVEL_RULES: list[tuple[Callable[[int], int], int, int]] = [
    (lambda m: max(50, m // 100), 10, 0),
    (lambda m: max(15, m // 10), 5, 30),
    (lambda m: min(50, max(5, m // 5)), 3, 15),
]


def _rule(level: int, levels: int) -> tuple[Callable[[int], int], int, int]:
    """The reference's rule for ``level``: first, last, and the middle one for the rest."""
    if level == 0:
        return _LEVEL_RULES[0]
    return _LEVEL_RULES[2] if level == levels - 1 else _LEVEL_RULES[1]


def hdbscan_available() -> bool:
    """True when the optional ``hdbscan`` package (the ``[bench]`` extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("hdbscan") is not None


def _hdbscan(x: np.ndarray, min_cluster_size: int, min_samples: int) -> np.ndarray:
    if not hdbscan_available():
        raise ParamsError(
            "cluster.method: hdbscan needs the hdbscan package: pip install 'thememap[bench]'"
        )
    import hdbscan

    if len(x) < max(min_cluster_size, 2):
        return np.full(len(x), -1, dtype=np.int64)
    model = hdbscan.HDBSCAN(
        min_cluster_size=int(min_cluster_size),
        min_samples=int(min(min_samples, len(x) - 1)),
        metric="euclidean",
        cluster_selection_method="eom",
    )
    return np.asarray(model.fit_predict(x), dtype=np.int64)


def recursive_hdbscan(x: np.ndarray, *, levels: int = 3) -> np.ndarray:
    """``(levels, n)`` labels of the reference recipe (``-1`` = noise), coarse to fine."""
    n = len(x)
    out = np.full((levels, n), -1, dtype=np.int64)
    size_fn, min_samples, _ = _rule(0, levels)
    out[0] = _hdbscan(x, size_fn(n), min_samples)
    for lvl in range(1, levels):
        size_fn, min_samples, min_points = _rule(lvl, levels)
        next_label = 0
        for parent in np.unique(out[lvl - 1][out[lvl - 1] >= 0]):
            rows = np.flatnonzero(out[lvl - 1] == parent)
            if len(rows) < min_points:
                continue
            sub = _hdbscan(x[rows], size_fn(len(rows)), min_samples)
            placed = sub >= 0
            out[lvl, rows[placed]] = sub[placed] + next_label
            next_label += int(sub.max()) + 1 if placed.any() else 0
    return out
