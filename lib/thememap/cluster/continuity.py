"""Theme ids for a stored cluster run: match it to the previous run, store the result.

:func:`assign_themes` is what notebook 02 calls after the run's clusters are
written (and what 04_export calls before exporting, so a matching killed before it
finished is completed then)::

    result = cluster_store(conn, params.cluster, run_id=step.run_id)
    themes = assign_themes(conn, step.run_id, params.continuity)

The previous run is the one matched last (other than this one) whose clusters are
still in the store; a first run gives every cluster a fresh id. The matching rules
are :mod:`thememap.cluster.identity`'s; the result is written in one transaction
(:func:`thememap.store.themes.write_run_themes`), so re-running is safe and a run
already matched is left as it is (``force=True`` matches it again).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.identity import (
    LevelView,
    ThemeMatch,
    match_themes,
    shared_labels,
    theme_number,
)
from thememap.store.clusters import exported_cluster_run
from thememap.store.themes import (
    ThemeRow,
    cluster_shapes,
    membership_arrays,
    next_theme_numbers,
    previous_matched_run,
    run_matched,
    run_themes,
    theme_run,
    write_run_themes,
)
from thememap.store.view import check_clustering_current

log = logging.getLogger(__name__)


@dataclass
class RunLevels:
    """One stored run as arrays: cluster ids, labels and shapes per level (coarse first)."""

    item_ids: np.ndarray  # (n,) the run's items, sorted
    cluster_ids: list[np.ndarray] = field(default_factory=list)  # per level: index -> clusters.id
    labels: list[np.ndarray] = field(default_factory=list)  # per level: (n,) index, -1 = none
    parents: list[np.ndarray] = field(default_factory=list)  # per level: (k,) parent index
    centroids: list[np.ndarray | None] = field(default_factory=list)  # per level: (k, d)

    def views(self, labels: list[np.ndarray]) -> list[LevelView]:
        """The matcher's view of every level, with ``labels`` over the shared items."""
        return [
            LevelView(
                labels=shared,
                sizes=np.bincount(own[own >= 0], minlength=len(ids))[: len(ids)],
                parents=parents,
                centroids=centroids,
            )
            for shared, own, ids, parents, centroids in zip(
                labels, self.labels, self.cluster_ids, self.parents, self.centroids, strict=True
            )
        ]


def read_run_levels(conn: sqlite3.Connection, run_id: str) -> RunLevels:
    """``run_id``'s clusters and memberships from the store, as :class:`RunLevels`."""
    shapes = cluster_shapes(conn, run_id)
    members = membership_arrays(conn, run_id)  # item_id, level, cluster_id (-1: unplaced)
    item_ids = np.unique(members[:, 0])
    run = RunLevels(item_ids=item_ids)
    for level in sorted(int(v) for v in shapes["level"].unique()):
        at = shapes[shapes["level"] == level]
        ids = at["id"].to_numpy(dtype=np.int64)  # sorted: read ORDER BY level, id
        labels = np.full(len(item_ids), -1, dtype=np.int64)
        part = members[(members[:, 1] == level) & np.isin(members[:, 2], ids)]
        labels[np.searchsorted(item_ids, part[:, 0])] = np.searchsorted(ids, part[:, 2])
        parent_ids = at["parent_id"].to_numpy(dtype=float)
        if run.cluster_ids and not np.isnan(parent_ids).any():
            parents = np.searchsorted(run.cluster_ids[-1], parent_ids.astype(np.int64))
        else:
            parents = np.full(len(ids), -1, dtype=np.int64)
        vectors = at["centroid"].tolist()
        same_dim = len({len(v) for v in vectors if v is not None}) == 1
        centroids = np.vstack(vectors) if vectors and same_dim and all(
            v is not None for v in vectors
        ) else None  # fmt: skip
        run.cluster_ids.append(ids)
        run.labels.append(labels)
        run.parents.append(parents)
        run.centroids.append(centroids)
    return run


def theme_rows(
    current: RunLevels, previous: RunLevels | None, match: ThemeMatch
) -> Iterator[ThemeRow]:
    """The store's rows for ``match``: each cluster of ``current`` with its theme id and
    the cluster of ``previous`` it continues."""
    for depth, (ids, themes, lm) in enumerate(
        zip(current.cluster_ids, match.theme_ids, match.levels, strict=True)
    ):
        for c, (cluster_id, tid) in enumerate(zip(ids.tolist(), themes, strict=True)):
            j = int(lm.previous[c])
            before = None if j < 0 or previous is None else int(previous.cluster_ids[depth][j])
            yield ThemeRow(
                cluster_id=int(cluster_id),
                level=depth + 1,
                theme_id=tid,
                number=theme_number(tid),
                previous_cluster_id=before,
                jaccard=_number(lm.jaccard[c]),
                member_jaccard=_number(lm.member_jaccard[c]),
                cosine=_number(lm.cosine[c]),
            )


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


@dataclass
class ThemeAssignment:
    """What :func:`assign_themes` did for a run (``table``: per level, see
    :func:`theme_counts`)."""

    run_id: str
    previous_run_id: str | None
    table: pd.DataFrame
    matched_now: bool  # False: the run was matched before and left as it was
    seconds: float = 0.0


def match_runs(
    previous: RunLevels | None,
    current: RunLevels,
    previous_ids: list[list[str]],
    params: ContinuityParams,
    *,
    next_number: dict[int, int],
) -> ThemeMatch:
    """The matching of ``current`` to ``previous`` (None: a first run, all ids fresh)."""
    if previous is None:
        prev_views: list[LevelView] = []
        new_views = current.views([np.array([], dtype=np.int64) for _ in current.labels])
    else:
        prev_shared, new_shared = shared_labels(
            previous.item_ids, previous.labels, current.item_ids, current.labels
        )
        prev_views, new_views = previous.views(prev_shared), current.views(new_shared)
    return match_themes(
        prev_views,
        new_views,
        previous_ids,
        next_number=next_number,
        min_jaccard=params.match_min_jaccard,
        min_cosine=params.match_min_cosine,
        min_shared=params.match_min_shared,
        nesting_penalty=params.nesting_penalty,
    )


@dataclass
class ThemePlan:
    """A run's matching, computed and not yet written: one row per cluster."""

    run_id: str
    previous_run_id: str | None
    rows: list[ThemeRow]


def plan_themes(
    conn: sqlite3.Connection, run_id: str, params: ContinuityParams | None = None
) -> ThemePlan | None:
    """Match ``run_id`` to the previous matched run (reads only); None when it has no clusters."""
    params = params or ContinuityParams()
    current = read_run_levels(conn, run_id)
    if not current.cluster_ids:
        return None
    previous_id = previous_matched_run(conn, run_id)
    previous = None if previous_id is None else read_run_levels(conn, previous_id)
    previous_ids: list[list[str]] = []
    if previous is not None and previous_id is not None:
        by_cluster = run_themes(conn, previous_id).set_index("cluster_id")["theme_id"]
        previous_ids = [[str(by_cluster[int(c)]) for c in ids] for ids in previous.cluster_ids]
    match = match_runs(
        previous,
        current,
        previous_ids,
        params,
        next_number=next_theme_numbers(conn, excluding_run=run_id),
    )
    return ThemePlan(run_id, previous_id, list(theme_rows(current, previous, match)))


def assign_themes(
    conn: sqlite3.Connection,
    run_id: str,
    params: ContinuityParams | None = None,
    *,
    force: bool = False,
) -> ThemeAssignment | None:
    """Give every cluster of ``run_id`` a theme id (see the module doc); None when the run
    has no clusters. A run already matched is left as it is unless ``force``."""
    started = time.perf_counter()
    if not force and run_matched(conn, run_id):
        record = theme_run(conn, run_id) or {}
        previous_id = record.get("previous_run_id")
        return ThemeAssignment(run_id, previous_id, theme_counts(conn, run_id), False)
    plan = plan_themes(conn, run_id, params)
    if plan is None:
        return None
    write_run_themes(
        conn, run_id, plan.rows, previous_run_id=plan.previous_run_id, clusters=len(plan.rows)
    )
    table = theme_counts(conn, run_id)
    seconds = time.perf_counter() - started
    log.info(
        "theme ids of run %s (previous: %s): kept per level %s, new %s, ended %s (%.2f s)",
        run_id,
        plan.previous_run_id or "none, a first run",
        table["kept"].tolist(),
        table["new"].tolist(),
        table["ended"].tolist(),
        seconds,
    )
    return ThemeAssignment(run_id, plan.previous_run_id, table, True, seconds)


def ensure_themes(
    conn: sqlite3.Connection, run_id: str | None, params: ContinuityParams | None = None
) -> ThemeAssignment | None:
    """:func:`assign_themes` for the run whose clusters ``run_id`` exports (a run without
    clusters of its own exports the latest clustering's): matches it when it is not yet.

    A clustering of other items than the current ones is refused first
    (:class:`~thememap.errors.StepOrderError`, as the export would), so nothing is written.
    """
    run = exported_cluster_run(conn, run_id)
    check_clustering_current(conn, run)
    return assign_themes(conn, run, params)


def theme_counts(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """Per level of ``run_id``: clusters, themes kept from the previous matched run, new,
    ended, and ``kept_items``: the share of the level's placed items whose theme was kept."""
    record = theme_run(conn, run_id) or {}
    now = run_themes(conn, run_id)
    previous_id = record.get("previous_run_id")
    before = run_themes(conn, previous_id) if previous_id else now.iloc[0:0]
    rows = []
    for level in sorted(int(v) for v in now["level"].unique()):
        at = now[now["level"] == level]
        earlier = set(before.loc[before["level"] == level, "theme_id"].dropna())
        kept = at["theme_id"].isin(earlier)
        placed = max(int(at["comment_count"].sum()), 1)
        rows.append(
            {
                "level": level,
                "clusters": len(at),
                "kept": int(kept.sum()),
                "new": int((~kept & at["theme_id"].notna()).sum()),
                "ended": len(earlier - set(at["theme_id"].dropna())),
                "kept_items": round(int(at.loc[kept, "comment_count"].sum()) / placed, 4),
            }
        )
    return pd.DataFrame(rows, columns=["level", "clusters", "kept", "new", "ended", "kept_items"])
