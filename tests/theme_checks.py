"""Checks shared by the theme-continuity tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from thememap.cluster.params import ClusterParams
from thememap.export.changes import ThemeChanges, theme_changes
from thememap.store import open_store
from thememap.store.clusters import read_memberships
from thememap.store.themes import run_theme_ids


def check_change_table(conn: sqlite3.Connection, before_run: str, run: str) -> ThemeChanges:
    """The report's change table of ``run`` against the memberships of both runs, theme by
    theme and level by level: new/ended themes, counts, shares, items moved in and out."""
    changes = theme_changes(conn, run)
    assert changes.previous_run_id == before_run
    table = changes.table.set_index(["level", "theme_id"])
    runs = {}
    for run_id in (before_run, run):
        members = read_memberships(conn, run_id).dropna(subset=["cluster_id"])
        theme_of = run_theme_ids(conn, run_id)
        runs[run_id] = members.assign(theme=members["cluster_id"].astype(int).map(theme_of))
    for level in sorted(runs[run]["level"].unique()):
        before = runs[before_run][runs[before_run]["level"] == level]
        now = runs[run][runs[run]["level"] == level]
        count_before, count_now = before["theme"].value_counts(), now["theme"].value_counts()
        at = changes.table[changes.table["level"] == level]
        assert set(at.loc[at["change"] == "new", "theme_id"]) == set(count_now.index) - set(
            count_before.index
        )
        assert set(at.loc[at["change"] == "ended", "theme_id"]) == set(count_before.index) - set(
            count_now.index
        )
        both = before.merge(now, on="item_id", suffixes=("_before", "_now"))
        moved = both[both["theme_before"] != both["theme_now"]]
        for theme in set(count_before.index) | set(count_now.index):
            row = table.loc[(level, theme)]
            items_before, items_now = int(count_before.get(theme, 0)), int(count_now.get(theme, 0))
            assert (row["items_before"], row["items_now"]) == (items_before, items_now)
            assert row["items_change"] == items_now - items_before
            assert row["share_before"] == pytest.approx(items_before / len(before), abs=1e-6)
            assert row["share_now"] == pytest.approx(items_now / len(now), abs=1e-6)
            assert row["moved_in"] == int((moved["theme_now"] == theme).sum())
            assert row["moved_out"] == int((moved["theme_before"] == theme).sum())
            if row["change"] == "grew":
                assert row["share_change"] > 0
            if row["change"] == "shrank":
                assert row["share_change"] < 0
        if level == 1:
            assert changes.shared_items == len(both)
            assert changes.moved_items == len(moved)
    return changes


@contextmanager
def store_copy(base: Path, folder: Path) -> Iterator[sqlite3.Connection]:
    """An open copy of the store at ``base`` in ``folder``: one test's writes stay there."""
    copy = folder / "store.db"
    with sqlite3.connect(base) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    connection = open_store(copy)
    try:
        yield connection
    finally:
        connection.close()


def cluster_params(**overrides: object) -> ClusterParams:
    """Cheap clustering params for the theme tests' real stores (3 restarts, a PCA map)."""
    return ClusterParams(restarts=3, layout="pca", check_runs=0, **overrides)  # type: ignore[arg-type]
