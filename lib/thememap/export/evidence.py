"""Evidence for a theme's card: how much of the theme each key phrase covers.

Cards store key phrases without scores (c-TF-IDF and the offline namer rank them, the
LLM may rewrite them). What a reader can check is coverage: the share of the theme's
items that mention the phrase, and how much more often than in all items (lift). A
phrase "mentions" an item when every word of it occurs in the item's text (lowercase
substrings, so "crash" also finds "crashes").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_MEMBERS = 1_000  # items read per theme: shares within ~3 points, bounded time at 1M items
BACKGROUND = 2_000  # items read for the corpus-wide share (the lift's denominator)


def _mentions(words: Sequence[str], text: str) -> bool:
    return all(word in text for word in words)


class PhraseCoverage:
    """Shares of items mentioning a phrase, over a theme's items and over all items."""

    def __init__(self, texts: Sequence[str], *, seed: int = 0) -> None:
        self._texts = texts
        self._lower: dict[int, str] = {}
        self._rng = np.random.default_rng(seed)
        sample = self._sample(np.arange(len(texts)), BACKGROUND)
        self._background = [self._text(int(i)) for i in sample]
        self._overall: dict[str, float] = {}

    def _text(self, row: int) -> str:
        text = self._lower.get(row)
        if text is None:
            text = self._lower[row] = str(self._texts[row]).lower()
        return text

    def _sample(self, rows: np.ndarray, size: int) -> np.ndarray:
        return rows if len(rows) <= size else np.sort(self._rng.choice(rows, size, replace=False))

    def overall(self, phrase: str) -> float:
        """Share of (a sample of) all items that mention ``phrase``."""
        key = phrase.lower()
        if key not in self._overall:
            words = key.split()
            hits = sum(_mentions(words, t) for t in self._background)
            self._overall[key] = hits / max(len(self._background), 1)
        return self._overall[key]

    def scores(self, phrases: Sequence[str], members: np.ndarray) -> list[dict[str, float]]:
        """Per phrase: ``share`` of the theme's items that mention it and ``lift`` over all."""
        rows = self._sample(np.asarray(members, dtype=np.int64), MAX_MEMBERS)
        texts = [self._text(int(r)) for r in rows]
        out = []
        for phrase in phrases:
            words = phrase.lower().split()
            share = sum(_mentions(words, t) for t in texts) / len(texts) if texts else 0.0
            base = self.overall(phrase)
            # a phrase absent from the background sample: lift against one mention in it
            lift = share / max(base, 1 / max(len(self._background), 1))
            out.append({"share": round(share, 3), "lift": round(lift, 1)})
        return out
