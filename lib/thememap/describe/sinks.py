"""Where the describe step hands its results as they are made: the store, or nowhere.

The step (:func:`thememap.describe.step.describe_hierarchy`) works in memory; a sink
is the adapter that saves each result the moment it exists (Toponymy's
save-as-adapter), so a run killed after its offline cards keeps them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from thememap.describe.cards import Card, choose_cards
from thememap.describe.quality import LabelReport
from thememap.store.cards import fill_reference_columns, put_cards, put_quality, put_retrieval_ranks


class DescribeSink(Protocol):
    """Where the describe step hands its results as they are made (the store, or nothing)."""

    def offline(self, cards: Mapping[int, Card], *, final: bool) -> None:
        """Offline cards are made (``final``: they are also the cards shown)."""

    def llm(self, cards: Mapping[int, Card], offline: Mapping[int, Card]) -> None:
        """LLM cards are made (failures included)."""

    def quality(self, source: str, report: LabelReport) -> None:
        """Label quality of one source's cards is measured."""


class NoSink:
    """Keep results in memory only."""

    def offline(self, cards: Mapping[int, Card], *, final: bool) -> None:
        """Nothing to do."""

    def llm(self, cards: Mapping[int, Card], offline: Mapping[int, Card]) -> None:
        """Nothing to do."""

    def quality(self, source: str, report: LabelReport) -> None:
        """Nothing to do."""


@dataclass
class StoreSink:
    """Writes the describe step's results into a store as they are made."""

    conn: sqlite3.Connection
    cluster_run_id: str

    def offline(self, cards: Mapping[int, Card], *, final: bool) -> None:
        """Store the offline cards (and, when final, the reference columns from them)."""
        put_cards(self.conn, cards.values())
        if final:
            fill_reference_columns(self.conn, cards)

    def llm(self, cards: Mapping[int, Card], offline: Mapping[int, Card]) -> None:
        """Store the LLM cards and the chosen card of every cluster."""
        put_cards(self.conn, cards.values())
        fill_reference_columns(self.conn, choose_cards(cards, offline))

    def quality(self, source: str, report: LabelReport) -> None:
        """Store the label quality per level and each card's retrieval rank."""
        put_quality(self.conn, self.cluster_run_id, source, report.levels)
        put_retrieval_ranks(self.conn, source, report.ranks)
