"""Evidence for a theme's card: how much of the theme each key phrase covers.

Cards store key phrases without scores (c-TF-IDF and the offline namer rank them, the
LLM may rewrite them). What a reader can check is coverage: the share of the theme's
items that mention the phrase, and how much more often than in all items (lift). A
phrase "mentions" an item when every word of it occurs in the item's text (lowercase
substrings, so "crash" also finds "crashes").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

MAX_MEMBERS = 1_000  # items read per theme: shares within ~3 points, bounded time at 1M items
BACKGROUND = 2_000  # items read for the corpus-wide share (the lift's denominator)


class _Texts:
    """Lowercase texts joined into one string, so a word is found by ``str.find`` (C speed)
    once per text that holds it, not tested text by text in Python."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.count = len(texts)
        self.starts: list[int] = []
        at = 0
        for text in texts:
            self.starts.append(at)
            at += len(text) + 1
        self.joined = "\x00".join(texts)  # no phrase word holds \x00: no match spans two texts
        self._found: dict[str, set[int]] = {}

    def holding(self, word: str) -> set[int]:
        """Numbers of the texts that contain ``word``."""
        found = self._found.get(word)
        if found is None:
            found = set()
            pos, joined, starts = 0, self.joined, self.starts
            while (hit := joined.find(word, pos)) >= 0:
                text = bisect_right(starts, hit) - 1
                found.add(text)
                pos = starts[text + 1] if text + 1 < self.count else len(joined)
            self._found[word] = found
        return found

    def share(self, phrase: str) -> float:
        """Share of the texts that contain every word of ``phrase``."""
        words = phrase.lower().split()
        if not words or not self.count:
            return 0.0
        return len(set.intersection(*(self.holding(w) for w in words))) / self.count


class PhraseCoverage:
    """Shares of items mentioning a phrase, over a theme's items and over all items."""

    def __init__(self, texts: Sequence[str], *, seed: int = 0) -> None:
        self._texts = texts
        self._rng = np.random.default_rng(seed)
        sample = self._sample(np.arange(len(texts)), BACKGROUND)
        self._background = _Texts([str(texts[int(i)]).lower() for i in sample])

    def _sample(self, rows: np.ndarray, size: int) -> np.ndarray:
        return rows if len(rows) <= size else np.sort(self._rng.choice(rows, size, replace=False))

    def overall(self, phrase: str) -> float:
        """Share of (a sample of) all items that mention ``phrase``."""
        return self._background.share(phrase)

    def scores(self, phrases: Sequence[str], members: np.ndarray) -> list[dict[str, float]]:
        """Per phrase: ``share`` of the theme's items that mention it and ``lift`` over all."""
        rows = self._sample(np.asarray(members, dtype=np.int64), MAX_MEMBERS)
        mine = _Texts([str(self._texts[int(r)]).lower() for r in rows])
        floor = 1 / max(self._background.count, 1)  # absent from the background: one mention
        out = []
        for phrase in phrases:
            share = mine.share(phrase)
            out.append(
                {
                    "share": round(share, 3),
                    "lift": round(share / max(self.overall(phrase), floor), 1),
                }
            )
        return out
