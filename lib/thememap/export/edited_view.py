"""The export's clusters as a person's edits show them: merged themes as one cluster, a
split theme as its pieces.

Edits are an overlay (:mod:`thememap.cluster.edits`): the run's clusters and memberships
stay as the model made them, and ``edited_themes`` holds the run's themes as shown. This
module is the one place that turns an :class:`~thememap.export.source.ExportData` (the
run's clusters, each item's cluster per level) into the shown one:

* a merge: the items of every merged theme carry the keeper's cluster (its card, the
  summed size, one colour and label); the merged themes' sub-themes hang under it;
* a split: at the split theme's level its items carry the piece of the sub-theme they
  belong to, a cluster of its own (new cluster id) with that sub-theme's card.

The map, :func:`~thememap.export.themes.top_themes` and
:func:`~thememap.export.themes.theme_volume` read this view; the reference JSON, Parquet,
the CSV and the Embedding Atlas / datamapplot files keep the model's clusters (their ids
are the store's), with the edited names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from thememap.export.source import ExportData


@dataclass
class _Plan:
    """How the run's clusters become the shown ones (cluster ids throughout)."""

    merged_into: dict[int, int] = field(default_factory=dict)  # absorbed -> keeper
    # split cluster -> its pieces: (new cluster id, piece theme id, template cluster id,
    # the level+1 theme ids whose items form the piece)
    pieces: dict[int, list[tuple[int, str, int, list[str]]]] = field(default_factory=dict)
    shown_cluster: dict[str, int] = field(default_factory=dict)  # shown theme id -> cluster

    def changes(self) -> bool:
        return bool(self.merged_into or self.pieces)


def shown_view(data: ExportData) -> ExportData:
    """``data`` with clusters and item labels as the run's edits show them (see the module
    doc); ``data`` itself when no merge or split applies (or it is a shown view already)."""
    if data.edits_shown or data.edited_themes.empty:
        return data
    plan = _plan(data.clusters, data.edited_themes)
    if not plan.changes():
        return data
    clusters = _shown_clusters(data.clusters, data.edited_themes, plan)
    items = _shown_items(data.items, data.levels, clusters, plan)
    _merged_label_positions(items, clusters, set(plan.merged_into.values()))
    names = dict(data.edited_names)
    shown_names = dict(zip(data.edited_themes["theme_id"], data.edited_themes["name"], strict=True))
    for pieces in plan.pieces.values():
        for cid, piece, _, _ in pieces:
            names[cid] = str(shown_names[piece])
    return dataclasses.replace(
        data, clusters=clusters, items=items, edited_names=names, edits_shown=True
    )


def _plan(clusters: pd.DataFrame, edited: pd.DataFrame) -> _Plan:
    known = clusters[clusters["theme_id"].notna()]
    cluster_of = {str(t): int(c) for t, c in zip(known["theme_id"], known["id"], strict=True)}
    plan = _Plan()
    next_id = int(clusters["id"].max()) + 1 if len(clusters) else 1
    for theme, sources in zip(edited["theme_id"], edited["sources"], strict=True):
        theme = str(theme)
        if "/" in theme:  # a split piece: "<split theme>/<sub-theme>"
            split, child = theme.split("/", 1)
            if split not in cluster_of or child not in cluster_of:
                continue
            piece = (next_id, theme, cluster_of[child], [str(s) for s in sources])
            plan.pieces.setdefault(cluster_of[split], []).append(piece)
            plan.shown_cluster[theme] = next_id
            next_id += 1
            continue
        if theme not in cluster_of:
            continue
        plan.shown_cluster[theme] = cluster_of[theme]
        for source in sources:  # a merge: every other source goes into the keeper
            if str(source) != theme and str(source) in cluster_of:
                plan.merged_into[cluster_of[str(source)]] = cluster_of[theme]
    return plan


def _shown_clusters(clusters: pd.DataFrame, edited: pd.DataFrame, plan: _Plan) -> pd.DataFrame:
    """The clusters table as shown: absorbed clusters gone, each split cluster replaced (in
    its place, so that other themes keep their colours) by its pieces."""
    rows = clusters.set_index("id", drop=False)
    level_of = {int(c): int(lv) for c, lv in zip(clusters["id"], clusters["level"], strict=True)}
    parts = []
    for cid in clusters["id"]:
        cid = int(cid)
        if cid in plan.merged_into:
            continue
        if cid not in plan.pieces:
            parts.append(rows.loc[[cid]])
            continue
        level = level_of[cid]
        for new_id, piece, template, _ in plan.pieces[cid]:
            row = rows.loc[[template]].copy()
            row = row.assign(id=new_id, level=level, theme_id=piece)
            parts.append(row)
    out = pd.concat(parts).reset_index(drop=True).astype({"id": clusters["id"].dtype})
    # sizes and parents as the edited themes say (a keeper's size is the merged sum)
    shown = edited.set_index("theme_id")
    counts = out["theme_id"].map(shown["comment_count"])
    out["comment_count"] = counts.fillna(out["comment_count"]).astype(
        clusters["comment_count"].dtype
    )
    parents = out["theme_id"].map(shown["parent_theme_id"])
    by_theme = out["theme_id"].isin(shown.index)
    via_theme = parents.map(lambda p: plan.shown_cluster.get(p) if isinstance(p, str) else np.nan)
    via_merge = out["parent_id"].map(
        lambda p: plan.merged_into.get(int(p), p) if pd.notna(p) else p
    )
    out["parent_id"] = via_theme.where(by_theme, via_merge).astype(clusters["parent_id"].dtype)
    return out


def _shown_items(
    items: pd.DataFrame, levels: list[int], clusters: pd.DataFrame, plan: _Plan
) -> pd.DataFrame:
    """``cluster_id_lN`` / ``theme_id_lN`` of every item as shown (the rest unchanged)."""
    out = items.copy()
    theme_of = dict(zip(clusters["id"], clusters["theme_id"], strict=True))
    for level in levels:
        column = f"cluster_id_l{level}"
        ids = out[column].map(lambda c: plan.merged_into.get(int(c), c) if pd.notna(c) else c)
        below = items.get(f"theme_id_l{level + 1}")
        for split, pieces in plan.pieces.items():
            at = items[column] == split
            if not at.fillna(False).any() or below is None:
                continue
            piece_of = {source: cid for cid, _, _, sources in pieces for source in sources}
            ids = ids.where(~at.fillna(False), below.map(piece_of))
        out[column] = ids.astype("Int64")
        out[f"theme_id_l{level}"] = (
            out[column].map(lambda c: theme_of.get(int(c)) if pd.notna(c) else None)
        ).astype("string")
    return out


def _merged_label_positions(items: pd.DataFrame, clusters: pd.DataFrame, keepers: set[int]) -> None:
    """A keeper's label moves to the member nearest its members' median (all merged items),
    so that it sits inside the merged cluster; in place."""
    coords = items[["x", "y"]].to_numpy(dtype=float)
    finite = np.isfinite(coords).all(axis=1)
    at: Mapping[int, int] = {int(c): i for i, c in enumerate(clusters["id"])}
    levels = clusters["level"].to_numpy(dtype=int)
    for cid in keepers:
        row = at.get(cid)
        if row is None:
            continue
        column = items[f"cluster_id_l{levels[row]}"]
        mine = coords[(column == cid).fillna(False).to_numpy() & finite]
        if not len(mine):
            continue
        median = np.median(mine, axis=0)
        x, y = mine[np.argmin(((mine - median) ** 2).sum(axis=1))]
        clusters.at[row, "x"], clusters.at[row, "y"] = float(x), float(y)
