"""``ThemeMap.save(store)``: what :func:`thememap.fit` made, written through the store's API.

The result lands as a run of its own (``fit-<time>``): the items with your ids,
their vectors (keyed by text hash and model, so a later ``thememap run`` on the
same texts embeds nothing), the clusters, memberships and layout, every card and
the chosen one in the reference columns, and the label quality.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from thememap.describe.cards import choose_cards
from thememap.errors import StoreError
from thememap.store import open_store
from thememap.store.cards import fill_reference_columns, put_cards, put_quality, put_retrieval_ranks
from thememap.store.clusters import replace_run_clusters
from thememap.store.items import count_items, insert_items
from thememap.store.lock import acquire_store_lock
from thememap.store.runs import finish_run, start_run
from thememap.store.vectors import put_vectors, set_active_model

if TYPE_CHECKING:
    from thememap.api import ThemeMap
    from thememap.describe.cards import Card


def save_themes(themes: ThemeMap, store: Path) -> str:
    """Write ``themes`` into ``store`` (created if missing; it must hold no items yet)."""
    run_id = "fit-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    lock = acquire_store_lock(store, run_id=run_id)
    conn = open_store(store)
    try:
        if count_items(conn):
            raise StoreError(f"{store}: already holds items; save into a new store")
        start_run(conn, run_id, themes.params.public_dump(), None)
        store_ids = insert_items(
            conn,
            (
                (i.external_id, i.content, i.metadata_json(), i.created_at, i.content_hash, "fit")
                for i in themes.item_list
            ),
        )
        first: dict[str, int] = {}
        for row, item in enumerate(themes.item_list):
            first.setdefault(item.content_hash, row)
        put_vectors(conn, themes.model_id, list(first), themes.vectors[list(first.values())])
        set_active_model(conn, themes.model_id)
        # fit numbers items 1..n and clusters level by level from 1: map both to the store's
        item_id = dict(zip(range(1, len(store_ids) + 1), store_ids.tolist(), strict=True))
        records = [
            replace(lv, representatives=[[item_id[r] for r in reps] for reps in lv.representatives])
            for lv in themes.clustered.records
        ]
        db_ids = replace_run_clusters(
            conn, run_id, item_ids=store_ids, levels=records, coords=themes.coords
        )
        cluster_id = {
            int(a): int(b)
            for ours, theirs in zip(themes.clustered.cluster_ids, db_ids, strict=True)
            for a, b in zip(ours, theirs, strict=True)
        }
        described = themes.described

        def moved(cards: dict[int, Card]) -> dict[int, Card]:
            return {
                cluster_id[cid]: replace(
                    card,
                    cluster_id=cluster_id[cid],
                    representative_ids=[item_id[r] for r in card.representative_ids],
                )
                for cid, card in cards.items()
            }

        offline = moved(described.offline)
        put_cards(conn, offline.values())
        llm = moved(described.llm.cards_) if described.llm is not None else {}
        put_cards(conn, llm.values())
        fill_reference_columns(conn, choose_cards(llm, offline))
        for source, report in described.reports.items():
            put_quality(conn, run_id, source, report.levels)
            put_retrieval_ranks(conn, source, {cluster_id[c]: r for c, r in report.ranks.items()})
        finish_run(conn, run_id, "ok")
    finally:
        conn.close()
        lock.release()
    return run_id
