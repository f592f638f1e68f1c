"""Colours of the map: a palette hue per top-level theme, shades of it below."""

from __future__ import annotations

import colorsys
from typing import Any

import pandas as pd

# well-separated hues for level-1 themes (and for a metadata field's values)
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#e7ba52", "#637939", "#ad494a", "#3182bd", "#31a354",
    "#756bb1", "#e6550d", "#843c39", "#7b4173",
)  # fmt: skip
UNPLACED_COLOR = "#c8c8c8"


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
