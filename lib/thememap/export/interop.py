"""The same themes for other tools: a CSV of items, Embedding Atlas, datamapplot.

``items_themes.csv``: one row per item: the user's id, text, date, 2D position and, per
level, the theme's name, ``cluster_id`` (the ``id`` of clusters.json / clusters.parquet)
and ``theme_id`` (the stable id that survives re-runs).
Cells a spreadsheet would run as formulas get a leading ``'`` (``safe.spreadsheet_safe``).

``embedding_atlas/``: ``items.parquet`` (text, x, y, theme columns, metadata, and each
item's nearest neighbours in Embedding Atlas's ``{"ids", "distances"}`` form) and
``labels.parquet`` (the theme names at their anchors: x, y, text, level, priority), opened
with the command in ``embedding_atlas/README.md``.

``datamapplot/``: ``coords.npy`` (n x 2 float32) and ``labels.npz`` (one string array per
level, "Unlabelled" where an item has no theme, plus hover text and ids); the snippet in
``datamapplot/README.md`` draws them. Plain arrays: ``np.load`` needs no pickle.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thememap.export.map_fields import metadata_dict
from thememap.export.parquet import write_frame
from thememap.export.safe import spreadsheet_safe
from thememap.export.source import ExportData, theme_names
from thememap.files import write_atomic, write_text_atomic

NOISE_LABEL = "Unlabelled"  # datamapplot's default noise_label
ATLAS_COMMAND = (
    "embedding-atlas embedding_atlas/items.parquet --text text --x x --y y"
    " --neighbors neighbors --labels embedding_atlas/labels.parquet"
)
DATAMAPPLOT_SNIPPET = """\
import numpy as np
import datamapplot

coords = np.load("datamapplot/coords.npy")
labels = np.load("datamapplot/labels.npz")
plot = datamapplot.create_interactive_plot(
    coords, labels["l3"], labels["l2"], labels["l1"],  # finest level first
    hover_text=labels["hover_text"], noise_label="Unlabelled", enable_search=True,
)
plot.save("datamapplot.html")
"""


def themes_frame(data: ExportData, *, positioned: bool = False) -> pd.DataFrame:
    """One row per item: id (the user's), text, created_at, x, y, then per level
    ``theme_lN`` (name), ``cluster_id_lN`` and ``theme_id_lN`` (the stable theme id); with
    ``positioned`` only items on the map."""
    items = data.items
    if positioned:
        items = items[items["x"].notna() & items["y"].notna()]
    names = theme_names(data)
    frame = pd.DataFrame(
        {
            "id": items["external_id"].astype("string"),
            "text": items["content"].astype("string"),
            "created_at": items["created_at"],
            "x": items["x"],
            "y": items["y"],
        }
    )
    for level in data.levels:
        ids = items[f"cluster_id_l{level}"]
        frame[f"theme_l{level}"] = ids.map(lambda c: names.get(int(c)) if pd.notna(c) else None)
        frame[f"cluster_id_l{level}"] = ids.astype("Int64")
        if f"theme_id_l{level}" in items.columns:
            frame[f"theme_id_l{level}"] = items[f"theme_id_l{level}"].astype("string")
    return frame.reset_index(drop=True)


def csv_text(frame: pd.DataFrame) -> str:
    """RFC 4180 CSV (quoted where needed, CRLF rows), every text cell spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(c) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(["" if pd.isna(v) else spreadsheet_safe(v) for v in row])
    return out.getvalue()


def write_items_csv(data: ExportData, out_dir: Path) -> dict[str, Path]:
    """``items_themes.csv``: every item with its theme per level."""
    path = write_text_atomic(out_dir / "items_themes.csv", csv_text(themes_frame(data)))
    return {"items_themes.csv": path}


def _metadata_columns(metadata: pd.Series, taken: set[str], *, limit: int = 50) -> dict[str, Any]:
    """Scalar metadata keys as columns (numbers stay numbers, the rest text)."""
    dicts = [metadata_dict(m) for m in metadata]
    keys: dict[str, None] = {}
    for d in dicts:
        for key, value in d.items():
            if not isinstance(value, (list, dict)):
                keys.setdefault(str(key))
    columns: dict[str, Any] = {}
    for key in list(keys)[:limit]:
        name = key if key not in taken else f"meta_{key}"
        values = [d.get(key) for d in dicts]
        present = [v for v in values if v is not None]
        numeric = present and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
        )
        columns[name] = (
            pd.array(values, dtype="Float64")
            if numeric
            else pd.array([None if v is None else str(v) for v in values], dtype="string")
        )
    return columns


def write_embedding_atlas(data: ExportData, out_dir: Path) -> dict[str, Path]:
    """``embedding_atlas/items.parquet``, ``labels.parquet`` and a README with the command."""
    folder = out_dir / "embedding_atlas"
    folder.mkdir(parents=True, exist_ok=True)
    placed = (data.items["x"].notna() & data.items["y"].notna()).to_numpy()
    frame = themes_frame(data, positioned=True)
    rows = np.flatnonzero(placed)
    for name, column in _metadata_columns(
        data.items["metadata"].iloc[rows], set(frame.columns)
    ).items():
        frame[name] = column
    if data.neighbours is not None and data.neighbour_distances is not None:
        # Embedding Atlas wants row numbers of this table, nearest first
        local = np.full(len(data.items) + 1, -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        near = local[data.neighbours[rows]]
        dist = data.neighbour_distances[rows]
        frame["neighbors"] = pd.Series(  # one {"ids", "distances"} struct per row
            [
                {
                    "ids": [int(v) for v in r if v >= 0],
                    "distances": [round(float(d), 5) for v, d in zip(r, ds, strict=True) if v >= 0],
                }
                for r, ds in zip(near, dist, strict=True)
            ],
            dtype=object,
        )
    labels = [
        {
            "x": float(row["x"]),
            "y": float(row["y"]),
            "text": name,
            "level": int(row["level"]) - min(data.levels),  # 0: shown zoomed out
            "priority": float(row["comment_count"]),
        }
        for (_, row), name in zip(data.clusters.iterrows(), theme_names(data).values(), strict=True)
        if pd.notna(row["x"]) and pd.notna(row["y"])
    ]
    readme = (
        "# These themes in Embedding Atlas\n\n"
        "From the export folder (pip install embedding-atlas):\n\n"
        f"    {ATLAS_COMMAND}\n\n"
        "items.parquet: text, x, y, theme_l1..3, cluster_id_l1..3, theme_id_l1..3, metadata,"
        " neighbors.\n"
        "labels.parquet: the theme names (level 0 = coarsest, shown zoomed out).\n"
    )
    return {
        "embedding_atlas/items.parquet": write_frame(frame, folder / "items.parquet"),
        "embedding_atlas/labels.parquet": write_frame(
            pd.DataFrame(labels, columns=["x", "y", "text", "level", "priority"]),
            folder / "labels.parquet",
        ),
        "embedding_atlas/README.md": write_text_atomic(folder / "README.md", readme),
    }


def write_datamapplot(
    data: ExportData, out_dir: Path, *, hover_chars: int = 300
) -> dict[str, Path]:
    """``datamapplot/coords.npy``, ``labels.npz`` (l1..l3, hover_text, id) and a README."""
    folder = out_dir / "datamapplot"
    folder.mkdir(parents=True, exist_ok=True)
    frame = themes_frame(data, positioned=True)
    coords = frame[["x", "y"]].to_numpy(dtype=np.float32)
    arrays = {
        f"l{level}": np.array(frame[f"theme_l{level}"].fillna(NOISE_LABEL).tolist(), dtype=str)
        for level in data.levels
    }
    arrays["hover_text"] = np.array([str(t)[:hover_chars] for t in frame["text"]], dtype=str)
    arrays["id"] = np.array(frame["id"].fillna("").tolist(), dtype=str)

    def save_npz(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, allow_pickle=False, **arrays)

    def save_npy(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, coords)

    readme = (
        "# These themes in datamapplot\n\n"
        "From the export folder (pip install datamapplot):\n\n"
        + "".join(f"    {line}\n" if line else "\n" for line in DATAMAPPLOT_SNIPPET.splitlines())
    )
    return {
        "datamapplot/coords.npy": write_atomic(folder / "coords.npy", save_npy),
        "datamapplot/labels.npz": write_atomic(folder / "labels.npz", save_npz),
        "datamapplot/README.md": write_text_atomic(folder / "README.md", readme),
    }
