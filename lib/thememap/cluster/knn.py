"""One cosine kNN graph, computed once and shared by the layout and the level-count choice.

Small inputs use an exact blocked search (no numba compile, exact, fast below
a few tens of thousands of rows); larger ones pynndescent's NN-descent, which
UMAP accepts as ``precomputed_knn`` so it is never computed twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_BLOCK = 4096


@dataclass
class KnnGraph:
    """``indices[i]`` are the ``k`` nearest rows of row ``i`` (itself first), ``distances`` cosine."""

    indices: np.ndarray  # (n, k) int64
    distances: np.ndarray  # (n, k) float32, cosine distance 1 - cos
    search_index: Any = None  # pynndescent index when built by it (UMAP can reuse it)


def exact_knn(x: np.ndarray, *, n_neighbors: int) -> KnnGraph:
    """Exact cosine kNN of unit rows by blocked matrix products (memory O(block x n))."""
    n = len(x)
    k = int(min(n_neighbors, n))
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, _BLOCK):
        sims = x[start : start + _BLOCK] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = np.inf  # itself first, whatever the rounding
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        indices[start : start + _BLOCK] = np.take_along_axis(part, order, axis=1)
        top = np.take_along_axis(top, order, axis=1)
        top[:, 0] = 1.0
        distances[start : start + _BLOCK] = np.clip(1.0 - top, 0.0, 2.0)
    return KnnGraph(indices, distances)


def knn_graph(
    x: np.ndarray, *, n_neighbors: int = 15, seed: int = 0, exact_below: int = 10_000
) -> KnnGraph:
    """Cosine kNN graph of unit rows: exact below ``exact_below`` rows, NN-descent above."""
    if len(x) <= exact_below:
        return exact_knn(x, n_neighbors=n_neighbors)
    from pynndescent import NNDescent

    log.info("NN-descent kNN graph of %d rows (k=%d)", len(x), n_neighbors)
    index = NNDescent(
        x,
        metric="cosine",
        n_neighbors=n_neighbors,
        random_state=seed,
        low_memory=True,
        verbose=False,
    )
    indices, distances = index.neighbor_graph
    return KnnGraph(indices.astype(np.int64), distances.astype(np.float32), index)
