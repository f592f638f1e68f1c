"""Cluster cards, their label-quality figures, and the LLM answer cache.

* ``cluster_cards``: one row per (cluster, source) where source is ``offline`` or
  the LLM model; keywords, representative item ids, per-card retrieval result and
  a failure reason (a failed LLM card is a row too, never dropped);
* ``card_quality``: label-quality figures per (cluster run, source, level);
* ``llm_cache``: answered requests keyed by hash(members, prompt, model, mode,
  schema), committed one by one so a killed run resumes without paying twice;
* the reference's ``clusters.llm_description / llm_pattern_name / llm_category /
  strength_score`` columns are filled from the chosen source (offline card as the
  fallback for a cluster whose LLM card failed or was not reached).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from thememap.store.connection import transaction

if TYPE_CHECKING:  # the store imports no step: these are only the shapes it stores
    from thememap.describe.cards import Card
    from thememap.describe.llm_client import Usage
    from thememap.describe.quality import LevelQuality

# Tables: migration 004_cluster_cards in store/migrations.py.

# the card fields the reference columns (clusters.llm_*, strength_score) hold
_CARD_FIELDS = ("pattern_name", "summary", "category", "strength")
# the clusters table's columns read_cards joins to each card
_CLUSTER_COLUMNS = ("level", "name", "parent_id", "comment_count")


def put_cards(conn: sqlite3.Connection, cards: Iterable[Card]) -> int:
    """Insert or replace cards (one transaction); returns how many."""
    rows = [
        (
            c.cluster_id,
            c.source,
            c.pattern_name or None,
            c.summary or None,
            c.category or None,
            c.strength,
            json.dumps(c.keywords, ensure_ascii=False),
            json.dumps(c.representative_ids),
            c.coherence,
            json.dumps(c.category_scores),
            c.failure,
            c.requests,
            c.input_tokens,
            c.output_tokens,
            c.cost_usd,
            int(c.cached),
        )
        for c in cards
    ]
    with transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO cluster_cards(cluster_id, source, pattern_name, summary,"
            " category, strength, keywords, representative_ids, coherence, category_scores,"
            " failure, requests, input_tokens, output_tokens, cost_usd, cached)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
    return len(rows)


def put_retrieval_ranks(conn: sqlite3.Connection, source: str, ranks: Mapping[int, int]) -> None:
    """Store each card's retrieval rank (1 = its own cluster was the nearest)."""
    with transaction(conn):
        conn.executemany(
            "UPDATE cluster_cards SET retrieval_rank = ? WHERE cluster_id = ? AND source = ?",
            [(int(rank), int(cid), source) for cid, rank in ranks.items()],
        )


def read_cards(
    conn: sqlite3.Connection, cluster_run_id: str, source: str | None = None
) -> pd.DataFrame:
    """Cards of a cluster run (all sources, or one), joined with level, name and size."""
    sql = (
        "SELECT k.cluster_id, c.level, c.name, c.parent_id, c.comment_count, k.source,"
        " k.pattern_name, k.summary, k.category, k.strength, k.keywords,"
        " k.representative_ids, k.coherence, k.category_scores, k.retrieval_rank, k.failure,"
        " k.requests, k.input_tokens, k.output_tokens, k.cost_usd, k.cached, k.created_at"
        " FROM cluster_cards AS k JOIN clusters AS c ON c.id = k.cluster_id"
        " WHERE c.run_id = ?"
    )
    args: tuple[Any, ...] = (cluster_run_id,)
    if source is not None:
        sql += " AND k.source = ?"
        args = (cluster_run_id, source)
    frame = pd.read_sql_query(sql + " ORDER BY c.level, c.comment_count DESC", conn, params=args)
    for column in ("keywords", "representative_ids", "category_scores"):
        frame[column] = frame[column].map(json.loads)
    return frame


def card_preference(source: str, failure: object) -> int:
    """THE rule for which card a cluster shows, as a preference (lowest wins): an LLM card
    that succeeded (0), else the offline card (1), else a failed card (2).

    ``failure`` is the card's failure reason (a string) or empty (None / NaN). Used by
    :func:`thememap.describe.cards.choose_card` (the reference columns, :func:`thememap.fit`),
    :func:`read_effective_cards` and :func:`shown_cards` (the exports and the map) alike.
    """
    if isinstance(failure, str):
        return 2
    return 1 if source == "offline" else 0


def read_effective_cards(
    conn: sqlite3.Connection, cluster_run_id: str, source: str
) -> pd.DataFrame:
    """One card per cluster as the reference columns hold it: ``source``'s card where it
    wins (:func:`card_preference`), else the offline card; ``card_source`` says which,
    ``llm_failure`` why not."""
    offline = read_cards(conn, cluster_run_id, "offline")
    if source == "offline":
        return offline.assign(card_source="offline", llm_failure=None)
    llm = read_cards(conn, cluster_run_id, source).set_index("cluster_id")
    rows = []
    for card in offline.to_dict("records"):
        cid = card["cluster_id"]
        other: dict[str, Any] | None = (
            {str(k): v for k, v in llm.loc[cid].items()} if cid in llm.index else None
        )
        row: dict[str, Any] = {str(k): v for k, v in card.items()}
        if other is not None and card_preference(source, other["failure"]) < card_preference(
            "offline", card["failure"]
        ):
            row.update({k: other[k] for k in _CARD_FIELDS})
            row.update(card_source=source, llm_failure=None)
        else:
            failure = other["failure"] if other is not None else "not reached (budget)"
            row.update(card_source="offline", llm_failure=failure)
        rows.append(row)
    return pd.DataFrame(rows)


def read_stored_cards(conn: sqlite3.Connection, cluster_run_id: str) -> pd.DataFrame:
    """Every card of a run's clusters (all sources) with the table's own columns, by cluster
    and source: keywords and representative ids as lists, ``category_scores`` as stored
    (JSON text), as the exports write them."""
    cards = read_cards(conn, cluster_run_id).drop(columns=list(_CLUSTER_COLUMNS))
    cards["category_scores"] = cards["category_scores"].map(json.dumps)
    return cards.sort_values(["cluster_id", "source"]).reset_index(drop=True)


def shown_cards(cards: pd.DataFrame, shown_names: Mapping[int, object]) -> pd.DataFrame:
    """One row of ``cards`` per cluster: the card the reference columns show.

    ``shown_names`` maps a cluster id to its ``clusters.llm_pattern_name``: 03_describe
    filled it from the card :func:`card_preference` chose, so a working card of that name
    is the one shown; a cluster whose reference columns name none of its cards (filled
    by hand, or not at all) gets the preferred card. Ties go by source name.
    """
    if cards.empty:
        return cards
    named = cards["pattern_name"] == cards["cluster_id"].map(shown_names)
    ok = ~cards["failure"].map(lambda failure: isinstance(failure, str))
    preference = [
        card_preference(source, failure)
        for source, failure in zip(cards["source"], cards["failure"], strict=True)
    ]
    rank = np.where(named & ok, -1, preference)
    order = cards.assign(_rank=rank).sort_values(["cluster_id", "_rank", "source"])
    return order.drop_duplicates("cluster_id").drop(columns="_rank").reset_index(drop=True)


def fill_reference_columns(conn: sqlite3.Connection, chosen: Mapping[int, Card]) -> int:
    """Fill clusters.llm_* / strength_score from the card each cluster shows (``chosen``,
    made by :func:`thememap.describe.cards.choose_cards`, the one rule)."""
    rows = [
        (card.summary, card.pattern_name, card.category, card.strength, cluster_id)
        for cluster_id, card in chosen.items()
    ]
    with transaction(conn):
        conn.executemany(
            "UPDATE clusters SET llm_description = ?, llm_pattern_name = ?, llm_category = ?,"
            " strength_score = ? WHERE id = ?",
            rows,
        )
    return len(rows)


def put_quality(
    conn: sqlite3.Connection, cluster_run_id: str, source: str, figures: Iterable[LevelQuality]
) -> None:
    """Store label-quality figures per level."""
    with transaction(conn):
        conn.executemany(
            "INSERT OR REPLACE INTO card_quality(cluster_run_id, source, level, figures)"
            " VALUES (?,?,?,?)",
            [(cluster_run_id, source, q.level, json.dumps(q.to_dict())) for q in figures],
        )


def read_quality(conn: sqlite3.Connection, cluster_run_id: str) -> pd.DataFrame:
    """Label-quality figures of a cluster run, one row per (source, level)."""
    rows = conn.execute(
        "SELECT source, level, figures FROM card_quality WHERE cluster_run_id = ?"
        " ORDER BY source, level",
        (cluster_run_id,),
    ).fetchall()
    return pd.DataFrame([{"source": r[0], **json.loads(r[2]), "level": r[1]} for r in rows])


class SqliteCache:
    """The ``llm_cache`` table as a :class:`thememap.describe.llm_runner.CardCache`.

    Reads may come from worker threads' callers, writes from the main thread; each
    ``put`` commits at once, so a killed run keeps every answer it received.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer for ``key`` (None when absent)."""
        row = self.conn.execute("SELECT response FROM llm_cache WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(
        self, key: str, *, model: str, response: dict[str, Any], usage: Usage, cost: float
    ) -> None:
        """Keep one answer (committed now)."""
        with transaction(self.conn):
            self.conn.execute(
                "INSERT OR REPLACE INTO llm_cache(key, model, response, input_tokens,"
                " output_tokens, cost_usd) VALUES (?,?,?,?,?,?)",
                (
                    key,
                    model,
                    json.dumps(response, ensure_ascii=False),
                    usage.input_tokens,
                    usage.output_tokens,
                    cost,
                ),
            )

    def __len__(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0])
