"""The interactive map: one self-contained HTML page (plotly.js inlined, no network).

The page draws every item with plotly's WebGL scatter, coloured by a chosen
level; cluster names sit at their clusters and switch from level 1 to 3 as
you zoom in, placed largest first so that none overlap; hovering an item
shows its text; clicking a name (or a point) opens the cluster's card; a
search box highlights matching items; category and date filters hide the rest.

The same page is written as a standalone file and shown in notebooks inside an
``<iframe srcdoc>``, which works alike in JupyterLab and in the nbconvert HTML
report opened from disk (it needs nothing from the notebook page).
"""

from __future__ import annotations

import colorsys
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thememap.export.safe import esc, json_for_script, srcdoc_iframe
from thememap.export.source import ExportData, card_value
from thememap.files import write_text_atomic

# well-separated hues for level-1 themes; finer levels use shades of their level-1 hue
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#e7ba52", "#637939", "#ad494a", "#3182bd", "#31a354",
    "#756bb1", "#e6550d", "#843c39", "#7b4173",
)  # fmt: skip
UNPLACED_COLOR = "#c8c8c8"


@cache
def _asset(name: str) -> str:
    return resources.files("thememap.export").joinpath("assets", name).read_text(encoding="utf-8")


@cache
def plotly_js() -> str:
    """plotly.js from the installed plotly package (inlined; never a CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _shade(hex_color: str, rank: int, count: int) -> str:
    """A lighter or darker shade of ``hex_color`` for child ``rank`` of ``count``."""
    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    if count > 1:
        lightness = min(0.82, max(0.22, lightness + (rank / (count - 1) - 0.5) * 0.45))
    r, g, b = colorsys.hls_to_rgb(h, lightness, s)
    return "#{:02x}{:02x}{:02x}".format(*(round(v * 255) for v in (r, g, b)))


def cluster_colours(clusters: pd.DataFrame) -> dict[int, str]:
    """Colour per cluster id: a palette hue per top-level theme, shades below it."""
    colours: dict[int, str] = {}
    parents = dict(zip(clusters["id"], clusters["parent_id"], strict=True))
    levels = sorted(clusters["level"].unique()) if len(clusters) else []
    for depth, level in enumerate(levels):
        at_level = clusters[clusters["level"] == level]
        if depth == 0:
            for rank, cid in enumerate(at_level["id"]):
                colours[int(cid)] = PALETTE[rank % len(PALETTE)]
            continue
        siblings: dict[Any, list[int]] = {}
        for cid in at_level["id"]:
            siblings.setdefault(parents.get(cid), []).append(int(cid))
        for parent, kids in siblings.items():
            base = colours.get(int(parent)) if pd.notna(parent) else None
            for rank, cid in enumerate(kids):
                colours[cid] = (
                    _shade(base, rank, len(kids)) if base else PALETTE[rank % len(PALETTE)]
                )
    return colours


def _iso_dates(values: pd.Series) -> list[str | None] | None:
    """created_at as 'YYYY-MM-DD' strings (None where missing); None when no item has one."""
    if values.isna().all():
        return None
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    if parsed.isna().all():
        return None
    return [d.strftime("%Y-%m-%d") if pd.notna(d) else None for d in parsed]


def _samples(
    row: pd.Series, texts: dict[int, str], members: list[int], *, k: int, chars: int
) -> list[str]:
    reps = card_value(row, "representatives") or []
    out: list[str] = []
    for rep in reps:
        if isinstance(rep, (int, np.integer)) or (isinstance(rep, str) and rep.isdigit()):
            text = texts.get(int(rep))
            if text is not None:
                out.append(text)
                continue
        out.append(str(rep))
    if not out:
        out = [texts[i] for i in members[:k] if i in texts]
    return [s[:chars] for s in out[:k]]


def map_payload(
    data: ExportData,
    *,
    level: int = 1,
    text_chars: int = 300,
    max_points: int | None = None,
    label_zoom: tuple[float, ...] = (3.0, 9.0),
    max_labels: int = 60,
    point_size: int = 4,
    samples: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """The data the map page needs, as plain JSON-able values (columnar for size)."""
    items = data.items[data.items["x"].notna() & data.items["y"].notna()]
    if max_points is not None and len(items) > max_points:
        items = items.sample(n=max_points, random_state=seed).sort_values("id")
    clusters = data.clusters.reset_index(drop=True)
    position = {int(cid): i for i, cid in enumerate(clusters["id"])}
    colours = cluster_colours(clusters)
    texts = {
        int(i): str(t)[:text_chars] for i, t in zip(items["id"], items["content"], strict=True)
    }
    columns: dict[str, list[int]] = {}
    members: dict[int, list[int]] = {}
    for lv in data.levels:
        ids = items[f"cluster_id_l{lv}"]
        columns[str(lv)] = [position.get(int(c), -1) if pd.notna(c) else -1 for c in ids]
        for item_id, cid in zip(items["id"], ids, strict=True):
            if pd.notna(cid):
                members.setdefault(int(cid), []).append(int(item_id))
    cards = []
    for _, row in clusters.iterrows():
        cid = int(row["id"])
        strength = card_value(row, "strength")
        parent = row.get("parent_id")
        cards.append(
            {
                "level": int(row["level"]),
                "name": str(row["name"]),
                "title": str(card_value(row, "title") or row["name"]),
                "summary": card_value(row, "summary"),
                "category": card_value(row, "category"),
                "strength": None if strength is None else float(strength),
                "size": int(row["comment_count"]),
                "keywords": [str(k) for k in (card_value(row, "keywords") or [])][:12],
                "samples": _samples(row, texts, members.get(cid, []), k=samples, chars=text_chars),
                "x": None if pd.isna(row["x"]) else round(float(row["x"]), 4),
                "y": None if pd.isna(row["y"]) else round(float(row["y"]), 4),
                "color": colours.get(cid, UNPLACED_COLOR),
                "parent": position.get(int(parent), -1) if pd.notna(parent) else -1,
            }
        )
    return {
        "levels": data.levels,
        "options": {
            "level": level if level in data.levels else data.levels[0],
            "label_zoom": list(label_zoom),
            "max_labels": max_labels,
            "point_size": point_size,
            "opacity": 0.75 if len(items) < 20_000 else 0.55,
            "unplaced_color": UNPLACED_COLOR,
            "highlight_color": "#ffd400",
        },
        "items": {
            "x": [round(float(v), 4) for v in items["x"]],
            "y": [round(float(v), 4) for v in items["y"]],
            "text": [texts[int(i)] for i in items["id"]],
            "t": _iso_dates(items["created_at"]),
            "c": columns,
        },
        "clusters": cards,
    }


_PLACEHOLDER = re.compile(r"@@(TITLE|CSS|PLOTLYJS|DATA|APP)@@")


def map_html(payload: dict[str, Any], *, title: str = "thememap") -> str:
    """The whole map page as one HTML string (plotly.js, data and code inlined)."""
    parts = {
        "TITLE": esc(title),
        "CSS": _asset("map.css"),
        "PLOTLYJS": plotly_js(),
        "DATA": json_for_script(payload),
        "APP": _asset("map.js"),
    }
    # one pass, so text inside the data can never be taken for a placeholder
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], _asset("map.html.tpl"))


def write_map(payload: dict[str, Any], path: Path, *, title: str = "thememap") -> Path:
    """Write the standalone map page to ``path`` (atomically)."""
    return write_text_atomic(path, map_html(payload, title=title))


class MapView:
    """The map for a notebook cell: shows itself in an ``<iframe srcdoc>`` (Jupyter's HTML output)."""

    def __init__(self, page: str, *, height: int = 640) -> None:
        self.page = page
        self.height = height

    def _repr_html_(self) -> str:
        return srcdoc_iframe(self.page, height=self.height, title="thememap map")
