"""Parquet files for pandas / DuckDB users, and the export's ``manifest.json``.

``items.parquet``: one row per item with its text, metadata (JSON text),
created_at, 2D position, the reference level columns and, per level, the
cluster id, name and (when the store keeps one) the membership/outlier score.
``clusters.parquet``: one row per cluster of the run with every stored column
(cards, keywords, quality figures) except binary vectors, plus the label
position (the chosen card's fields prefixed ``card_``). ``cards.parquet``: every
card of those clusters, all sources. ``SCHEMA_VERSION`` changes whenever a column
changes meaning or goes away.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from thememap.export.source import ExportData
from thememap.files import sha256_of, write_atomic, write_text_atomic

SCHEMA_VERSION = 1


def items_frame(data: ExportData) -> pd.DataFrame:
    """The items table as written to ``items.parquet``."""
    items = data.items.copy()
    names = dict(zip(data.clusters["id"], data.clusters["name"], strict=True))
    for level in data.levels:
        items[f"cluster_name_l{level}"] = items[f"cluster_id_l{level}"].map(
            lambda cid: names.get(int(cid)) if pd.notna(cid) else None
        )
    return items.rename(columns={"metadata": "metadata_json"})


def clusters_frame(data: ExportData) -> pd.DataFrame:
    """The clusters table as written to ``clusters.parquet`` (vectors left out)."""
    clusters = data.clusters.copy()
    binary = [
        column
        for column in clusters.columns
        if clusters[column].map(lambda v: isinstance(v, (bytes, bytearray, memoryview))).any()
    ]
    clusters = clusters.drop(columns=binary)
    # list columns: a list of strings keeps Parquet typed (ids or texts alike)
    for column in clusters.columns:
        if clusters[column].map(lambda v: isinstance(v, list)).any():
            clusters[column] = clusters[column].map(
                lambda v: [str(x) for x in v] if isinstance(v, list) else []
            )
    return clusters.rename(columns={"x": "label_x", "y": "label_y"})


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` as zstd Parquet, atomically."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def cards_frame(data: ExportData) -> pd.DataFrame:
    """Every card of the run's clusters, all sources (offline and LLM), as in the store."""
    cards = data.cards.copy()
    for column in ("keywords", "representative_ids"):
        if column in cards.columns:
            cards[column] = cards[column].map(lambda v: [str(x) for x in v])
    return cards


def write_parquet(data: ExportData, out_dir: Path) -> dict[str, Path]:
    """Write ``items.parquet``, ``clusters.parquet`` (and ``cards.parquet`` when there are
    cards) into ``out_dir`` atomically."""
    files = {
        "items.parquet": write_frame(items_frame(data), out_dir / "items.parquet"),
        "clusters.parquet": write_frame(clusters_frame(data), out_dir / "clusters.parquet"),
    }
    if not data.cards.empty:
        files["cards.parquet"] = write_frame(cards_frame(data), out_dir / "cards.parquet")
    return files


def write_manifest(
    out_dir: Path,
    files: dict[str, Path],
    *,
    run_id: str | None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """``manifest.json``: schema version, run, when, and each file's size and SHA-256."""
    try:
        version = metadata.version("thememap")
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed
        version = "unknown"
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "thememap_version": version,
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {
            name: {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
            for name, path in sorted(files.items())
        },
        **(extra or {}),
    }
    return write_text_atomic(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
