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

from thememap.export.source import card_value, chosen_cards, cluster_run_id, read_cards
from thememap.files import write_text_atomic

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
    rows = conn.execute(
        "SELECT id, content, metadata, created_at, umap_x, umap_y,"
        " embedding_cluster_l1, embedding_cluster_l2, embedding_cluster_l3, external_id"
        " FROM items WHERE umap_x IS NOT NULL AND umap_y IS NOT NULL ORDER BY id"
    )
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
        for row in rows
    ]


def _cards_by_cluster(
    conn: sqlite3.Connection, rows: list[sqlite3.Row]
) -> dict[int, dict[str, Any]]:
    """The chosen card of each cluster, keyed by cluster id, fields prefixed ``card_``."""
    if not rows:
        return {}
    clusters = pd.DataFrame([dict(r) for r in rows])
    cards = chosen_cards(read_cards(conn, clusters["id"].tolist()), clusters)
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
    run = cluster_run_id(conn, run_id)
    where, args = ("WHERE run_id = ?", (run,)) if run is not None else ("", ())
    rows = conn.execute(
        f"SELECT * FROM clusters {where} ORDER BY level, comment_count DESC, id", args
    ).fetchall()
    cards = _cards_by_cluster(conn, rows)
    records = []
    for row in rows:
        data = {**cards.get(row["id"], {}), **dict(row)}
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
