"""``items.json`` and ``clusters.json`` as the reference design wrote them, plus the user's id
and the stable theme ids.

The reference's fields, in the same order, and at the end of every item its
``external_id``: the value of ``input.id_field`` (``file:line`` when none was
set), so exports join back to the user's data, then ``theme_id_l1..l3``: its theme
at each level (:mod:`thememap.cluster.identity`; null when the run has no theme ids);
every cluster ends with its ``theme_id``; ``content`` cut to 500 characters; ``x``/``y``
rounded to 4 decimals; ``metadata`` parsed to an object (``{}`` when it is not
JSON); only items that have a 2D position; clusters ordered by level, then
size (largest first). ``items.json`` is written compact (``json.dump`` defaults)
and ``clusters.json`` with ``indent=2``, as the reference did, so its Next.js
visualizer reads them unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thememap.errors import StoreError
from thememap.export.source import card_value, shown_names
from thememap.files import write_text_atomic
from thememap.store.cards import read_stored_cards, shown_cards
from thememap.store.clusters import cluster_records, exported_cluster_run
from thememap.store.items import positioned_items
from thememap.store.themes import item_theme_ids, run_theme_ids

ITEM_FIELDS = (
    "id", "content", "metadata", "created_at", "x", "y", "cluster_l1", "cluster_l2", "cluster_l3",
    "external_id", "theme_id_l1", "theme_id_l2", "theme_id_l3",
)  # fmt: skip
CLUSTER_FIELDS = (
    "id", "cluster_type", "level", "name", "parent_id", "comment_count",
    "description", "pattern_name", "category", "strength", "theme_id",
)  # fmt: skip
CONTENT_CHARS = 500
THEME_LEVELS = (1, 2, 3)  # items.json's theme_id_l1..l3, as its cluster_l1..l3


def _metadata(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value if value is not None else {}


def _integral(value: Any) -> Any:
    """7.0 -> 7 (a card's strength read through pandas), anything else unchanged."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def reference_items(conn: sqlite3.Connection, *, run_id: str | None = None) -> list[dict[str, Any]]:
    """Every item that has a 2D position, as a reference ``items.json`` record, with its
    theme ids in the clusters of ``run_id`` (else of the latest clustered run)."""
    themes = _item_themes(conn, run_id)
    return [
        {
            "id": row["id"],
            "content": row["content"][:CONTENT_CHARS] if row["content"] else "",
            "metadata": _metadata(row["metadata"]),
            "created_at": row["created_at"],
            "x": round(row["umap_x"], 4),
            "y": round(row["umap_y"], 4),
            "cluster_l1": row["embedding_cluster_l1"],
            "cluster_l2": row["embedding_cluster_l2"],
            "cluster_l3": row["embedding_cluster_l3"],
            "external_id": row["external_id"],
            **{f"theme_id_l{level}": themes.get((row["id"], level)) for level in THEME_LEVELS},
        }
        for row in positioned_items(conn)
    ]


def _item_themes(conn: sqlite3.Connection, run_id: str | None) -> dict[tuple[int, int], str]:
    """(item id, level) -> theme id in the exported run (empty when nothing is clustered)."""
    try:
        run = exported_cluster_run(conn, run_id)
    except StoreError:
        return {}
    frame = item_theme_ids(conn, run)
    return {
        (int(item), int(level)): str(theme)
        for item, level, theme in zip(
            frame["item_id"], frame["level"], frame["theme_id"], strict=True
        )
    }


def _cards_by_cluster(
    conn: sqlite3.Connection, run_id: str, rows: list[dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """The chosen card of each cluster, keyed by cluster id, fields prefixed ``card_``."""
    if not rows:
        return {}
    cards = shown_cards(read_stored_cards(conn, run_id), shown_names(pd.DataFrame(rows)))
    return {
        int(card["cluster_id"]): {
            f"card_{k}": (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in card.items()
            if k != "cluster_id"
        }
        for card in cards.to_dict("records")
    }


def reference_clusters(
    conn: sqlite3.Connection, *, run_id: str | None = None
) -> list[dict[str, Any]]:
    """The clusters of ``run_id`` (else of the latest clustered run) as ``clusters.json`` records."""
    run = exported_cluster_run(conn, run_id)
    rows = cluster_records(conn, run)
    cards = _cards_by_cluster(conn, run, rows)
    themes = run_theme_ids(conn, run)
    records = []
    for row in rows:
        data = {**cards.get(row["id"], {}), **row}
        records.append(
            {
                "id": data["id"],
                "cluster_type": data.get("cluster_type") or "embedding",
                "level": data["level"],
                "name": data["name"],
                "parent_id": data.get("parent_id"),
                "comment_count": data["comment_count"],
                "description": card_value(data, "summary"),
                "pattern_name": card_value(data, "title"),
                "category": card_value(data, "category"),
                "strength": _integral(card_value(data, "strength")),
                "theme_id": themes.get(int(data["id"])),
            }
        )
    return records


def write_reference_json(
    conn: sqlite3.Connection, out_dir: Path, *, run_id: str | None = None
) -> dict[str, Path]:
    """Write ``items.json`` and ``clusters.json`` into ``out_dir`` (atomically); return their paths."""
    items = reference_items(conn, run_id=run_id)
    clusters = reference_clusters(conn, run_id=run_id)
    return {
        "items.json": write_text_atomic(out_dir / "items.json", json.dumps(items)),
        "clusters.json": write_text_atomic(
            out_dir / "clusters.json", json.dumps(clusters, indent=2)
        ),
    }
