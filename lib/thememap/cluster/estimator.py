"""scikit-learn style front: parameters in ``__init__``, results in ``*_`` after ``fit``."""

from __future__ import annotations

from typing import Any

import numpy as np

from thememap.cluster.hierarchy import Hierarchy, build_hierarchy
from thememap.cluster.params import ClusterParams


class ThemeHierarchy:
    """Nested clusters of embedding vectors (see :func:`build_hierarchy`).

    ``ThemeHierarchy(ClusterParams(levels=3)).fit(vectors)`` leaves
    ``labels_`` (levels x n), ``parents_``, ``counts_`` and ``hierarchy_``.
    """

    def __init__(self, params: ClusterParams | None = None) -> None:
        self.params = params if params is not None else ClusterParams()

    def fit(self, x: np.ndarray, y: Any = None) -> ThemeHierarchy:
        """Build the hierarchy of the rows of ``x``."""
        self.hierarchy_: Hierarchy = build_hierarchy(x, **hierarchy_kwargs(self.params))
        self.labels_ = self.hierarchy_.labels
        self.parents_ = self.hierarchy_.parents
        self.counts_ = self.hierarchy_.counts
        return self

    def fit_predict(self, x: np.ndarray, y: Any = None) -> np.ndarray:
        """``fit(x).labels_``."""
        return self.fit(x).labels_


def hierarchy_kwargs(params: ClusterParams) -> dict[str, Any]:
    """The keyword arguments of :func:`build_hierarchy` that ``params`` sets."""
    return {
        "levels": params.levels,
        "seed": params.seed,
        "level_counts": params.level_counts,
        "min_sizes": params.min_sizes,
        "fine_per_sqrt_n": params.fine_per_sqrt_n,
        "top_range": (params.top_min, params.top_max),
        "restarts": params.restarts,
        "keep_noise": params.keep_noise,
        "noise_threshold": params.noise_threshold,
        "sample_threshold": params.sample_threshold,
        "sample_size": params.sample_size,
        "n_neighbors": params.n_neighbors,
        "embedding": params.embedding,
        "spectral_dims": params.spectral_dims,
        "merge": params.merge,
        "resolution": params.resolution,
        "kmeans_inits": params.kmeans_inits,
    }
