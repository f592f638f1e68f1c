"""The 2D map: UMAP (cosine) on a kNN graph computed once, or PCA for a quick look.

Above ``sample_size`` rows UMAP is fitted on a sample and every other item is
placed at the similarity-weighted mean position of its nearest sampled items
within its own fine cluster (exact, cheap, deterministic), which keeps the map
at 1M items within minutes instead of an hour.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

from thememap.cluster.knn import KnnGraph, knn_graph

log = logging.getLogger(__name__)


def pca_layout(x: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """First two principal components (deterministic; sign fixed by the largest loading)."""
    from sklearn.decomposition import PCA

    if len(x) < 3:
        return np.zeros((len(x), 2), dtype=np.float32)
    pca = PCA(n_components=2, svd_solver="randomized", random_state=seed).fit(x)
    comps = (
        pca.components_
        * np.sign(pca.components_[np.arange(2), np.abs(pca.components_).argmax(1)])[:, None]
    )
    return ((x - pca.mean_) @ comps.T).astype(np.float32)


def umap_embedding(
    x: np.ndarray,
    *,
    seed: int,
    n_components: int = 2,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
    knn: KnnGraph | None = None,
    themes: np.ndarray | None = None,
    theme_weight: float = 0.5,
) -> np.ndarray:
    """UMAP of the rows of ``x`` to ``n_components`` dimensions, cosine, on ``knn``.

    The one place UMAP runs: the 2D map (:func:`layout_2d`) and the space the
    fine clusters are cut in (``cluster.embedding: umap``). ``knn`` is computed
    here when not given. With ``themes`` (a label per row) UMAP runs
    semi-supervised on them (``target_weight=theme_weight``; 0 = ignore them): the map
    is then laid out from the same neighbourhoods the hierarchy was cut from, so each
    theme forms one region instead of interleaving with its neighbours.
    """
    from tqdm import TqdmWarning

    with warnings.catch_warnings():
        # umap.layouts imports tqdm.auto, which warns when ipywidgets is absent; we draw no bar
        warnings.simplefilter("ignore", TqdmWarning)
        import umap

    if len(x) <= max(n_neighbors, n_components) + 1:
        coords = pca_layout(x, seed=seed)
        return np.pad(coords, ((0, 0), (0, max(n_components - 2, 0))))[:, :n_components]
    knn = knn or knn_graph(x, n_neighbors=n_neighbors, seed=seed)
    k = min(n_neighbors, knn.indices.shape[1])
    reducer = umap.UMAP(
        n_components=n_components,
        n_neighbors=k,
        min_dist=min_dist,
        metric="cosine",
        random_state=seed,
        n_epochs=n_epochs,
        precomputed_knn=(knn.indices[:, :k], knn.distances[:, :k], knn.search_index),
        init="spectral" if len(x) > 2 * k + 2 else "random",
        verbose=False,
        target_metric="categorical",
        target_weight=theme_weight,
    )
    with warnings.catch_warnings():
        # umap warns that a fixed random_state disables parallelism: that is the point here
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*", category=UserWarning)
        supervised = themes is not None and theme_weight > 0 and len(np.unique(themes)) > 1
        coords = reducer.fit_transform(x, y=np.asarray(themes) if supervised else None)
    return np.asarray(coords, dtype=np.float32)


def place_by_neighbours(
    x_rest: np.ndarray,
    groups_rest: np.ndarray,
    x_fit: np.ndarray,
    groups_fit: np.ndarray,
    coords_fit: np.ndarray,
    *,
    n_neighbors: int = 10,
) -> np.ndarray:
    """2D positions of unsampled rows: weighted mean of their nearest fitted rows in the same group."""
    out = np.empty((len(x_rest), 2), dtype=np.float32)
    fit_order = np.argsort(groups_fit, kind="stable")
    fit_bounds = np.searchsorted(groups_fit[fit_order], np.arange(groups_fit.max() + 2))
    for g in np.unique(groups_rest):
        rows = np.flatnonzero(groups_rest == g)
        members: np.ndarray = (
            fit_order[fit_bounds[g] : fit_bounds[g + 1]]
            if g + 1 < len(fit_bounds)
            else np.empty(0, np.int64)
        )
        if len(members) == 0:  # a group with no sampled member: nearest sampled rows overall
            members = np.arange(len(x_fit))
        for start in range(0, len(rows), 8192):
            chunk = rows[start : start + 8192]
            sims = x_rest[chunk] @ x_fit[members].T
            k = min(n_neighbors, len(members))
            part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            w = np.maximum(np.take_along_axis(sims, part, axis=1), 1e-3) ** 4
            pos = coords_fit[members[part]]
            out[chunk] = (w[..., None] * pos).sum(1) / w.sum(1, keepdims=True)
    return out


def layout_2d(
    x: np.ndarray,
    *,
    method: str = "umap",
    seed: int = 42,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int | None = None,
    sample_size: int = 30_000,
    groups: np.ndarray | None = None,
    knn: KnnGraph | None = None,
    knn_rows: np.ndarray | None = None,
    themes: np.ndarray | None = None,
    theme_weight: float = 0.5,
) -> np.ndarray | None:
    """2D positions of the unit rows of ``x`` (``None`` for ``method="none"``).

    ``knn`` (a graph over ``x[knn_rows]``, or over all rows when ``knn_rows`` is
    None) is reused when it covers the rows UMAP is fitted on. Above
    ``sample_size`` rows UMAP sees a seeded sample and the other rows are placed
    among their nearest sampled neighbours of the same ``groups`` label.
    ``themes`` (level-1 labels) pull each theme into one region of the map
    (see :func:`umap_embedding`).
    """
    if method == "none":
        return None
    if method == "pca":
        return pca_layout(x, seed=seed)
    if method != "umap":
        raise ValueError(f"unknown layout method {method!r}: use umap, pca or none")
    n = len(x)
    if n <= sample_size:
        rows = None
        if knn is not None and knn_rows is not None:
            knn = None  # a graph over a sample does not cover all rows
    elif knn is not None and knn_rows is not None and len(knn_rows) <= sample_size:
        rows = knn_rows
    else:
        rows = np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))
        knn = None
    x_fit = x if rows is None else x[rows]
    coords_fit = umap_embedding(
        x_fit, seed=seed, n_components=2, n_neighbors=n_neighbors, min_dist=min_dist,
        n_epochs=n_epochs, knn=knn,
        themes=None if themes is None else (themes if rows is None else themes[rows]),
        theme_weight=theme_weight,
    )  # fmt: skip
    if rows is None:
        return coords_fit
    out = np.empty((n, 2), dtype=np.float32)
    out[rows] = coords_fit
    rest = np.setdiff1d(np.arange(n), rows, assume_unique=True)
    g = np.zeros(n, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    log.info("placing %d unsampled rows on the map", len(rest))
    out[rest] = place_by_neighbours(x[rest], g[rest], x_fit, g[rows], coords_fit)
    return out
