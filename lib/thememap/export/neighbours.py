"""Each item's nearest neighbours by embedding cosine, computed at export time.

The map's "more like this" and Embedding Atlas's neighbour view read them; they are
positions (rows of ``ExportData.items``), never store ids, so a page can index its own
arrays with them. Only items with a map position take part (the others are not shown).
"""

from __future__ import annotations

import logging
import sqlite3

import numpy as np

from thememap.cluster.knn import knn_graph
from thememap.errors import StepOrderError, StoreError
from thememap.export.source import ExportData
from thememap.store.vectors import load_item_vectors

log = logging.getLogger(__name__)


def nearest_rows(vectors: np.ndarray, *, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k)`` row numbers of each row's ``k`` nearest other rows by cosine (-1 pads),
    and their cosine distances (NaN pads).

    Exact below 10,000 rows, NN-descent above (the kNN of 02_cluster, same code).
    """
    n = len(vectors)
    rows = np.full((n, k), -1, dtype=np.int64)
    distances = np.full((n, k), np.nan, dtype=np.float32)
    if n < 2 or k < 1:
        return rows, distances
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    graph = knn_graph(unit, n_neighbors=min(k + 1, n), seed=seed)
    for i, (row, dist) in enumerate(zip(graph.indices, graph.distances, strict=True)):
        keep = (row != i) & (row >= 0)  # itself usually first; drop it wherever it is
        others = row[keep][:k]
        rows[i, : len(others)] = others
        distances[i, : len(others)] = dist[keep][:k]
    return rows, distances


def attach_neighbours(
    conn: sqlite3.Connection, data: ExportData, *, k: int = 10, seed: int = 0
) -> ExportData:
    """Fill ``data.neighbours`` from the store's vectors (left None when there are none).

    A store without vectors for these items (a map made from another tool's layout, or
    vectors of two models) still exports: the map simply has no "more like this".
    """
    data.neighbours = data.neighbour_distances = None
    if k < 1 or data.items.empty:
        return data
    placed = (data.items["x"].notna() & data.items["y"].notna()).to_numpy()
    rows = np.flatnonzero(placed)
    item_ids = data.items["id"].to_numpy()[rows]
    if not len(rows):
        return data
    try:
        ids, vectors = load_item_vectors(conn, item_ids=item_ids.tolist())
    except (StepOrderError, StoreError) as exc:
        log.info("no neighbours for 'more like this': %s", exc)
        return data
    pos = np.searchsorted(ids, item_ids)  # vectors come ordered by item id
    if len(ids) != len(rows) or not np.array_equal(ids[np.minimum(pos, len(ids) - 1)], item_ids):
        log.info("no neighbours for 'more like this': not every mapped item has a vector")
        return data
    near, distances = nearest_rows(vectors[pos], k=k, seed=seed)
    result = np.full((len(data.items), k), -1, dtype=np.int64)
    result[rows] = np.where(near >= 0, rows[np.maximum(near, 0)], -1)
    data.neighbours = result
    data.neighbour_distances = np.full((len(data.items), k), np.nan, dtype=np.float32)
    data.neighbour_distances[rows] = distances
    log.info("%d nearest neighbours of %d items", k, len(rows))
    return data
