"""Card carry-over: a theme that did not change keeps the LLM card its previous run paid for.

A cluster of this run continues a cluster of the previous matched run when 02_cluster
gave it that cluster's theme id (:mod:`thememap.cluster.continuity`). When their members,
new and removed items included, still overlap at least ``card_reuse_jaccard``
(Jaccard), the previous cluster's working LLM card of the same model is used as this
cluster's card: no call is made for it (:class:`~thememap.describe.llm_runner.LLMDescriber`
treats it like a copied card). Its key phrases, representatives and strength are this
run's own, as for every LLM card.
"""

from __future__ import annotations

import logging
import sqlite3

import pandas as pd

from thememap.describe.cards import Card
from thememap.store.cards import read_cards
from thememap.store.themes import run_themes, theme_run

log = logging.getLogger(__name__)


def carried_cards(
    conn: sqlite3.Connection, cluster_run_id: str, *, model: str, min_jaccard: float
) -> dict[int, Card]:
    """Cluster id -> the previous run's ``model`` card for each cluster of ``cluster_run_id``
    whose theme was kept with members overlapping at least ``min_jaccard``."""
    record = theme_run(conn, cluster_run_id)
    if record is None or not record["previous_run_id"]:
        return {}
    themes = run_themes(conn, cluster_run_id)
    same = themes[themes["previous_cluster_id"].notna() & (themes["member_jaccard"] >= min_jaccard)]
    if same.empty:
        return {}
    before = read_cards(conn, str(record["previous_run_id"]), model).set_index("cluster_id")
    carried = {}
    for cluster_id, level, previous in zip(
        same["cluster_id"].to_numpy(dtype=int),
        same["level"].to_numpy(dtype=int),
        same["previous_cluster_id"].to_numpy(dtype=int),
        strict=True,
    ):
        if previous not in before.index:
            continue
        card = before.loc[previous]
        if isinstance(card["failure"], str):
            continue  # only a working card is worth keeping
        carried[int(cluster_id)] = Card(
            cluster_id=int(cluster_id),
            level=int(level),
            source=model,
            pattern_name=str(card["pattern_name"] or ""),
            summary=str(card["summary"] or ""),
            category=str(card["category"] or ""),
            strength=None if pd.isna(card["strength"]) else int(card["strength"]),
            keywords=list(card["keywords"]),
            representative_ids=[int(i) for i in card["representative_ids"]],
            cached=True,
        )
    log.info(
        "%d LLM card(s) carried over from run %s (themes kept, members Jaccard >= %.2f)",
        len(carried),
        record["previous_run_id"],
        min_jaccard,
    )
    return carried
