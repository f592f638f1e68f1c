"""Params of the 04_export step."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from thememap.params_base import StrictModel


class ExportParams(StrictModel):
    """Where and how results are exported, and how the interactive map looks."""

    out_dir: Path = Field(
        Path("exports"),
        description=(
            "folder for items.json, clusters.json (the reference visualizer's format), "
            "items/clusters.parquet, map.html, items_themes.csv, changes.csv, embedding_atlas/, "
            "datamapplot/ and manifest.json; point it at "
            "visualizer/public/data to feed the reference's Next.js visualizer directly"
        ),
    )
    reference_json: bool = Field(True, description="write items.json and clusters.json")
    parquet: bool = Field(True, description="write items.parquet and clusters.parquet")
    map: bool = Field(True, description="write map.html (and show it in the notebook)")
    items_csv: bool = Field(
        True, description="write items_themes.csv: each item's id, text and theme per level"
    )
    embedding_atlas: bool = Field(
        True,
        description="write embedding_atlas/ (items + labels parquet) for Apple's Embedding Atlas",
    )
    datamapplot: bool = Field(
        True, description="write datamapplot/ (coords.npy, labels.npz) for datamapplot"
    )
    map_level: int = Field(1, ge=1, le=3, description="level the map colours items by at first")
    map_text_chars: int = Field(
        300, ge=20, le=2000, description="item text shown per point in hover, cards and lists"
    )
    map_full_text: bool = Field(
        True,
        description="ship each item's whole text in map.html (search reads all of it, the "
        "item panel shows it); false: only the first map_text_chars (smaller pages)",
    )
    map_neighbours: int = Field(
        10,
        ge=0,
        le=50,
        description="nearest items by embedding kept per item for 'more like this' (0: off)",
    )
    map_max_points: int | None = Field(
        200_000, gt=0, description="sample this many items for the map when there are more"
    )
    map_label_zoom: list[float] = Field(
        [3.0, 9.0], description="zoom factors at which labels switch to level 2, then level 3"
    )
    map_max_labels: int = Field(60, ge=1, le=1000, description="most labels shown at once")
    map_height: int = Field(680, ge=200, le=3000, description="map height in the notebook (px)")
    time_bin: Literal["auto", "D", "W", "M", "Q", "Y"] = Field(
        "auto", description="bin width of the themes-over-time chart (auto: ~12-60 bins)"
    )
    top_themes: int = Field(15, ge=1, description="rows in the notebook's top-themes table")

    @field_validator("map_label_zoom")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(value)) or any(v <= 1 for v in value):
            raise ValueError("zoom factors must be > 1 and increasing, e.g. [3, 9]")
        return value
