"""The data the map page reads: items as columns, clusters with their card and evidence.

Everything is plain JSON (``safe.json_for_script`` embeds it), columnar so that 100,000
items cost ~100 bytes each: coordinates, the user's id, the text, a date, the cluster
index per level, the nearest neighbours, and metadata fields to colour by.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from thememap.export.colours import PALETTE, UNPLACED_COLOR, cluster_colours
from thememap.export.edited_view import shown_view
from thememap.export.evidence import PhraseCoverage
from thememap.export.map_fields import metadata_dict, metadata_fields
from thememap.export.source import ExportData, card_value, theme_title

if TYPE_CHECKING:
    from thememap.params import Params

VIEW_QUANTILES = (0.005, 0.995)  # the first view frames these; far outliers do not set the zoom
VIEW_PADDING = 0.06  # share of the framed span added on each side


def view_range(values: np.ndarray) -> list[float] | None:
    """Axis range of the first view: robust quantiles of ``values`` plus a margin."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return None
    lo, hi = (float(v) for v in np.quantile(finite, VIEW_QUANTILES))
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return [round(lo - VIEW_PADDING * span, 4), round(hi + VIEW_PADDING * span, 4)]


def _iso_dates(values: pd.Series) -> list[str | None] | None:
    """created_at as 'YYYY-MM-DD' strings (None where missing); None when no item has one."""
    if values.isna().all():
        return None
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    if parsed.isna().all():
        return None
    return [d.strftime("%Y-%m-%d") if pd.notna(d) else None for d in parsed]


def _titles(metadata: pd.Series, title_field: str | None) -> list[str | None] | None:
    """The ``input.title_field`` of each item (None when unset or empty for all)."""
    if not title_field:
        return None
    titles = [metadata_dict(m).get(title_field) for m in metadata]
    out = [None if t is None or str(t).strip() == "" else str(t).strip() for t in titles]
    return out if any(out) else None


def _map_rows(data: ExportData, max_points: int | None, seed: int) -> np.ndarray:
    """Rows of ``data.items`` on the map: those with a position, sampled down to ``max_points``."""
    items = data.items[data.items["x"].notna() & data.items["y"].notna()]
    if max_points is not None and len(items) > max_points:
        items = items.sample(n=max_points, random_state=seed).sort_values("id")
    return np.asarray(data.items.index.get_indexer(items.index), dtype=np.int64)


def _neighbours(data: ExportData, rows: np.ndarray) -> dict[str, Any] | None:
    """Neighbour lists as map indices, flat (``k`` per item, -1 pads), or None."""
    if data.neighbours is None:
        return None
    k = data.neighbours.shape[1]
    index = np.full(len(data.items) + 1, -1, dtype=np.int64)  # row -> map index; -1 -> -1
    index[rows] = np.arange(len(rows))
    near = index[data.neighbours[rows]]  # -1 rows land on index[-1] == -1
    return {"k": int(k), "idx": near.ravel().tolist()}


def _cards(
    data: ExportData,
    rows: np.ndarray,
    texts: list[str],
    *,
    samples: int,
    text_chars: int,
    seed: int,
) -> list[dict[str, Any]]:
    clusters = data.clusters.reset_index(drop=True)
    position = {int(cid): i for i, cid in enumerate(clusters["id"])}
    colours = cluster_colours(clusters)
    item_ids = data.items["id"].to_numpy()
    map_index = {int(item_ids[r]): i for i, r in enumerate(rows)}
    row_of = {int(item_id): r for r, item_id in enumerate(item_ids)}
    members: dict[int, np.ndarray] = {}
    for lv in data.levels:
        column = data.items[f"cluster_id_l{lv}"]
        placed = column.notna().to_numpy()
        ids = column[placed].astype(int).to_numpy()
        where = np.flatnonzero(placed)
        order = np.argsort(ids, kind="stable")
        bounds = np.flatnonzero(np.diff(ids[order])) + 1
        for group in np.split(order, bounds):
            if len(group):
                members[int(ids[group[0]])] = where[group]
    coverage = PhraseCoverage(texts, seed=seed)
    cards = []
    for _, row in clusters.iterrows():
        cid = int(row["id"])
        strength = card_value(row, "strength")
        parent = row.get("parent_id")
        keywords = [str(k) for k in (card_value(row, "keywords") or [])][:12]
        mine = members.get(cid, np.empty(0, dtype=np.int64))
        scores = coverage.scores(keywords, mine)
        reps = _representatives(row, row_of, mine, k=samples)
        cards.append(
            {
                "level": int(row["level"]),
                "name": str(row["name"]),
                "title": theme_title(data, row),
                "summary": card_value(row, "summary"),
                "category": card_value(row, "category"),
                "strength": None if strength is None else float(strength),
                "size": int(row["comment_count"]),
                "keywords": keywords,
                "keyword_share": [s["share"] for s in scores],
                "keyword_lift": [s["lift"] for s in scores],
                "samples": [texts[r][:text_chars] for r in reps],
                "reps": [map_index.get(int(item_ids[r]), -1) for r in reps],
                "x": None if pd.isna(row["x"]) else round(float(row["x"]), 4),
                "y": None if pd.isna(row["y"]) else round(float(row["y"]), 4),
                "color": colours.get(cid, UNPLACED_COLOR),
                "parent": position.get(int(parent), -1) if pd.notna(parent) else -1,
            }
        )
    return cards


def _representatives(
    row: pd.Series, row_of: dict[int, int], members: np.ndarray, *, k: int
) -> list[int]:
    """Rows of the card's representative items (its stored ids), else its first members."""
    out: list[int] = []
    for rep in card_value(row, "representatives") or []:
        if isinstance(rep, (int, np.integer)) or (isinstance(rep, str) and rep.isdigit()):
            found = row_of.get(int(rep))
            if found is not None and found not in out:
                out.append(found)
    if not out:
        out = [int(r) for r in members[:k]]
    return out[:k]


def map_payload(
    data: ExportData,
    *,
    level: int = 1,
    text_chars: int = 300,
    full_text: bool = True,
    max_points: int | None = None,
    label_zoom: tuple[float, ...] = (3.0, 9.0),
    max_labels: int = 60,
    point_size: int = 4,
    samples: int = 5,
    seed: int = 0,
    title_field: str | None = None,
) -> dict[str, Any]:
    """The data the map page needs, as plain JSON-able values (columnar for size).

    ``text_chars`` is what hover, cards and lists show; with ``full_text`` each item's
    whole text is shipped too (search reads all of it, the item panel shows it). Clusters
    are shown as the run's edits say (:func:`~thememap.export.edited_view.shown_view`).
    """
    data = shown_view(data)
    rows = _map_rows(data, max_points, seed)
    texts = [str(t) for t in data.items["content"]]
    items = data.items.iloc[rows]
    clusters = data.clusters.reset_index(drop=True)
    position = {int(cid): i for i, cid in enumerate(clusters["id"])}
    columns = {
        str(lv): [
            position.get(int(c), -1) if pd.notna(c) else -1 for c in items[f"cluster_id_l{lv}"]
        ]
        for lv in data.levels
    }
    x = items["x"].to_numpy(dtype=float)
    y = items["y"].to_numpy(dtype=float)
    shown = [texts[r] if full_text else texts[r][:text_chars] for r in rows]
    return {
        "levels": data.levels,
        "options": {
            "level": level if level in data.levels else data.levels[0],
            "label_zoom": list(label_zoom),
            "max_labels": max_labels,
            "point_size": point_size,
            "text_chars": text_chars,
            "opacity": 0.75 if len(items) < 20_000 else 0.55,
            "unplaced_color": UNPLACED_COLOR,
            "highlight_color": "#ffd400",
            "palette": list(PALETTE),
            "view": {"x": view_range(x), "y": view_range(y)},
        },
        "items": {
            "x": [round(float(v), 4) for v in x],
            "y": [round(float(v), 4) for v in y],
            "id": ["" if pd.isna(v) else str(v) for v in items["external_id"]],
            "title": _titles(items["metadata"], title_field),
            "text": shown,
            "t": _iso_dates(items["created_at"]),
            "c": columns,
            "nb": _neighbours(data, rows),
            "fields": metadata_fields(
                items["metadata"], skip={title_field} if title_field else None
            ),
        },
        "clusters": _cards(data, rows, texts, samples=samples, text_chars=text_chars, seed=seed),
    }


def map_payload_for(
    data: ExportData, params: Params, *, level: int | None = None
) -> dict[str, Any]:
    """:func:`map_payload` with the options of ``params.export`` (and the title field)."""
    options = params.export
    return map_payload(
        data,
        level=level or options.map_level,
        text_chars=options.map_text_chars,
        full_text=options.map_full_text,
        max_points=options.map_max_points,
        label_zoom=tuple(options.map_label_zoom),
        max_labels=options.map_max_labels,
        seed=params.cluster.seed,
        title_field=params.input.title_field,
    )
