"""Offline cards: no key, no network, a few seconds for hundreds of clusters.

* ``pattern_name``: the cluster's best key phrases contrasted with its siblings
  (:mod:`thememap.describe.keyphrases`), 2-5 words;
* ``summary``: first sentences of its representative items (MMR around the centroid);
* ``category``: the category whose *description*, embedded with the same local model,
  is nearest the cluster centroid (zero-shot);
* ``strength``: coherence over the random-cluster baseline mapped to 1-10
  (:mod:`thememap.describe.scoring`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from thememap.describe.cards import Card
from thememap.describe.hierarchy import Hierarchy
from thememap.describe.keyphrases import PhraseCounts, name_from_phrases, sibling_keyphrases
from thememap.describe.params import DescribeParams
from thememap.describe.representatives import extractive_summary, mmr
from thememap.describe.scoring import FULL_LIFT, coherence, random_baseline, strength, zero_shot
from thememap.embed.base import Embedder

log = logging.getLogger(__name__)


def stop_words(params: DescribeParams) -> list[str]:
    """The stop words of the key-phrase analyser (built-in list + ``extra_stop_words``)."""
    base = set(ENGLISH_STOP_WORDS) if params.stop_words == "english" else set()
    return sorted(base | {w.lower() for w in params.extra_stop_words})


class OfflineDescriber:
    """Writes an offline card for every cluster of a :class:`Hierarchy`.

    scikit-learn style: ``__init__`` stores settings, ``fit`` computes the cards
    into ``cards_`` (by cluster id) and the phrase counts into ``counts_``.
    """

    def __init__(
        self,
        params: DescribeParams | None = None,
        *,
        embedder: Embedder | None = None,
        full_lift: float = FULL_LIFT,
    ) -> None:
        self.params = params or DescribeParams()
        self.embedder = embedder
        self.full_lift = full_lift

    def fit(self, hierarchy: Hierarchy) -> OfflineDescriber:
        """Compute ``cards_`` for every node of ``hierarchy``."""
        p = self.params
        self.counts_ = PhraseCounts.fit(
            hierarchy.texts,
            ngram_max=p.ngram_max,
            min_df=p.min_df,
            max_vocab=p.max_vocab,
            stop_words=stop_words(p),
        )
        phrases = sibling_keyphrases(hierarchy, self.counts_, k=p.keywords)
        names = self._names(hierarchy, phrases)
        mean_norm = float(np.linalg.norm(hierarchy.vectors.mean(axis=0)))
        n_items = len(hierarchy.vectors)
        categories = list(p.categories)
        category_vectors = self._category_vectors(list(p.categories.values()))

        cards: dict[int, Card] = {}
        for level in hierarchy.levels:
            nodes = hierarchy.level(level)
            centroids = hierarchy.centroids(nodes)
            best, sims = (
                zero_shot(centroids, category_vectors)
                if category_vectors is not None
                else (np.zeros(len(nodes), dtype=int), np.zeros((len(nodes), len(categories))))
            )
            for row, node in enumerate(nodes):
                member_vectors = hierarchy.vectors[node.members]
                reps = node.members[
                    mmr(member_vectors, centroids[row], k=p.representatives, lambda_=p.mmr_lambda)
                ]
                value = coherence(member_vectors)
                base = random_baseline(node.size, corpus_mean_norm=mean_norm, corpus_size=n_items)
                cards[node.id] = Card(
                    cluster_id=node.id,
                    level=node.level,
                    source="offline",
                    pattern_name=names[node.id],
                    summary=extractive_summary(
                        [hierarchy.texts[i] for i in reps],
                        sentences=p.summary_sentences,
                        max_chars=p.summary_max_chars,
                    ),
                    category=categories[int(best[row])] if category_vectors is not None else "",
                    category_scores={
                        name: round(float(sims[row, j]), 4) for j, name in enumerate(categories)
                    }
                    if category_vectors is not None
                    else {},
                    strength=strength(value, base, full_lift=self.full_lift),
                    keywords=list(phrases.get(node.id, [])),
                    representative_ids=[int(hierarchy.item_ids[i]) for i in reps],
                    coherence=round(value, 5),
                )
        self.cards_ = cards
        log.info("offline cards for %d clusters", len(cards))
        return self

    @staticmethod
    def _names(hierarchy: Hierarchy, phrases: dict[int, list[str]]) -> dict[int, str]:
        """Names top-down; a child that would repeat its parent's name takes its next phrases.

        (A child holding most of its parent's items often has the same best phrase; an
        only child is the parent's items again and keeps the name.)
        """
        names: dict[int, str] = {}
        for level in hierarchy.levels:
            for node in hierarchy.level(level):
                own = phrases.get(node.id, [])
                name = name_from_phrases(own)
                parent = names.get(node.parent_id) if node.parent_id is not None else None
                only_child = len(hierarchy.siblings(node)) < 2
                if parent and not only_child and name.lower() == parent.lower() and len(own) > 1:
                    rest = [ph for ph in own if ph.lower() not in parent.lower()]
                    name = name_from_phrases(rest) if rest else name
                names[node.id] = name
        return names

    def _category_vectors(self, descriptions: Sequence[str]) -> np.ndarray | None:
        if self.embedder is None:
            log.warning("no embedder: offline cards get no category")
            return None
        return np.asarray(self.embedder.embed(list(descriptions)), dtype=np.float32)
