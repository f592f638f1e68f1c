"""What the export needs from the store, as DataFrames: items, the run's clusters, their cards.

The reading is the store's (:mod:`thememap.store.items`, ``clusters``, ``cards``);
this module joins it: each item's cluster per level, the chosen card of each
cluster (:func:`thememap.store.cards.shown_cards`, the one rule) and the label
positions. Every column of the clusters table is kept, so a column that a later
migration adds shows up in the Parquet export without changes here.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from thememap.store.cards import read_quality, read_stored_cards, shown_cards
from thememap.store.clusters import cluster_table, exported_cluster_run, read_memberships
from thememap.store.items import LEVEL_COLUMNS, read_items
from thememap.store.theme_edits import edited_names, read_edited_themes
from thememap.store.themes import run_theme_ids
from thememap.store.view import check_clustering_current

log = logging.getLogger(__name__)

# membership columns kept per item and level
_SCORE_COLUMNS = ("strength", "outlier_score", "placed_from_noise")
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
    (the ``clusters.id`` of the item's cluster at each level, or NA), ``theme_id_l1..l3``
    (its stable theme id, :mod:`thememap.cluster.identity`) and, when the store keeps
    them, the membership figures per level (``strength_lN``,
    ``outlier_score_lN``, ``placed_from_noise_lN``). ``clusters`` has every column of the
    clusters table (plus a joined card table), ``theme_id`` and ``x, y``: the 2D position
    of the cluster's label on the map. ``cards``: every card of those clusters (all
    sources); ``quality``: label-quality figures per (source, level), when stored.
    ``neighbours``: ``(len(items), k)`` rows of each item's nearest items by embedding
    cosine (-1 pads) and ``neighbour_distances`` their cosine distances, when
    :func:`thememap.export.neighbours.attach_neighbours` filled them. ``edited_names``:
    cluster id -> the name a person's edit gave its theme (:mod:`thememap.cluster.edits`);
    ``edited_themes``: the run's themes as its edits show them
    (:func:`thememap.store.theme_edits.read_edited_themes`, empty without edits).
    ``edits_shown``: the clusters and item labels already follow merges and splits
    (:func:`thememap.export.edited_view.shown_view` made this data).
    """

    run_id: str | None
    items: pd.DataFrame
    clusters: pd.DataFrame
    levels: list[int]
    cards: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    neighbours: np.ndarray | None = None
    neighbour_distances: np.ndarray | None = None
    edited_names: dict[int, str] = field(default_factory=dict)
    edited_themes: pd.DataFrame = field(default_factory=pd.DataFrame)
    edits_shown: bool = False


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


def _read_clusters(conn: sqlite3.Connection, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    clusters = cluster_table(conn, run_id)
    themes = clusters["id"].map(run_theme_ids(conn, run_id)).astype("string")
    clusters.insert(1, "theme_id", themes)
    all_cards = read_stored_cards(conn, run_id)
    cards = shown_cards(all_cards, shown_names(clusters))
    if not cards.empty:
        cards = cards.rename(columns={c: f"card_{c}" for c in cards.columns if c != "cluster_id"})
        clusters = clusters.merge(cards, how="left", left_on="id", right_on="cluster_id").drop(
            columns="cluster_id"
        )
    for column in _LIST_COLUMNS:
        if column in clusters.columns:
            clusters[column] = clusters[column].map(_json_list)
    return clusters, all_cards


def shown_names(clusters: pd.DataFrame) -> dict[int, object]:
    """Cluster id -> the name its reference columns show (what :func:`shown_cards` reads back)."""
    return dict(zip(clusters["id"], clusters["llm_pattern_name"], strict=True))


def _item_cluster_ids(
    conn: sqlite3.Connection,
    items: pd.DataFrame,
    clusters: pd.DataFrame,
    levels: list[int],
    run_id: str,
) -> None:
    """Add ``cluster_id_lN`` (and the membership scores per level) to ``items``, in place."""
    members = pd.DataFrame()
    if len(clusters):
        members = read_memberships(conn, run_id, check_current=False)
    if len(members):  # this run's memberships are the authority when present
        for level in levels:
            part = members[members["level"] == level].drop_duplicates("item_id")
            mapping = part.set_index("item_id")
            items[f"cluster_id_l{level}"] = items["id"].map(mapping["cluster_id"]).astype("Int64")
            for column in _SCORE_COLUMNS:
                items[f"{column}_l{level}"] = items["id"].map(mapping[column]).astype("Float64")
        return
    # no memberships (a store filled as the reference did): the reference columns hold the
    # label number of a cluster named "L<level>_<label>" (the reference's convention) or
    # else its clusters.id
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


def _item_theme_ids(items: pd.DataFrame, clusters: pd.DataFrame, levels: list[int]) -> None:
    """Add ``theme_id_lN`` (the theme of the item's cluster at each level) to ``items``."""
    themes = dict(zip(clusters["id"], clusters["theme_id"], strict=True))
    for level in levels:
        ids = items[f"cluster_id_l{level}"]
        items[f"theme_id_l{level}"] = ids.map(
            lambda c: themes.get(int(c)) if pd.notna(c) else None
        ).astype("string")


def _label_positions(items: pd.DataFrame, clusters: pd.DataFrame, levels: list[int]) -> None:
    """2D label position per cluster: the stored one (02_cluster's label anchor), else the
    member nearest the members' median (so the label sits inside the cluster)."""
    stored_x, stored_y = clusters["x"], clusters["y"]
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
    run = exported_cluster_run(conn, run_id)
    if run_id and run != run_id:
        log.info("run %s has no clusters of its own; exporting those of run %s", run_id, run)
    # never export a clustering of other items than the current ones (01 -> 04 without 02)
    check_clustering_current(conn, run)
    clusters, cards = _read_clusters(conn, run)
    items = read_items(conn)
    levels = sorted(int(v) for v in clusters["level"].unique()) if len(clusters) else [1, 2, 3]
    levels = [lv for lv in levels if lv in LEVEL_COLUMNS]
    _item_cluster_ids(conn, items, clusters, levels, run)
    _item_theme_ids(items, clusters, levels)
    _label_positions(items, clusters, levels)
    edited = read_edited_themes(conn, run)
    return ExportData(
        run_id=run,
        items=items,
        clusters=clusters,
        levels=levels,
        cards=cards,
        quality=read_quality(conn, run),
        edited_names=_edited_names(clusters, edited),
        edited_themes=edited,
    )


def _edited_names(clusters: pd.DataFrame, shown: pd.DataFrame) -> dict[int, str]:
    """Cluster id -> the shown name of its theme, for the themes an applied edit touched."""
    by_theme = edited_names(shown)
    return {
        int(cid): by_theme[str(t)]
        for cid, t in zip(clusters["id"], clusters["theme_id"], strict=True)
        if not pd.isna(t) and str(t) in by_theme
    }


def theme_names(data: ExportData) -> dict[int, str]:
    """Cluster id -> its shown name (:func:`theme_title`), for every cluster of the run."""
    return {int(row["id"]): theme_title(data, row) for _, row in data.clusters.iterrows()}


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


def theme_title(data: ExportData, row: pd.Series | dict[str, Any]) -> str:
    """A cluster's shown name: the one a person's edit gave its theme, else its card's
    title, else the cluster's name."""
    edited = data.edited_names.get(int(row["id"]))
    return str(edited or card_value(row, "title") or row["name"])
