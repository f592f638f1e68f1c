"""``items.json`` and ``clusters.json`` as the reference design wrote them, plus the user's id.

The reference's fields, in the same order, and at the end of every item its
``external_id``: the value of ``input.id_field`` (``file:line`` when none was
set), so exports join back to the user's data; ``content`` cut to 500 characters; ``x``/``y``
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

from thememap.export.source import card_value, shown_names
from thememap.files import write_text_atomic
from thememap.store.cards import read_stored_cards, shown_cards
from thememap.store.clusters import cluster_records, exported_cluster_run
from thememap.store.items import positioned_items

ITEM_FIELDS = (
    "id", "content", "metadata", "created_at", "x", "y", "cluster_l1", "cluster_l2", "cluster_l3",
    "external_id",
)  # fmt: skip
CLUSTER_FIELDS = (
    "id", "cluster_type", "level", "name", "parent_id", "comment_count",
    "description", "pattern_name", "category", "strength",
)  # fmt: skip
CONTENT_CHARS = 500


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


def reference_items(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every item that has a 2D position, as a reference ``items.json`` record."""
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
        }
        for row in positioned_items(conn)
    ]


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
            }
        )
    return records


def write_reference_json(
    conn: sqlite3.Connection, out_dir: Path, *, run_id: str | None = None
) -> dict[str, Path]:
    """Write ``items.json`` and ``clusters.json`` into ``out_dir`` (atomically); return their paths."""
    items = reference_items(conn)
    clusters = reference_clusters(conn, run_id=run_id)
    return {
        "items.json": write_text_atomic(out_dir / "items.json", json.dumps(items)),
        "clusters.json": write_text_atomic(
            out_dir / "clusters.json", json.dumps(clusters, indent=2)
        ),
    }
