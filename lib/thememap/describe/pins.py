"""Pinned names and cards: a person's ``pin_name`` / ``pin_card`` edits win over made cards.

The edits are applied to a run by 02_cluster (:mod:`thememap.cluster.edit_run`) and
stored per shown theme; :func:`run_pins` turns them into the fields each of the run's
clusters must carry, and :func:`pin_cards` sets those fields on any cards made (offline
or LLM, a fresh call or a carried card), so a pinned name survives every new card.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping

from thememap.describe.cards import Card
from thememap.store.theme_edits import read_edited_themes
from thememap.store.themes import run_theme_ids

PINNED_FIELDS = ("pattern_name", "summary", "category")


def run_pins(conn: sqlite3.Connection, cluster_run_id: str) -> dict[int, dict[str, str]]:
    """Cluster id -> the card fields pinned for its theme (none when no edit pins it)."""
    shown = read_edited_themes(conn, cluster_run_id)
    by_theme: dict[str, dict[str, str]] = {}
    for row in shown.itertuples(index=False):
        fields = dict(row.card or {})
        if row.pinned_name and row.name:
            fields["pattern_name"] = str(row.name)
        for theme in row.sources if fields else ():
            by_theme[str(theme)] = {k: str(v) for k, v in fields.items() if k in PINNED_FIELDS}
    return {
        cid: by_theme[tid] for cid, tid in run_theme_ids(conn, cluster_run_id).items()
        if tid in by_theme
    }  # fmt: skip


def pin_cards(
    cards: Mapping[int, Card], pins: Mapping[int, Mapping[str, str]] | None
) -> dict[int, Card]:
    """``cards`` with each pinned cluster's fields set (a failed card is left as it is)."""
    if not pins:
        return dict(cards)
    return {
        cid: card if cid not in pins or card.failure else dataclasses.replace(card, **pins[cid])
        for cid, card in cards.items()
    }
