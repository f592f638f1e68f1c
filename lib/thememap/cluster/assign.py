"""Place new items in a fitted hierarchy without refitting it (``thememap assign``).

Each new item goes to its cosine-nearest fine centroid; its coarser clusters are
that cluster's parents, so every level nests by construction. Its strength and
outlier score at each level are measured exactly as the fit measures them
(:mod:`thememap.cluster.scores`): cosine to the centroid, and the robust z of the
distance against the median and MAD of the fitted members' distances. Its map
position comes from its ``n_neighbors`` nearest fitted items of the same fine cluster
(:func:`thememap.cluster.layout.place_by_neighbours`, as the map places the rows a
sampled fit left out), so it lands among them.

When many new items are outliers the hierarchy no longer describes them:
:class:`AssignSummary` says so, and suggests a refit past a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thememap.cluster.layout import place_by_neighbours
from thememap.cluster.partition import nearest_centroid
from thememap.cluster.scores import cosine_to_own, distance_spread, robust_z
from thememap.vectors import unit_rows


@dataclass
class FittedHierarchy:
    """What placing needs of a fit; levels are coarse first, clusters ``0..k-1`` per level."""

    centroids: list[np.ndarray]  # per level: (k, d) unit rows
    parents: list[np.ndarray]  # per level: (k,) parent index at the level above, -1 at level 1
    vectors: np.ndarray  # (n, d) the fitted items' unit vectors
    labels: np.ndarray  # (levels, n) their clusters, -1 = unplaced
    coords: np.ndarray | None  # (n, 2) their map positions (None: the fit drew no map)

    def spread(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per level: median and MAD of the fitted members' distances to their centroid."""
        out = []
        for cent, lab in zip(self.centroids, self.labels, strict=True):
            placed = lab >= 0
            dist = 1.0 - cosine_to_own(self.vectors[placed], cent, lab[placed])
            out.append(distance_spread(dist, lab[placed], len(cent)))
        return out


@dataclass
class Placement:
    """Where :func:`place_items` put each new item; ``(levels, m)`` arrays, coarse first."""

    nearest: np.ndarray  # the nearest fine cluster and its parents (never -1)
    labels: np.ndarray  # ``nearest``, or -1 where ``keep_noise`` leaves an outlier unplaced
    strength: np.ndarray  # cosine to the cluster's centroid
    outlier_score: np.ndarray  # robust z, as the fit's
    is_outlier: np.ndarray  # outlier_score > noise_threshold
    coords: np.ndarray | None  # (m, 2) map positions


def place_items(
    x: np.ndarray,
    fit: FittedHierarchy,
    *,
    noise_threshold: float,
    keep_noise: bool = False,
    n_neighbors: int = 15,
    spread: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> Placement:
    """Place the rows of ``x`` (new items' vectors) in ``fit`` (see the module doc).

    ``spread`` is ``fit.spread()``, passed in when placing batch after batch so it
    is computed once.
    """
    x = unit_rows(np.asarray(x, dtype=np.float32))
    spread = spread if spread is not None else fit.spread()
    levels, m = len(fit.centroids), len(x)
    nearest = np.empty((levels, m), dtype=np.int64)
    nearest[-1], _, _ = nearest_centroid(x, fit.centroids[-1])
    for lvl in range(levels - 1, 0, -1):
        above = fit.parents[lvl][nearest[lvl]]
        if (above < 0).any():  # a cluster unplaced above (hdbscan): its own nearest there
            orphan = above < 0
            above[orphan], _, _ = nearest_centroid(x[orphan], fit.centroids[lvl - 1])
        nearest[lvl - 1] = above
    strength = np.empty((levels, m), dtype=np.float32)
    outlier = np.empty((levels, m), dtype=np.float32)
    for lvl, (cent, (med, mad)) in enumerate(zip(fit.centroids, spread, strict=True)):
        strength[lvl] = cosine_to_own(x, cent, nearest[lvl])
        outlier[lvl] = robust_z(1.0 - strength[lvl], nearest[lvl], med, mad)
    is_outlier = outlier > noise_threshold
    labels = np.where(is_outlier, -1, nearest) if keep_noise else nearest.copy()
    coords = None
    if fit.coords is not None and m:
        # as the map places the rows a sampled fit left out: among the item's own fine cluster
        coords = place_by_neighbours(
            x, nearest[-1], fit.vectors, fit.labels[-1], fit.coords, n_neighbors=n_neighbors
        )
    return Placement(nearest, labels, strength, outlier, is_outlier, coords)


@dataclass(frozen=True)
class AssignSummary:
    """What an assignment did: how many new items, how many of them are outliers at the
    finest level, and whether that share calls for a refit."""

    placed: int
    outliers: int
    refit_outlier_share: float

    @property
    def outlier_share(self) -> float:
        """Share of the placed items whose fine-level outlier score passed the threshold."""
        return self.outliers / self.placed if self.placed else 0.0

    @property
    def refit_suggested(self) -> bool:
        """True when the new items fit the hierarchy badly enough that a refit is worth it."""
        return self.outlier_share > self.refit_outlier_share

    def lines(self) -> list[str]:
        """The summary as the command line prints it."""
        share = f"{self.outlier_share:.1%}"
        verdict = (
            f"refit suggested: outlier share {share} > threshold {self.refit_outlier_share:.0%}"
            if self.refit_suggested
            else f"no refit needed: outlier share {share} <= threshold "
            f"{self.refit_outlier_share:.0%}"
        )
        return [f"placed: {self.placed} new item(s), {self.outliers} outlier(s)", verdict]


def summarise(is_fine_outlier: np.ndarray, *, refit_outlier_share: float) -> AssignSummary:
    """:class:`AssignSummary` of the new items' fine-level outlier flags."""
    flags = np.asarray(is_fine_outlier, dtype=bool)
    return AssignSummary(int(flags.size), int(flags.sum()), refit_outlier_share)
