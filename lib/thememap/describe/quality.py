"""Label quality, measured the same way for offline and LLM cards.

* **retrieval top-1**: embed each card's ``pattern_name + summary``; it should be
  nearer its own cluster's centroid than any other cluster of the same level
  (chance is 1 / clusters in the level); also for the name alone (harder: an
  extractive summary quotes the cluster's most central items);
* **sibling distinctness**: cosine similarity of the embedded names of siblings
  (lower = more distinct) and how many sibling pairs share most of their words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np

from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterTree
from thememap.embed.base import Embedder

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def name_tokens(name: str) -> set[str]:
    """Lower-case word set of a name (for token overlap)."""
    return {w for w in _WORD.findall(name.lower()) if len(w) > 2}


def jaccard(a: str, b: str) -> float:
    """Token Jaccard similarity of two names."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta and not tb:
        return 1.0
    return len(ta & tb) / len(ta | tb)


@dataclass
class LevelQuality:
    """Label-quality figures of one level."""

    level: int
    clusters: int
    cards: int
    retrieval_top1: float
    retrieval_top1_name_only: float  # the name alone, without the summary
    chance: float
    sibling_name_cosine: float  # mean over sibling pairs
    sibling_name_cosine_max: float
    near_duplicate_pairs: int  # sibling pairs with token Jaccard >= 0.8
    sibling_pairs: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def card_text(card: Card) -> str:
    """What is embedded for retrieval: name, then summary."""
    return f"{card.pattern_name}. {card.summary}".strip()


@dataclass
class LabelReport:
    """Label quality of a set of cards: figures per level and each card's retrieval rank."""

    levels: list[LevelQuality]
    ranks: dict[int, int]  # cluster id -> rank of its own centroid (1 = retrieved first)

    def frame(self) -> Any:
        """The per-level figures as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame([q.to_dict() for q in self.levels])

    def top1(self) -> dict[int, float]:
        """Retrieval top-1 accuracy per level."""
        return {q.level: round(q.retrieval_top1, 4) for q in self.levels}


def label_quality(
    hierarchy: ClusterTree,
    cards: Mapping[int, Card],
    embedder: Embedder,
    *,
    duplicate_jaccard: float = 0.8,
) -> LabelReport:
    """Retrieval top-1 and sibling distinctness per level (failed cards count as misses)."""
    results: list[LevelQuality] = []
    ranks: dict[int, int] = {}
    for level in hierarchy.levels:
        nodes = hierarchy.level(level)
        centroids = hierarchy.centroids(nodes)
        ok = [i for i, n in enumerate(nodes) if n.id in cards and cards[n.id].ok]
        hits = 0
        if ok:
            label_vectors = embedder.embed([card_text(cards[nodes[i].id]) for i in ok])
            sims = label_vectors @ centroids.T
            own = sims[np.arange(len(ok)), ok]
            rank = 1 + np.sum(sims > own[:, None], axis=1)
            hits = int(np.sum(rank == 1))
            ranks.update({nodes[i].id: int(r) for i, r in zip(ok, rank, strict=True)})
        name_vectors = {
            nodes[i].id: v
            for i, v in zip(
                ok,
                embedder.embed([cards[nodes[i].id].pattern_name for i in ok])
                if ok
                else np.empty((0, 1)),
                strict=True,
            )
        }
        name_hits = 0
        if ok:
            name_matrix = np.vstack([name_vectors[nodes[i].id] for i in ok])
            name_hits = int(np.sum(np.argmax(name_matrix @ centroids.T, axis=1) == np.asarray(ok)))
        sims_names: list[float] = []
        dupes = 0
        for group in hierarchy.sibling_groups(level):
            named = [n for n in group if n.id in name_vectors]
            for a, b in combinations(named, 2):
                sims_names.append(float(name_vectors[a.id] @ name_vectors[b.id]))
                if jaccard(cards[a.id].pattern_name, cards[b.id].pattern_name) >= duplicate_jaccard:
                    dupes += 1
        results.append(
            LevelQuality(
                level=level,
                clusters=len(nodes),
                cards=len(ok),
                retrieval_top1=hits / len(nodes) if nodes else 0.0,
                retrieval_top1_name_only=name_hits / len(nodes) if nodes else 0.0,
                chance=1.0 / len(nodes) if nodes else 0.0,
                sibling_name_cosine=float(np.mean(sims_names)) if sims_names else 0.0,
                sibling_name_cosine_max=float(np.max(sims_names)) if sims_names else 0.0,
                near_duplicate_pairs=dupes,
                sibling_pairs=len(sims_names),
            )
        )
    return LabelReport(results, ranks)
