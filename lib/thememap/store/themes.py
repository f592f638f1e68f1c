"""Stable theme ids in the store: ``themes``, ``cluster_themes`` and ``theme_runs``.

* ``cluster_themes``: each cluster's theme id and the previous run's cluster it
  continues (with the overlap figures of that match); deleted with its cluster, so
  re-clustering a run drops its matching too;
* ``theme_runs``: the runs whose matching is complete, in the order they were
  matched (``seq``), each with the run it was matched to;
* ``themes``: one row per theme id with its level, its number (the per-level
  sequence) and its life: ``first_run_id`` / ``last_run_id`` (the first and last
  matched runs that hold it) and ``ended_run_id`` (the first matched run after
  that which does not). These three are derived from the two tables above and
  recomputed in every write, so they are right whatever was re-run or deleted.

A run's matching is written whole in one transaction (:func:`write_run_themes`):
a kill mid-way leaves the store as it was, and writing it again replaces it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from thememap.store.connection import transaction

# Tables: migration 008_themes in store/migrations.py.


@dataclass(frozen=True)
class ThemeRow:
    """One cluster's theme as :func:`write_run_themes` stores it."""

    cluster_id: int
    level: int
    theme_id: str
    number: int  # the theme's number in its level's sequence (``T<level>-<number>``)
    previous_cluster_id: int | None  # the previous run's cluster it continues; None = new
    jaccard: float | None  # overlap with it on the items both runs hold
    member_jaccard: float | None  # overlap of all members
    cosine: float | None  # centroid cosine with it


def cluster_shapes(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """A run's embedding clusters as the matcher needs them: ``id, level, parent_id,
    comment_count, centroid`` (a float32 array, or None), by level then id."""
    frame = pd.read_sql_query(
        "SELECT id, level, parent_id, comment_count, centroid FROM clusters"
        " WHERE run_id = ? AND cluster_type = 'embedding' ORDER BY level, id",
        conn,
        params=(run_id,),
    )
    frame["centroid"] = frame["centroid"].map(
        lambda blob: None if blob is None else np.frombuffer(blob, dtype="<f4")
    )
    return frame


def membership_arrays(conn: sqlite3.Connection, run_id: str) -> np.ndarray:
    """A run's memberships as one ``(m, 3)`` int64 array of ``item_id, level, cluster_id``
    (-1 for an unplaced item): the matcher's read, lean at a million rows."""
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: sqlite3.Row costs more than the query
    rows = cursor.execute(
        "SELECT item_id, level, COALESCE(cluster_id, -1) FROM memberships WHERE run_id = ?",
        (run_id,),
    ).fetchall()
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def run_matched(conn: sqlite3.Connection, run_id: str) -> bool:
    """Whether ``run_id``'s matching is complete: recorded, and a theme for each cluster."""
    row = conn.execute(
        "SELECT (SELECT clusters FROM theme_runs WHERE run_id = ?),"
        " (SELECT COUNT(*) FROM clusters WHERE run_id = ? AND cluster_type = 'embedding'),"
        " (SELECT COUNT(*) FROM cluster_themes WHERE run_id = ?)",
        (run_id, run_id, run_id),
    ).fetchone()
    recorded, clusters, themed = row[0], int(row[1]), int(row[2])
    return recorded is not None and clusters > 0 and int(recorded) == clusters == themed


def previous_matched_run(conn: sqlite3.Connection, run_id: str) -> str | None:
    """The run matched last, other than ``run_id``, whose clusters (and themes) still exist."""
    row = conn.execute(
        "SELECT r.run_id FROM theme_runs AS r WHERE r.run_id != ? AND EXISTS"
        " (SELECT 1 FROM cluster_themes AS c WHERE c.run_id = r.run_id)"
        " ORDER BY r.seq DESC LIMIT 1",
        (run_id,),
    ).fetchone()
    return None if row is None else str(row[0])


def theme_run(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    """``run_id``'s matching record (``seq, previous_run_id, clusters, matched_at``) or None."""
    row = conn.execute(
        "SELECT seq, previous_run_id, clusters, matched_at FROM theme_runs WHERE run_id = ?",
        (run_id,),
    ).fetchone()
    return None if row is None else dict(row)


def next_theme_numbers(conn: sqlite3.Connection, *, excluding_run: str) -> dict[int, int]:
    """Per level, the next free theme number, not counting themes that only
    ``excluding_run`` holds (so matching a run again numbers its new themes the same)."""
    rows = conn.execute(
        "SELECT t.level, MAX(t.number) FROM themes AS t WHERE EXISTS"
        " (SELECT 1 FROM cluster_themes AS c WHERE c.theme_id = t.theme_id AND c.run_id != ?)"
        " GROUP BY t.level",
        (excluding_run,),
    ).fetchall()
    return {int(level): int(top) + 1 for level, top in rows}


def run_theme_ids(conn: sqlite3.Connection, run_id: str) -> dict[int, str]:
    """Cluster id -> theme id for the clusters of ``run_id`` that have one."""
    rows = conn.execute(
        "SELECT cluster_id, theme_id FROM cluster_themes WHERE run_id = ?", (run_id,)
    ).fetchall()
    return {int(cid): str(tid) for cid, tid in rows}


def run_themes(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """A run's embedding clusters with their themes: ``cluster_id, level, name, title,
    parent_id, comment_count, theme_id, previous_cluster_id, jaccard, member_jaccard,
    cosine`` (``title``: the card name 03_describe chose, else None; theme columns NA
    for a cluster not matched yet)."""
    return pd.read_sql_query(
        "SELECT c.id AS cluster_id, c.level, c.name, c.llm_pattern_name AS title, c.parent_id,"
        " c.comment_count, t.theme_id, t.previous_cluster_id, t.jaccard, t.member_jaccard,"
        " t.cosine FROM clusters AS c LEFT JOIN cluster_themes AS t ON t.cluster_id = c.id"
        " WHERE c.run_id = ? AND c.cluster_type = 'embedding' ORDER BY c.level, c.id",
        conn,
        params=(run_id,),
    )


def item_theme_ids(conn: sqlite3.Connection, run_id: str) -> pd.DataFrame:
    """Every item's theme per level in ``run_id``: ``item_id, level, theme_id`` (items left
    unplaced, or in a cluster not matched yet, are absent)."""
    return pd.read_sql_query(
        "SELECT m.item_id, m.level, t.theme_id FROM memberships AS m"
        " JOIN cluster_themes AS t ON t.cluster_id = m.cluster_id"
        " WHERE m.run_id = ? ORDER BY m.level, m.item_id",
        conn,
        params=(run_id,),
    )


def read_themes(conn: sqlite3.Connection) -> pd.DataFrame:
    """The ``themes`` table: every theme id with its level and life (first, last, ended run)."""
    return pd.read_sql_query(
        "SELECT theme_id, level, number, first_run_id, last_run_id, ended_run_id, created_at"
        " FROM themes ORDER BY level, number",
        conn,
    )


def write_run_themes(
    conn: sqlite3.Connection,
    run_id: str,
    rows: Iterable[ThemeRow],
    *,
    previous_run_id: str | None,
    clusters: int,
) -> int:
    """Store ``run_id``'s matching (replacing any earlier one) in one transaction.

    ``rows``: one :class:`ThemeRow` per cluster of the run (``clusters`` of them);
    they are read inside the transaction, so anything raised while producing them
    leaves the store as it was. Returns how many rows were written.
    """
    written = 0
    with transaction(conn):
        conn.execute("DELETE FROM cluster_themes WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM theme_runs WHERE run_id = ?", (run_id,))
        # themes no cluster holds any more (their runs re-clustered or deleted) go
        conn.execute(
            "DELETE FROM themes WHERE NOT EXISTS"
            " (SELECT 1 FROM cluster_themes AS c WHERE c.theme_id = themes.theme_id)"
        )
        for row in rows:
            conn.execute(
                "INSERT OR IGNORE INTO themes(theme_id, level, number, first_run_id, last_run_id)"
                " VALUES (?, ?, ?, ?, ?)",
                (row.theme_id, row.level, row.number, run_id, run_id),
            )
            conn.execute(
                "INSERT INTO cluster_themes(cluster_id, run_id, theme_id, previous_cluster_id,"
                " jaccard, member_jaccard, cosine) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    row.cluster_id,
                    run_id,
                    row.theme_id,
                    row.previous_cluster_id,
                    row.jaccard,
                    row.member_jaccard,
                    row.cosine,
                ),
            )
            written += 1
        conn.execute(
            "INSERT INTO theme_runs(run_id, seq, previous_run_id, clusters)"
            " VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM theme_runs), ?, ?)",
            (run_id, previous_run_id, clusters),
        )
        _refresh_lives(conn)
    return written


def _refresh_lives(conn: sqlite3.Connection) -> None:
    """Recompute every theme's first / last / ended run from the matched runs' order."""
    conn.execute(
        "UPDATE themes SET"
        " first_run_id = (SELECT c.run_id FROM cluster_themes AS c JOIN theme_runs AS r"
        "  ON r.run_id = c.run_id WHERE c.theme_id = themes.theme_id ORDER BY r.seq LIMIT 1),"
        " last_run_id = (SELECT c.run_id FROM cluster_themes AS c JOIN theme_runs AS r"
        "  ON r.run_id = c.run_id WHERE c.theme_id = themes.theme_id ORDER BY r.seq DESC LIMIT 1)"
    )
    conn.execute(
        "UPDATE themes SET ended_run_id = (SELECT r.run_id FROM theme_runs AS r"
        " WHERE r.seq > (SELECT seq FROM theme_runs WHERE run_id = themes.last_run_id)"
        " AND EXISTS (SELECT 1 FROM cluster_themes AS c WHERE c.run_id = r.run_id)"
        " ORDER BY r.seq LIMIT 1)"
    )
