"""Stable theme ids: match a new hierarchy to the previous one, level by level.

Pure functions on arrays (no store). The rules, coarse to fine:

* **Evidence.** The items both runs hold. For a new cluster ``i`` and a previous
  cluster ``j`` the overlap is the Jaccard of their members *among those shared
  items*. When either of the two has fewer than ``min_shared`` shared members
  (a cluster made mostly of items new in this run, or one whose items mostly
  left), overlap says little and the cosine of the two centroids decides instead.
* **Candidates.** A pair can match when its Jaccard is at least ``min_jaccard``
  or, decided by centroids, its cosine is at least ``min_cosine``. A pair's score
  is its Jaccard (a centroid-decided pair scores ``min_jaccard * cosine``, below
  any pair with real overlap), plus ``TIE_WEIGHT * cosine`` to break ties.
* **Nesting.** Below level 1 a pair whose parents were not matched to each other
  (the new child's parent did not take the previous cluster's parent's id) loses
  ``nesting_penalty`` from its score (it stays a candidate): a child keeps the id
  of a previous cluster under the matching parent when one overlaps about as well,
  and crosses to another parent only when the overlap clearly says so.
* **Assignment.** ``scipy.optimize.linear_sum_assignment`` picks the one-to-one
  pairing with the highest total score; each previous cluster hands its id to at
  most one new cluster. Unmatched new clusters are new themes; unmatched previous
  clusters have ended. Levels present in one run only are all new / all ended.

Theme ids are ``"T<level>-<number>"`` (e.g. ``T1-0042``): the number continues a
per-level sequence the caller passes (``next_number``), so an id is unique within
a store and says its level at a glance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

TIE_WEIGHT = 1e-3  # cosine only separates pairs whose overlap is (nearly) equal


@dataclass(frozen=True)
class LevelView:
    """One level of one run as the matcher sees it.

    ``labels``: the cluster index (``0..k-1``, -1 = unplaced) of each *shared*
    item, in the same item order for both runs (see :func:`shared_labels`);
    ``sizes``: every cluster's member count in its own run (shared items or not);
    ``parents``: each cluster's index at the level above (-1 at level 1);
    ``centroids``: ``(k, d)`` cluster centres, or None (then overlap alone decides).
    """

    labels: np.ndarray
    sizes: np.ndarray
    parents: np.ndarray
    centroids: np.ndarray | None = None

    @property
    def k(self) -> int:
        """Number of clusters at this level."""
        return len(self.sizes)


@dataclass(frozen=True)
class LevelMatch:
    """The matching of one level: per new cluster, the previous one it continues."""

    previous: np.ndarray  # (k_new,) index of the matched previous cluster, -1 = a new theme
    jaccard: np.ndarray  # (k_new,) Jaccard on the shared items with it (nan when new)
    member_jaccard: np.ndarray  # (k_new,) Jaccard of all members, shared or not (nan when new)
    cosine: np.ndarray  # (k_new,) centroid cosine with it (nan when new or no centroids)
    ended: np.ndarray  # indices of the previous clusters no new cluster continues


@dataclass(frozen=True)
class ThemeMatch:
    """Theme ids of a new hierarchy, with what was matched and what ended."""

    levels: list[LevelMatch]
    theme_ids: list[list[str]]  # per level, per new cluster
    ended_ids: list[list[str]]  # per level, the previous themes that ended
    new_ids: list[list[str]]  # per level, the themes this run introduced


def theme_id(level: int, number: int) -> str:
    """The id of theme ``number`` at ``level`` (1 = coarsest): ``T1-0042``."""
    return f"T{level}-{number:04d}"


def theme_number(theme: str) -> int:
    """The number of a ``T<level>-<number>`` theme id."""
    return int(theme.rsplit("-", 1)[1])


def shared_labels(
    previous_items: np.ndarray,
    previous_labels: Sequence[np.ndarray],
    new_items: np.ndarray,
    new_labels: Sequence[np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Both runs' labels restricted to the items both hold, in one item order.

    ``*_items`` are item ids (unique) and ``*_labels`` per level the cluster index of
    each of those items. Returns ``(previous, new)`` label lists over the shared items.
    """
    previous_items = np.asarray(previous_items)
    new_items = np.asarray(new_items)
    _, p_rows, n_rows = np.intersect1d(
        previous_items, new_items, assume_unique=True, return_indices=True
    )
    return (
        [np.asarray(lab)[p_rows] for lab in previous_labels],
        [np.asarray(lab)[n_rows] for lab in new_labels],
    )


def _contingency(new: np.ndarray, prev: np.ndarray, k_new: int, k_prev: int) -> np.ndarray:
    """Shared items in (new cluster, previous cluster), unplaced items left out."""
    both = (new >= 0) & (prev >= 0)
    flat = new[both].astype(np.int64) * k_prev + prev[both].astype(np.int64)
    return np.bincount(flat, minlength=k_new * k_prev).reshape(k_new, k_prev).astype(np.float64)


def _cosines(new: np.ndarray | None, prev: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if new is None or prev is None or not len(new) or not len(prev):
        return np.zeros(shape)
    a = np.asarray(new, dtype=np.float64)
    b = np.asarray(prev, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.asarray(a @ b.T)


def match_level(
    previous: LevelView,
    new: LevelView,
    *,
    parent_match: np.ndarray | None = None,
    min_jaccard: float = 0.3,
    min_cosine: float = 0.9,
    min_shared: int = 5,
    nesting_penalty: float = 0.2,
) -> LevelMatch:
    """Match the clusters of one level (see the module doc for the rules).

    ``parent_match``: for each new cluster of the level above, the previous cluster it
    continues (-1 = none); None at level 1 (no nesting to respect).
    """
    kn, kp = new.k, previous.k
    contingency = _contingency(new.labels, previous.labels, kn, kp)
    shared_new = np.bincount(new.labels[new.labels >= 0], minlength=kn)[:kn].astype(np.float64)
    shared_prev = np.bincount(previous.labels[previous.labels >= 0], minlength=kp)[:kp]
    union = shared_new[:, None] + shared_prev[None, :].astype(np.float64) - contingency
    jaccard = np.divide(contingency, union, out=np.zeros_like(contingency), where=union > 0)
    cosine = _cosines(new.centroids, previous.centroids, (kn, kp))
    by_centroid = (shared_new[:, None] < min_shared) | (shared_prev[None, :] < min_shared)
    if new.centroids is None or previous.centroids is None:
        by_centroid[:] = False  # nothing else to go by: overlap decides
    candidate = np.where(by_centroid, cosine >= min_cosine, jaccard >= min_jaccard)
    score = np.where(by_centroid, min_jaccard * np.clip(cosine, 0.0, 1.0), jaccard)
    score = score + TIE_WEIGHT * cosine
    if parent_match is not None and kn and kp:
        # the previous parent the new child's parent continues, vs each previous cluster's parent
        parents = np.asarray(new.parents)
        continued = np.where(parents >= 0, np.asarray(parent_match)[parents.clip(min=0)], -2)
        nested = continued[:, None] == previous.parents[None, :]
        score = np.where(nested, score, score - nesting_penalty)
    score = np.where(candidate, np.maximum(score, 1e-6), 0.0)  # a candidate always beats none
    matched = np.full(kn, -1, dtype=np.int64)
    if kn and kp and candidate.any():
        rows, cols = linear_sum_assignment(score, maximize=True)
        keep = candidate[rows, cols]
        matched[rows[keep]] = cols[keep]
    has = matched >= 0
    pick = np.where(has, matched, 0)
    rows_all = np.arange(kn)

    def at(table: np.ndarray) -> np.ndarray:
        if not kp:
            return np.full(kn, np.nan)
        return np.where(has, table[rows_all, pick], np.nan)

    inter = at(contingency)
    sizes_union = new.sizes.astype(np.float64) + previous.sizes[pick].astype(np.float64) - inter
    member_jaccard = np.where(has, inter / np.maximum(sizes_union, 1.0), np.nan)
    has_centroids = new.centroids is not None and previous.centroids is not None
    return LevelMatch(
        previous=matched,
        jaccard=at(jaccard),
        member_jaccard=member_jaccard,
        cosine=at(cosine) if has_centroids else np.full(kn, np.nan),
        ended=np.setdiff1d(np.arange(kp), matched[has]),
    )


def match_hierarchies(
    previous: Sequence[LevelView],
    new: Sequence[LevelView],
    *,
    min_jaccard: float = 0.3,
    min_cosine: float = 0.9,
    min_shared: int = 5,
    nesting_penalty: float = 0.2,
) -> list[LevelMatch]:
    """Match every level of ``new`` to ``previous``, coarse to fine (index 0 = level 1).

    A level ``new`` has and ``previous`` lacks is all new clusters; the reverse is
    all ended (the matches stop at the shorter hierarchy's depth).
    """
    matches: list[LevelMatch] = []
    for depth, level in enumerate(new):
        if depth >= len(previous):
            none = np.full(level.k, np.nan)
            matches.append(
                LevelMatch(np.full(level.k, -1, np.int64), none, none, none, np.array([], int))
            )
            continue
        matches.append(
            match_level(
                previous[depth],
                level,
                parent_match=matches[-1].previous if depth else None,
                min_jaccard=min_jaccard,
                min_cosine=min_cosine,
                min_shared=min_shared,
                nesting_penalty=nesting_penalty,
            )
        )
    return matches


def assign_theme_ids(
    matches: Sequence[LevelMatch],
    previous_ids: Sequence[Sequence[str]],
    *,
    next_number: Mapping[int, int],
) -> ThemeMatch:
    """Theme ids for the new clusters: the matched previous cluster's id, else a fresh one.

    ``previous_ids[d][j]`` is the id of previous cluster ``j`` at level ``d + 1``;
    fresh ids at level ``L`` are numbered from ``next_number[L]`` (1 when absent) in
    cluster order. Previous levels deeper than ``matches`` all end.
    """
    theme_ids, ended_ids, new_ids = [], [], []
    for depth, match in enumerate(matches):
        level = depth + 1
        known = list(previous_ids[depth]) if depth < len(previous_ids) else []
        number = int(next_number.get(level, 1))
        ids, fresh = [], []
        for j in match.previous.tolist():
            if j >= 0:
                ids.append(known[j])
            else:
                ids.append(theme_id(level, number))
                fresh.append(ids[-1])
                number += 1
        theme_ids.append(ids)
        new_ids.append(fresh)
        ended_ids.append([known[j] for j in match.ended.tolist()])
    ended_ids += [list(ids) for ids in previous_ids[len(matches) :]]
    return ThemeMatch(list(matches), theme_ids, ended_ids, new_ids)


def match_themes(
    previous: Sequence[LevelView],
    new: Sequence[LevelView],
    previous_ids: Sequence[Sequence[str]],
    *,
    next_number: Mapping[int, int],
    min_jaccard: float = 0.3,
    min_cosine: float = 0.9,
    min_shared: int = 5,
    nesting_penalty: float = 0.2,
) -> ThemeMatch:
    """Match ``new`` to ``previous`` and name every new cluster's theme (the whole rule).

    With no previous levels (a first run) every cluster gets a fresh id.
    """
    matches = match_hierarchies(
        previous,
        new,
        min_jaccard=min_jaccard,
        min_cosine=min_cosine,
        min_shared=min_shared,
        nesting_penalty=nesting_penalty,
    )
    return assign_theme_ids(matches, previous_ids, next_number=next_number)
