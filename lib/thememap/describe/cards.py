"""A cluster card: the reference's fields plus how it was made and what it rests on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from thememap.store.cards import card_preference


@dataclass
class Card:
    """The description of one cluster, offline or from an LLM.

    ``pattern_name``, ``summary``, ``category`` and ``strength`` are the reference's
    ``llm_pattern_name``, ``llm_description``, ``llm_category`` and ``strength_score``.
    A failed LLM card keeps ``failure`` (the reason) and empty fields: it is stored and
    shown, never silently dropped.
    """

    cluster_id: int
    level: int
    source: str  # 'offline' or the LLM's model id
    pattern_name: str = ""
    summary: str = ""
    category: str = ""
    strength: int | None = None
    keywords: list[str] = field(default_factory=list)
    representative_ids: list[int] = field(default_factory=list)
    coherence: float | None = None
    category_scores: dict[str, float] = field(default_factory=dict)
    failure: str | None = None
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cached: bool = False

    @property
    def ok(self) -> bool:
        """True when the card has content (not a recorded failure)."""
        return self.failure is None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-able)."""
        return asdict(self)


def choose_card(llm_card: Card | None, offline_card: Card) -> Card:
    """The card a cluster shows: the LLM card when it succeeded, else the offline card
    (the one rule, :func:`thememap.store.cards.card_preference`, which the exports and the
    map read back by too)."""
    candidates = (offline_card,) if llm_card is None else (offline_card, llm_card)
    return min(candidates, key=lambda card: card_preference(card.source, card.failure))


def choose_cards(
    llm_cards: Mapping[int, Card] | None, offline: Mapping[int, Card]
) -> dict[int, Card]:
    """:func:`choose_card` for every cluster that has an offline card."""
    llm_cards = llm_cards or {}
    return {cid: choose_card(llm_cards.get(cid), card) for cid, card in offline.items()}
