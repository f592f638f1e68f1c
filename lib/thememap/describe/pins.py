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
    for card, pinned_name, name, sources in zip(
        shown["card"], shown["pinned_name"], shown["name"], shown["sources"], strict=True
    ):
        fields: dict[str, str] = {
            k: str(v) for k, v in (card or {}).items() if k in PINNED_FIELDS
        }  # fmt: skip
        if pinned_name and name:
            fields["pattern_name"] = str(name)
        for theme in sources if fields else ():
            by_theme[str(theme)] = fields
    return {
        cid: by_theme[tid] for cid, tid in run_theme_ids(conn, cluster_run_id).items()
        if tid in by_theme
    }  # fmt: skip


def pin_cards(
    cards: Mapping[int, Card], pins: Mapping[int, Mapping[str, str]] | None
) -> dict[int, Card]:
    """``cards`` with each pinned cluster's fields set (a failed card is left as it is)."""
    pins = pins or {}
    return {
        cid: card if cid not in pins or card.failure else _pinned(card, pins[cid])
        for cid, card in cards.items()
    }


def _pinned(card: Card, fields: Mapping[str, str]) -> Card:
    return dataclasses.replace(
        card,
        pattern_name=fields.get("pattern_name", card.pattern_name),
        summary=fields.get("summary", card.summary),
        category=fields.get("category", card.category),
    )
