"""Offline cards: no key, no network, a few seconds for hundreds of clusters.

* ``pattern_name``: a noun phrase scored by embedding, contrast with the other clusters and
  coverage, parents from what their children share (:mod:`thememap.describe.naming`);
* ``summary``: what the items are about, written from the evidence: size, sub-themes,
  the phrases most items hold (with their shares) and one or two short quotes
  (titles where the items have them) of representative items (MMR around the centroid);
* ``category``: the category whose *description*, embedded with the same local model, is
  nearest the cluster centre, kept only when it clearly beats the runner-up and the cluster's
  items are nearer it than the corpus's items on average (both in units of item-to-item
  spread), else ``other``;
* ``strength``: coherence over the random-cluster baseline mapped to 1-10
  (:mod:`thememap.describe.scoring`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterNode, ClusterTree
from thememap.describe.keyphrases import (
    PhraseCounts,
    _stem,
    aligned_counts,
    candidate_columns,
    generic_words,
    name_mask,
)
from thememap.describe.naming import Namer, NamingSettings
from thememap.describe.nounphrase import FUNCTION_WORDS
from thememap.describe.params import DescribeParams
from thememap.describe.representatives import evidence_summary, short_quote
from thememap.describe.scoring import FULL_LIFT, calibrated_category, random_baseline, strength
from thememap.embed.base import Embedder
from thememap.vectors import coherence, mmr

log = logging.getLogger(__name__)


def stop_words(params: DescribeParams) -> list[str]:
    """The stop words of the key-phrase analyser (function words + ``extra_stop_words``)."""
    base = set(FUNCTION_WORDS) if params.stop_words == "english" else set()
    return sorted(base | {w.lower() for w in params.extra_stop_words})


class OfflineDescriber:
    """Writes an offline card for every cluster of a :class:`ClusterTree`.

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

    def fit_vocabulary(self, hierarchy: ClusterTree) -> OfflineDescriber:
        """Only the corpus vocabulary: ``counts_``, ``generic_`` and ``common_words_`` (the
        generic words, most frequent first, that LLM prompts are told to leave out)."""
        p = self.params
        self.counts_ = PhraseCounts.fit(
            hierarchy.texts,
            ngram_max=p.ngram_max,
            min_df=p.min_df,
            max_vocab=p.max_vocab,
            stop_words=stop_words(p),
        )
        top = hierarchy.level(hierarchy.levels[0]) if hierarchy.levels else []
        self.generic_ = generic_words(
            self.counts_, top, min_share=p.generic_share, max_kl=p.generic_max_kl
        )
        self.common_words_ = self.counts_.by_frequency(self.generic_)
        return self

    def fit(self, hierarchy: ClusterTree) -> OfflineDescriber:
        """Compute ``cards_`` for every node of ``hierarchy``."""
        p = self.params
        stops = stop_words(p)
        self.fit_vocabulary(hierarchy)
        titles = hierarchy.titles
        title_counts = (
            aligned_counts(titles, self.counts_, ngram_max=p.ngram_max, stop_words=stops)
            if titles is not None and any(titles)
            else None
        )
        namer = Namer(
            embedder=self.embedder,
            settings=NamingSettings(
                candidates=p.name_candidates,
                contrast=p.name_contrast,
                coverage_power=p.name_coverage_power,
                parent_coverage_power=p.name_parent_coverage_power,
                parts_below_precision=p.name_parts_precision,
                parts_below_coverage=p.name_parts_coverage,
            ),
        ).fit(
            hierarchy,
            self.counts_,
            name_mask(
                self.counts_,
                self.generic_,
                columns=candidate_columns(hierarchy, self.counts_),
            ),
            title_counts=title_counts,
        )
        self.namer_ = namer
        mean_norm = coherence(hierarchy.vectors)
        n_items = len(hierarchy.vectors)
        categories = list(p.categories)
        category_vectors = self._category_vectors(list(p.categories.values()))
        sample = hierarchy.vectors[:: max(1, n_items // 10_000)]

        cards: dict[int, Card] = {}
        for level in hierarchy.levels:
            nodes = hierarchy.level(level)
            centroids = hierarchy.centroids(nodes)
            if category_vectors is not None:
                best, sims, _ = calibrated_category(
                    centroids,
                    category_vectors,
                    sample,
                    min_margin=p.category_min_margin,
                    min_lift=p.category_min_lift,
                    member_means=np.vstack(
                        [hierarchy.vectors[n.members].mean(axis=0) for n in nodes]
                    ),
                    sizes=np.array([n.size for n in nodes]),
                )
            for row, node in enumerate(nodes):
                member_vectors = hierarchy.vectors[node.members]
                reps = node.members[
                    mmr(member_vectors, centroids[row], k=p.representatives, lambda_=p.mmr_lambda)
                ]
                value = coherence(member_vectors)
                base = random_baseline(node.size, corpus_mean_norm=mean_norm, corpus_size=n_items)
                category, scores = "", {}
                if category_vectors is not None:
                    category = categories[int(best[row])] if best[row] >= 0 else "other"
                    scores = {
                        name: round(float(sims[row, j]), 4) for j, name in enumerate(categories)
                    }
                cards[node.id] = Card(
                    cluster_id=node.id,
                    level=node.level,
                    source="offline",
                    pattern_name=namer.names_[node.id],
                    summary=self._summary(hierarchy, node, reps),
                    category=category,
                    category_scores=scores,
                    strength=strength(value, base, full_lift=self.full_lift),
                    keywords=self._keywords(node.id),
                    representative_ids=[int(hierarchy.item_ids[i]) for i in reps],
                    coherence=round(value, 5),
                )
        self.cards_ = cards
        log.info("offline cards for %d clusters", len(cards))
        return self

    def _keywords(self, cluster_id: int) -> list[str]:
        """The best-scored phrases, the name's first, none repeating another's words."""
        namer = self.namer_
        ranked = [namer.raw_[cluster_id], *namer.phrases_.get(cluster_id, [])]
        out: list[str] = []
        used: set[str] = set()
        for phrase in ranked:
            words = {_stem(w) for w in phrase.split()}
            if not phrase or words & used:
                continue
            out.append(namer.case_.plain(phrase))
            used |= words
            if len(out) == self.params.keywords:
                break
        return out

    def _summary(self, hierarchy: ClusterTree, node: ClusterNode, reps: np.ndarray) -> str:
        namer = self.namer_
        coverage = namer.coverage_.get(node.id, {})
        name_words = {_stem(w) for w in namer.raw_[node.id].split()}
        phrases = []
        used = set(name_words)
        for phrase, share in sorted(coverage.items(), key=lambda kv: -kv[1]):
            words = {_stem(w) for w in phrase.split()}
            if words & used:
                continue
            used |= words
            phrases.append((namer.case_.plain(phrase), share))
        titles = hierarchy.titles
        quotes = [
            short_quote(titles[i] if titles is not None and titles[i] else hierarchy.texts[i])
            for i in reps
        ]
        children = sorted(hierarchy.children(node), key=lambda c: -c.size)
        parts = [(namer.names_[c.id], c.size) for c in children] if len(children) > 1 else []
        return evidence_summary(
            size=node.size,
            phrases=phrases,
            quotes=quotes,
            parts=parts,
            max_quotes=self.params.summary_sentences,
            max_chars=self.params.summary_max_chars,
        )

    def _category_vectors(self, descriptions: Sequence[str]) -> np.ndarray | None:
        if self.embedder is None:
            log.warning("no embedder: offline cards get no category")
            return None
        return np.asarray(self.embedder.embed(list(descriptions)), dtype=np.float32)
