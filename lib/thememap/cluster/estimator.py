"""scikit-learn style front: parameters in ``__init__``, results in ``*_`` after ``fit``.

:func:`fit_hierarchy` is the one place that turns :class:`ClusterParams` into a
hierarchy: it checks the params against the corpus (impossible counts and sizes
are clamped with a warning naming the key), handles corpora with fewer distinct
vectors than clusters, and dispatches on ``method``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from thememap.cluster.hierarchy import Hierarchy, build_hierarchy
from thememap.cluster.params import ClusterParams
from thememap.cluster.reference_hdbscan import recursive_hdbscan
from thememap.cluster.scores import parents_of, score_levels
from thememap.vectors import unit_rows

log = logging.getLogger(__name__)

# below this many distinct vectors there is no structure to cluster: each distinct text is
# its own theme (identical texts always share one)
_MIN_DISTINCT = 8


class ThemeHierarchy:
    """Nested clusters of embedding vectors (see :func:`fit_hierarchy`).

    ``ThemeHierarchy(ClusterParams(levels=3)).fit(vectors)`` leaves
    ``labels_`` (levels x n), ``parents_``, ``counts_`` and ``hierarchy_``.
    """

    def __init__(self, params: ClusterParams | None = None) -> None:
        self.params = params if params is not None else ClusterParams()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The estimator's parameters (scikit-learn protocol)."""
        return {"params": self.params}

    def fit(self, x: np.ndarray, y: Any = None) -> ThemeHierarchy:
        """Build the hierarchy of the rows of ``x``."""
        self.hierarchy_: Hierarchy = fit_hierarchy(x, self.params)
        self.labels_ = self.hierarchy_.labels
        self.parents_ = self.hierarchy_.parents
        self.counts_ = self.hierarchy_.counts
        return self

    def fit_predict(self, x: np.ndarray, y: Any = None) -> np.ndarray:
        """``fit(x).labels_``."""
        return self.fit(x).labels_


def fit_hierarchy(x: np.ndarray, params: ClusterParams) -> Hierarchy:
    """The hierarchy of the rows of ``x`` that ``params`` asks for."""
    x = unit_rows(x)
    if len(x) == 0:
        raise ValueError("no rows to cluster")
    groups = distinct_rows(x)
    distinct = int(groups.max()) + 1
    if distinct < _MIN_DISTINCT:
        log.warning(
            "all %d items have %s: each distinct text is one theme at every level",
            len(x), "the same text" if distinct == 1 else f"only {distinct} distinct texts",
        )  # fmt: skip
        return hierarchy_from_labels(x, np.tile(groups, (params.levels, 1)))
    params = clamp_to_corpus(params, len(x), distinct)
    if params.method == "hdbscan":
        return hierarchy_from_labels(x, recursive_hdbscan(x, levels=params.levels))
    return build_hierarchy(x, params)


def distinct_rows(x: np.ndarray) -> np.ndarray:
    """A group per row, equal for (near-)identical unit rows, numbered 0..g-1.

    Rows are compared by one fixed random projection rounded to 4 decimals:
    one pass, not a sort of n x d values.
    """
    probe = np.round(x @ np.random.default_rng(0).standard_normal(x.shape[1]), 4)
    return np.unique(probe, return_inverse=True)[1].ravel().astype(np.int64)


def clamp_to_corpus(params: ClusterParams, n: int, distinct: int | None = None) -> ClusterParams:
    """``params`` with counts and sizes a corpus of ``n`` items can hold (warned by key).

    A level can have at most ``distinct / finest minimum size`` clusters (the
    same cap the automatic finest count obeys); a minimum size at most half the
    items.
    """
    distinct = n if distinct is None else distinct
    update: dict[str, Any] = {}
    if params.min_sizes is not None:
        sizes = list(params.min_sizes)
        for i, size in enumerate(sizes):
            if size is not None and size > max(1, n // 2):
                log.warning(
                    "cluster.min_sizes[%d]: %d is more than half of the %d items; clamped to %d",
                    i, size, n, max(1, n // 2),
                )  # fmt: skip
                sizes[i] = max(1, n // 2)
        if sizes != params.min_sizes:
            update["min_sizes"] = sizes
    if params.level_counts is not None:
        min_sizes = update.get("min_sizes", params.min_sizes) or [None] * params.levels
        fine_min = min_sizes[-1] or max(3, min(10, n // 1000))  # as build_hierarchy
        most = max(1, distinct // fine_min)
        counts = list(params.level_counts)
        for i, count in enumerate(counts):
            if count is not None and count > most:
                log.warning(
                    "cluster.level_counts[%d]: %d clusters asked, but %d items (%d distinct texts)"
                    " in clusters of at least %d allow at most %d; clamped to %d",
                    i, count, n, distinct, fine_min, most, most,
                )  # fmt: skip
                counts[i] = most
        if counts != params.level_counts:
            update["level_counts"] = counts
    return params.model_copy(update=update) if update else params


def hierarchy_from_labels(x: np.ndarray, labels: np.ndarray) -> Hierarchy:
    """A :class:`Hierarchy` of given nested ``(levels, n)`` labels (``-1`` = unplaced)."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = score_levels(x, labels)
    parents = parents_of(labels)
    return Hierarchy(
        labels=labels,
        parents=parents,
        centroids=scores.centroids,
        strength=scores.strength,
        outlier_score=scores.outlier_score,
        is_outlier=labels < 0,
        stability=[np.ones(len(p)) for p in parents],
        fine_agreement=1.0,
    )
