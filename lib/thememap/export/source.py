"""Read what the export needs from the store: items, the run's clusters, their cards.

This is the one module that knows the cluster/card tables' layout. It reads
columns by name (``PRAGMA table_info``), so a column that a later migration adds
shows up in the Parquet export without changes here, and a column that is not
there yet (say, cards before 03_describe ran) is simply empty.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from thememap.errors import StoreError
from thememap.store.view import check_clustering_current

log = logging.getLogger(__name__)

LEVEL_COLUMNS = {1: "embedding_cluster_l1", 2: "embedding_cluster_l2", 3: "embedding_cluster_l3"}
# membership columns kept per item and level when the store has them
_SCORE_COLUMNS = ("strength", "outlier_score", "placed_from_noise", "score")
# card columns: where each card field may live (first found wins)
# (clusters.llm_* are the chosen card as 03_describe filled them; card_* come from the
# chosen row of cluster_cards; plain keywords/representatives are 02_cluster's)
CARD_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("llm_pattern_name", "card_pattern_name"),
    "summary": ("llm_description", "card_summary"),
    "category": ("llm_category", "card_category"),
    "strength": ("strength_score", "card_strength"),
    "keywords": ("card_keywords", "keywords"),
    "representatives": ("card_representative_ids", "representatives"),
}
_LIST_COLUMNS = ("keywords", "representatives", "card_keywords", "card_representative_ids")


@dataclass
class ExportData:
    """Items and clusters of one run, as DataFrames (one row per item / cluster).

    ``items`` has ``id, external_id, content, metadata, created_at, x, y``, the
    reference columns ``embedding_cluster_l1..l3`` as stored, ``cluster_id_l1..l3``
    (the ``clusters.id`` of the item's cluster at each level, or NA) and, when the
    store keeps them, the membership figures per level (``strength_lN``,
    ``outlier_score_lN``, ``placed_from_noise_lN``). ``clusters`` has every column of the
    clusters table (plus a joined card table) and ``x, y``: the 2D position of the
    cluster's label on the map. ``cards``: every card of those clusters (all
    sources); ``quality``: label-quality figures per (source, level), when stored.
    ``neighbours``: ``(len(items), k)`` rows of each item's nearest items by embedding
    cosine (-1 pads) and ``neighbour_distances`` their cosine distances, when
    :func:`thememap.export.neighbours.attach_neighbours` filled them.
    """

    run_id: str | None
    items: pd.DataFrame
    clusters: pd.DataFrame
    levels: list[int]
    cards: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    neighbours: np.ndarray | None = None
    neighbour_distances: np.ndarray | None = None


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """Column names of ``table`` (empty when there is no such table or view)."""
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def cluster_run_id(conn: sqlite3.Connection, run_id: str | None = None) -> str | None:
    """The run whose clusters are exported: ``run_id`` if it has clusters, else the latest that has."""
    columns = table_columns(conn, "clusters")
    if not columns:
        raise StoreError("the store has no clusters table yet: run 02_cluster first")
    if "run_id" not in columns:
        return None
    if (
        run_id
        and conn.execute("SELECT 1 FROM clusters WHERE run_id = ? LIMIT 1", (run_id,)).fetchone()
    ):
        return run_id
    row = conn.execute(
        "SELECT c.run_id FROM clusters AS c LEFT JOIN runs AS r ON r.id = c.run_id"
        " GROUP BY c.run_id ORDER BY MAX(r.started_at) DESC, MAX(c.id) DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise StoreError("the store has no clusters yet: run 02_cluster first")
    return str(row[0])


def _json_list(value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, (bytes, str)):
        try:
            parsed = json.loads(value)
        except (ValueError, TypeError):
            return [value] if isinstance(value, str) and value else []
        return parsed if isinstance(parsed, list) else [parsed]
    return [value]


def read_cards(conn: sqlite3.Connection, cluster_ids: list[int]) -> pd.DataFrame:
    """Every card (all sources) of these clusters; empty when 03_describe has not run."""
    if "cluster_id" not in table_columns(conn, "cluster_cards") or not cluster_ids:
        return pd.DataFrame()
    cards = pd.read_sql_query("SELECT * FROM cluster_cards ORDER BY cluster_id, source", conn)
    cards = cards[cards["cluster_id"].isin(set(cluster_ids))].reset_index(drop=True)
    for column in ("keywords", "representative_ids"):
        if column in cards.columns:
            cards[column] = cards[column].map(_json_list)
    return cards


def chosen_cards(cards: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """One card per cluster: the one 03_describe chose for the reference columns (same name),
    else a working LLM card, else the offline card, else a failed one."""
    if cards.empty:
        return cards
    chosen_name = dict(
        zip(clusters["id"], clusters.get("llm_pattern_name", pd.Series()), strict=False)
    )
    ok = (
        cards["failure"].isna()
        if "failure" in cards.columns
        else pd.Series(True, index=cards.index)
    )
    same = cards["pattern_name"] == cards["cluster_id"].map(chosen_name)
    rank = np.where(
        ok & same, 0, np.where(ok & (cards["source"] != "offline"), 1, np.where(ok, 2, 3))
    )
    order = cards.assign(_rank=rank).sort_values(["cluster_id", "_rank", "source"])
    return order.drop_duplicates("cluster_id").drop(columns="_rank").reset_index(drop=True)


def read_quality(conn: sqlite3.Connection, run_id: str | None) -> pd.DataFrame:
    """Label-quality figures of a cluster run, one row per (source, level); may be empty."""
    if run_id is None or "figures" not in table_columns(conn, "card_quality"):
        return pd.DataFrame()
    rows = conn.execute(
        "SELECT source, level, figures FROM card_quality WHERE cluster_run_id = ?"
        " ORDER BY source, level",
        (run_id,),
    ).fetchall()
    return pd.DataFrame([{"source": r[0], **json.loads(r[2]), "level": r[1]} for r in rows])


def _read_clusters(
    conn: sqlite3.Connection, run_id: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    where, args = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
    clusters = pd.read_sql_query(
        f"SELECT * FROM clusters {where} ORDER BY level, comment_count DESC, id", conn, params=args
    )
    all_cards = read_cards(conn, clusters["id"].tolist())
    cards = chosen_cards(all_cards, clusters)
    if not cards.empty:
        cards = cards.rename(columns={c: f"card_{c}" for c in cards.columns if c != "cluster_id"})
        clusters = clusters.merge(cards, how="left", left_on="id", right_on="cluster_id").drop(
            columns="cluster_id"
        )
    for column in _LIST_COLUMNS:
        if column in clusters.columns:
            clusters[column] = clusters[column].map(_json_list)
    return clusters, all_cards


def _item_cluster_ids(
    conn: sqlite3.Connection,
    items: pd.DataFrame,
    clusters: pd.DataFrame,
    levels: list[int],
    run_id: str | None,
) -> None:
    """Add ``cluster_id_lN`` (and the membership scores per level) to ``items``, in place."""
    member_columns = table_columns(conn, "memberships")
    scores = [c for c in _SCORE_COLUMNS if c in member_columns]
    members = pd.DataFrame()
    if {"item_id", "cluster_id", "level"} <= set(member_columns) and len(clusters):
        where, args = ("WHERE run_id = ?", (run_id,)) if "run_id" in member_columns else ("", ())
        members = pd.read_sql_query(
            f"SELECT item_id, level, cluster_id{''.join(', ' + c for c in scores)}"
            f" FROM memberships {where}",
            conn,
            params=args,
        )
    if len(members):  # this run's memberships are the authority when present
        for level in levels:
            part = members[members["level"] == level].drop_duplicates("item_id")
            mapping = part.set_index("item_id")
            items[f"cluster_id_l{level}"] = items["id"].map(mapping["cluster_id"]).astype("Int64")
            for column in scores:
                items[f"{column}_l{level}"] = items["id"].map(mapping[column]).astype("Float64")
        return
    # no memberships table: the reference columns hold the label number of a cluster
    # named "L<level>_<label>" (the reference's convention) or else its clusters.id
    for level in levels:
        raw = items[LEVEL_COLUMNS[level]]
        at_level = clusters[clusters["level"] == level]
        by_name = {name: cid for name, cid in zip(at_level["name"], at_level["id"], strict=True)}
        via_name = raw.map(
            lambda v, lv=level, names=by_name: names.get(f"L{lv}_{int(v)}") if pd.notna(v) else None
        )
        if via_name.notna().sum() == raw.notna().sum():
            items[f"cluster_id_l{level}"] = via_name.astype("Int64")
        else:
            known = raw.where(raw.isin(set(at_level["id"].tolist())))
            items[f"cluster_id_l{level}"] = known.astype("Int64")


def _label_positions(items: pd.DataFrame, clusters: pd.DataFrame, levels: list[int]) -> None:
    """2D label position per cluster: the stored one (02_cluster's label anchor), else the
    member nearest the members' median (so the label sits inside the cluster)."""
    stored_x = clusters["x"] if "x" in clusters.columns else pd.Series(np.nan, index=clusters.index)
    stored_y = clusters["y"] if "y" in clusters.columns else pd.Series(np.nan, index=clusters.index)
    xs = np.full(len(clusters), np.nan)
    ys = np.full(len(clusters), np.nan)
    index = {cid: i for i, cid in enumerate(clusters["id"].tolist())}
    coords = items[["x", "y"]].to_numpy(dtype=float)
    for level in levels:
        column = items[f"cluster_id_l{level}"]
        valid = column.notna().to_numpy() & np.isfinite(coords).all(axis=1)
        if not valid.any():
            continue
        ids = column[valid].astype(int).to_numpy()
        pts = coords[valid]
        order = np.argsort(ids, kind="stable")
        ids, pts = ids[order], pts[order]
        bounds = np.flatnonzero(np.diff(ids)) + 1
        for group_ids, group in zip(np.split(ids, bounds), np.split(pts, bounds), strict=True):
            row = index.get(int(group_ids[0]))
            if row is None:
                continue
            median = np.median(group, axis=0)
            nearest = group[np.argmin(((group - median) ** 2).sum(axis=1))]
            xs[row], ys[row] = nearest
    have = stored_x.notna().to_numpy() & stored_y.notna().to_numpy()
    xs[have] = stored_x.to_numpy(dtype=float)[have]
    ys[have] = stored_y.to_numpy(dtype=float)[have]
    clusters["x"] = xs
    clusters["y"] = ys


def load_export_data(conn: sqlite3.Connection, *, run_id: str | None = None) -> ExportData:
    """Items and the clusters of ``run_id`` (or of the latest clustered run) from the store."""
    run = cluster_run_id(conn, run_id)
    if run_id and run != run_id:
        log.info("run %s has no clusters of its own; exporting those of run %s", run_id, run)
    if run is not None:
        # never export a clustering of other items than the current ones (01 -> 04 without 02)
        check_clustering_current(conn, run)
    clusters, cards = _read_clusters(conn, run)
    items = pd.read_sql_query(
        "SELECT id, external_id, content, metadata, created_at, umap_x AS x, umap_y AS y, "
        + ", ".join(LEVEL_COLUMNS.values())
        + " FROM items ORDER BY id",
        conn,
    )
    for column in LEVEL_COLUMNS.values():
        items[column] = items[column].astype("Int64")
    levels = sorted(int(v) for v in clusters["level"].unique()) if len(clusters) else [1, 2, 3]
    levels = [lv for lv in levels if lv in LEVEL_COLUMNS]
    _item_cluster_ids(conn, items, clusters, levels, run)
    _label_positions(items, clusters, levels)
    return ExportData(
        run_id=run,
        items=items,
        clusters=clusters,
        levels=levels,
        cards=cards,
        quality=read_quality(conn, run),
    )


def card_value(row: pd.Series | dict[str, Any], field: str) -> Any:
    """A card field of one cluster row, from whichever column holds it (None if none)."""
    for column in CARD_FIELDS[field]:
        value = row.get(column)
        if value is None:
            continue
        if isinstance(value, float) and np.isnan(value):
            continue
        if isinstance(value, list) and not value:
            continue
        return value
    return None
