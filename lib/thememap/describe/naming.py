"""Offline cluster names: noun phrases scored by embedding, contrast and coverage.

For every cluster (KeyBERT / Toponymy style, with the model that embedded the items):

1. **candidates**: name-shaped phrases (:mod:`thememap.describe.nounphrase`, corpus-generic
   words stopped by :func:`~thememap.describe.keyphrases.generic_words`), the best by
   class-based TF-IDF against the siblings, the most widespread in the cluster, and (when
   the items have titles) the most frequent in the members' titles;
2. **score** = relevance x coverage^``coverage_power`` x a small bonus per extra word and
   for phrases the items' titles use::

       relevance = cos(p, own) + contrast * (cos(p, own) - max cos(p, other clusters of the level))

   where ``p`` is the phrase's embedding and ``own`` the cluster's centre; coverage is the
   share of its items holding the phrase. A **parent** is named from what its children
   share: its centre and coverage are its children's, averaged with sqrt(size) weights (a
   big child counts more, not all), and the score is cut when under half of the parent's
   items sit in children where >= 5% hold the phrase, so neither its largest child nor a
   small distinctive one names it alone;
3. **choice**, top-down: siblings take the best names greedily (best score first, no two
   alike), and a child never takes its parent's (or any ancestor's) name nor a phrase made
   only of their words ("Mail" under "Mail clients"): it takes a more specific one.

4. **parts**: a level-1 theme whose name is said mostly outside it (under half of the
   items holding it are the theme's: "Software" over science and graphics), or that names
   only a corner of a mixed theme (under a quarter of its items hold the name and no
   sub-theme holds two thirds of them: "Functions" over images, Octave and molecules), is
   named by its two largest sub-themes instead ("Images & Computer Algebra").

Names are title-cased with each word in its most frequent spelling in the corpus
("SQL database" -> "SQL Database", "latex" -> "LaTeX").
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from thememap.ctfidf import ctfidf
from thememap.describe.hierarchy import ClusterNode, ClusterTree
from thememap.describe.keyphrases import (
    PHRASE_BONUS,
    PhraseCounts,
    _stem,
    class_counts,
)
from thememap.describe.nounphrase import CONNECTORS
from thememap.embed.base import Embedder
from thememap.vectors import unit_rows

log = logging.getLogger(__name__)

_CASE_TOKEN = re.compile(r"[^\W\d_][\w+#'-]*[\w+#]|[^\W\d_]", re.UNICODE)
UNNAMED = "Unnamed cluster"
CASE_SAMPLE = 5_000  # texts read for the corpus spelling of name words
SHARED_MIN = 0.05  # a child "says" a phrase when this share of its items hold it
PLURAL_SHARE = 0.3  # a name's head noun goes plural when the plural is this common
DOMINANT_CHILD = 2 / 3  # a sub-theme this big makes its parent mostly itself: not mixed


@dataclass(frozen=True)
class NamingSettings:
    """How candidates are gathered and scored (defaults in DescribeParams)."""

    candidates: int = 8  # embedded per cluster (c-TF-IDF); a quarter more each by coverage, titles
    contrast: float = 2.0
    coverage_power: float = 0.3
    parent_coverage_power: float = 0.5  # for clusters with children
    title_weight: float = 0.5
    parts_below_precision: float = 0.5  # a parent named by its parts when its name says less
    parts_below_coverage: float = 0.25  # ... or when a mixed parent's name covers less of it


def stem_key(phrase: str) -> frozenset[str]:
    """Word set with plurals folded: equal keys mean the same name."""
    return frozenset(_stem(w) for w in phrase.lower().split() if w not in CONNECTORS)


def _top(values: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    vals = np.where(allowed, values, -np.inf)
    k = min(k, int(np.sum(np.isfinite(vals) & (vals > 0))))
    if k <= 0:
        return []
    idx = np.argpartition(-vals, k - 1)[:k]
    return [int(i) for i in idx[np.argsort(-vals[idx], kind="stable")]]


class CaseMap:
    """Most frequent spelling of each word in the corpus (for acronyms and brand names)."""

    def __init__(self, texts: Iterable[str], words: set[str]) -> None:
        seen: Counter[str] = Counter()
        for text in texts:
            seen.update(_CASE_TOKEN.findall(text))
        best: dict[str, tuple[int, str]] = {}
        for token, n in seen.items():
            low = token.lower()
            if low in words and n > best.get(low, (0, ""))[0]:
                best[low] = (n, token)
        self.forms = {w: form for w, (_, form) in best.items()}

    def word(self, word: str, *, first: bool) -> str:
        """``word`` as a title word: its corpus spelling if that is not plain lower/capitalised."""
        if word in CONNECTORS and not first:
            return word
        form = self.forms.get(word, word)
        if form[1:] != form[1:].lower():  # SQL, LaTeX, iOS, GNOME: keep as written
            return form
        return word[:1].upper() + word[1:]

    def has_stray_token(self, phrase: str) -> bool:
        """A one- or two-letter word the corpus writes in lower case ("tm", "pd"): not a name."""
        return any(len(w) <= 2 and self.forms.get(w, w) == w.lower() for w in phrase.split()
                   if w not in CONNECTORS)  # fmt: skip

    def plain(self, phrase: str) -> str:
        """A lower-case phrase with acronyms and brand names as the corpus writes them."""
        out = []
        for w in phrase.split():
            form = self.forms.get(w, w)
            out.append(form if form[1:] != form[1:].lower() else w)
        return " ".join(out)

    def title(self, phrase: str) -> str:
        """Title case of a lower-case phrase."""
        return " ".join(self.word(w, first=i == 0) for i, w in enumerate(phrase.split()))


def _level_coverage(
    hierarchy: ClusterTree, counts: PhraseCounts
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Per node: coverage (share of members holding each phrase) and c-TF-IDF vs siblings."""
    n_items = max(counts.matrix.shape[0], 1)
    corpus_df = np.asarray(counts.matrix.sum(axis=0)).ravel()
    corpus_idf = np.log(n_items / np.maximum(corpus_df, 1.0))
    coverage: dict[int, np.ndarray] = {}
    scores: dict[int, np.ndarray] = {}
    for level in hierarchy.levels:
        for group in hierarchy.sibling_groups(level):
            df = class_counts(counts, group)
            sizes = np.array([n.size for n in group], dtype=np.float32)
            tfidf = ctfidf(df, sizes, corpus_idf)
            for row, node in enumerate(group):
                coverage[node.id] = df[row] / max(node.size, 1)
                scores[node.id] = tfidf[row]
    return coverage, scores


def _plurals(counts: PhraseCounts, *, share: float = PLURAL_SHARE) -> dict[str, str]:
    """Singular -> plural for nouns whose plural is common in the corpus ("game" -> "games")."""
    df = np.asarray(counts.matrix.sum(axis=0)).ravel()
    single = {
        str(p): float(d)
        for p, d, n in zip(counts.vocabulary, df, counts.n_words, strict=True)
        if n == 1
    }
    out = {}
    for word, d in single.items():
        plural = (
            word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
        )
        if not word.endswith("s") and single.get(plural, 0.0) >= share * d:
            out[word] = plural
    return out


def _pluralise(phrase: str, plurals: dict[str, str]) -> str:
    """The phrase with its head noun (last word) in the plural, when the corpus uses it."""
    words = phrase.split()
    if len(words) >= 3 and words[-2] in CONNECTORS:  # "game of life": the head is first
        return phrase
    words[-1] = plurals.get(words[-1], words[-1])
    return " ".join(words)


def _spread(
    children: Sequence[ClusterNode], coverage: dict[int, np.ndarray], cols: list[int]
) -> np.ndarray:
    """Per phrase: share of the parent's items in children where >= SHARED_MIN hold it."""
    sizes = np.array([c.size for c in children], dtype=np.float64)
    held = np.vstack([coverage[c.id][cols] >= SHARED_MIN for c in children])
    out: np.ndarray = (sizes[:, None] * held).sum(axis=0) / sizes.sum()
    return out


def child_weights(children: Sequence[ClusterNode]) -> np.ndarray:
    """Weights of a parent's children: sqrt(size), normalised (a big child counts, not all)."""
    w = np.sqrt(np.array([c.size for c in children], dtype=np.float64))
    return w / w.sum()


def _balanced(hierarchy: ClusterTree, node: ClusterNode, rows: dict[int, np.ndarray]) -> np.ndarray:
    """The children's rows averaged with :func:`child_weights`; the node's own if it has <2."""
    children = hierarchy.children(node)
    if len(children) < 2:
        return rows[node.id]
    weights = child_weights(children)
    return np.asarray(sum(w * rows[c.id] for w, c in zip(weights, children, strict=True)))


def name_centres(hierarchy: ClusterTree) -> dict[int, np.ndarray]:
    """Centre each node is named by: its centroid, or its children's centres averaged."""
    centres: dict[int, np.ndarray] = {}
    for level in reversed(hierarchy.levels):
        for node in hierarchy.level(level):
            children = hierarchy.children(node)
            if len(children) >= 2:
                weights = child_weights(children)
                mean = sum(w * centres[c.id] for w, c in zip(weights, children, strict=True))
                centres[node.id] = unit_rows(np.asarray(mean)[None, :], tolerance=0)[0]
            else:
                centres[node.id] = hierarchy.centroid(node)
    return centres


def contrast_relevance(sims: np.ndarray, row: int, contrast: float) -> np.ndarray:
    """How well each phrase names the cluster at column ``row`` of ``sims`` (phrases x the
    level's name centres, cosines): ``own + contrast * (own - best other)``."""
    own = sims[:, row]
    others = np.delete(sims, row, axis=1)
    best_other = others.max(axis=1) if others.shape[1] else np.zeros_like(own)
    return np.asarray(own + contrast * (own - best_other))


class Namer:
    """Chooses a name (and ranked key phrases) for every cluster of a hierarchy.

    ``fit`` fills ``names_`` (cluster id -> display name), ``phrases_`` (cluster id ->
    ranked lower-case candidate phrases, best first) and ``coverage_`` (cluster id ->
    {phrase: share of its items holding it}).
    """

    def __init__(
        self,
        *,
        embedder: Embedder | None,
        settings: NamingSettings | None = None,
    ) -> None:
        self.embedder = embedder
        self.settings = settings or NamingSettings()

    def fit(
        self,
        hierarchy: ClusterTree,
        counts: PhraseCounts,
        mask: np.ndarray,
        *,
        title_counts: PhraseCounts | None = None,
    ) -> Namer:
        """Score candidates for every node and choose names top-down."""
        s = self.settings
        keep = np.flatnonzero(mask)
        counts = PhraseCounts(counts.matrix[:, keep].tocsr(), counts.vocabulary[keep])
        if title_counts is not None:
            title_counts = PhraseCounts(
                title_counts.matrix[:, keep].tocsr(), title_counts.vocabulary[keep]
            )
        coverage, tfidf = _level_coverage(hierarchy, counts)
        title_cov = _level_coverage(hierarchy, title_counts)[0] if title_counts else None
        vocab = counts.vocabulary
        bonus = 1.0 + PHRASE_BONUS * (counts.n_words - 1)
        allowed = np.ones(len(vocab), dtype=bool)

        pools: dict[int, list[int]] = {}
        cov_of: dict[int, np.ndarray] = {}
        tcov_of: dict[int, np.ndarray] = {}
        for node in hierarchy.nodes:
            cov = _balanced(hierarchy, node, coverage)
            cov_of[node.id] = cov
            # cheap pre-score: only these candidates are embedded
            pool = _top(tfidf[node.id] * np.sqrt(cov) * bonus, allowed, s.candidates)
            pool += _top(cov * bonus, allowed, s.candidates // 4)
            if title_cov is not None:
                tcov = _balanced(hierarchy, node, title_cov)
                tcov_of[node.id] = tcov
                pool += _top(tcov * bonus, allowed, s.candidates // 4)
            pools[node.id] = list(dict.fromkeys(pool))

        unique = sorted({c for pool in pools.values() for c in pool})
        col_row = {c: i for i, c in enumerate(unique)}
        phrase_vectors = self._embed([str(vocab[c]) for c in unique])
        centres = name_centres(hierarchy)

        scored: dict[int, list[tuple[float, int]]] = {}
        for level in hierarchy.levels:
            nodes = hierarchy.level(level)
            level_centres = np.vstack([centres[n.id] for n in nodes])
            for row, node in enumerate(nodes):
                cols = pools[node.id]
                if not cols:
                    scored[node.id] = []
                    continue
                cov = cov_of[node.id][cols]
                children = hierarchy.children(node)
                power = s.parent_coverage_power if children else s.coverage_power
                value = np.power(np.maximum(cov, 1e-6), power) * bonus[cols]
                if len(children) >= 2:  # what the children share, not what one of them says
                    value = value * np.minimum(1.0, 2.0 * _spread(children, coverage, cols))
                if phrase_vectors is not None:
                    sims = phrase_vectors[[col_row[c] for c in cols]] @ level_centres.T
                    relevance = contrast_relevance(sims, row, s.contrast)
                    value = value * np.maximum(relevance, 1e-3)
                else:  # no embedder: contrast by c-TF-IDF alone
                    value = value * np.maximum(tfidf[node.id][cols], 1e-6)
                if node.id in tcov_of:
                    share = tcov_of[node.id][cols] / np.maximum(cov, 1e-6)
                    value = value * (1.0 + s.title_weight * np.minimum(share, 1.0))
                order = np.argsort(-value, kind="stable")
                scored[node.id] = [(float(value[i]), cols[i]) for i in order]

        self.phrases_ = {nid: [str(vocab[c]) for _, c in ranked] for nid, ranked in scored.items()}
        self.coverage_ = {
            nid: {str(vocab[c]): round(float(coverage[nid][c]), 4) for _, c in ranked}
            for nid, ranked in scored.items()
        }
        words = {w for ranked in self.phrases_.values() for p in ranked for w in p.split()}
        step = max(1, len(hierarchy.texts) // CASE_SAMPLE)
        case = CaseMap(hierarchy.texts[::step], words)
        chosen = self._choose(hierarchy, scored, vocab, case)
        self.case_ = case
        self.keys_ = {nid: stem_key(p) for nid, p in chosen.items()}
        plural = _plurals(counts)
        self.names_ = {
            nid: case.title(_pluralise(p, plural)) if p else UNNAMED for nid, p in chosen.items()
        }
        self.raw_ = chosen
        self.parts_ = self._name_by_parts(hierarchy, counts, coverage, chosen)
        return self

    def _name_by_parts(
        self,
        hierarchy: ClusterTree,
        counts: PhraseCounts,
        coverage: dict[int, np.ndarray],
        chosen: dict[int, str],
    ) -> set[int]:
        """Level-1 themes whose name does not name the whole are named by their two largest
        children instead ("Images & Computer Algebra"): a mixed theme shows its parts, not a
        word said everywhere nor one part's word. Two tests, each 0 = off:

        * **precision**: the name is said mostly outside the theme ("Software" over science
          and graphics: the share of the items holding it that are the theme's is under
          ``parts_below_precision``);
        * **coverage**: under ``parts_below_coverage`` of the theme's items hold its name
          and no child holds ``DOMINANT_CHILD`` of them ("Functions" over images, Octave
          and molecular dynamics; "Music" over images, games and audio). A theme that is
          mostly one child is that child's, and a short name for it is fair.

        The children's own names (chosen before) are used as they are. Only level 1, whose
        themes split the whole corpus: below it a good name is often said by the siblings
        too ("Databases" beside "PostgreSQL Extensions"), and the parent already says it
        (measured: bench/describe_quality.py)."""
        column = {str(p): i for i, p in enumerate(counts.vocabulary)}
        holders = np.maximum(np.asarray(counts.matrix.sum(axis=0)).ravel(), 1.0)
        before = dict(self.names_)
        renamed: set[int] = set()
        for node in hierarchy.level(hierarchy.levels[0]):
            children = sorted(hierarchy.children(node), key=lambda c: -c.size)
            col = column.get(chosen.get(node.id, ""))
            if len(children) < 2 or col is None:
                continue
            said = coverage[node.id][col]
            vague = said * node.size / holders[col] < self.settings.parts_below_precision
            mixed = children[0].size < DOMINANT_CHILD * node.size
            partial = mixed and said < self.settings.parts_below_coverage
            parts = [before[c.id] for c in children[:2]]
            if not (vague or partial) or UNNAMED in parts:
                continue
            self.names_[node.id] = " & ".join(parts)
            renamed.add(node.id)
        return renamed

    def _embed(self, phrases: Sequence[str]) -> np.ndarray | None:
        if self.embedder is None or not phrases:
            return None
        return np.asarray(self.embedder.embed(list(phrases)), dtype=np.float32)

    @staticmethod
    def _choose(
        hierarchy: ClusterTree,
        scored: dict[int, list[tuple[float, int]]],
        vocab: np.ndarray,
        case: CaseMap,
    ) -> dict[int, str]:
        """Top-down; within a sibling group best score first; no repeats of parent or sibling."""
        chosen: dict[int, str] = {}
        for level in hierarchy.levels:
            for group in hierarchy.sibling_groups(level):
                ancestors: list[frozenset[str]] = []
                parent_id = group[0].parent_id
                while parent_id is not None:
                    if chosen.get(parent_id):
                        ancestors.append(stem_key(chosen[parent_id]))
                    parent_id = hierarchy.node(parent_id).parent_id
                taken: set[frozenset[str]] = set()
                options: dict[int, list[tuple[float, str]]] = {}
                for node in group:
                    ok = []
                    for value, col in scored.get(node.id, []):
                        phrase = str(vocab[col])
                        if case.has_stray_token(phrase):
                            continue
                        key = stem_key(phrase)
                        if any(key <= above for above in ancestors):
                            continue  # an ancestor's name, or only its words: not more specific
                        ok.append((value, phrase))
                    options[node.id] = ok
                pending = {n.id for n in group}
                while pending:
                    best: tuple[float, int, str] | None = None
                    for nid in pending:
                        for value, phrase in options[nid]:
                            if stem_key(phrase) in taken:
                                continue
                            if best is None or value > best[0]:
                                best = (value, nid, phrase)
                            break
                    if best is None:
                        for nid in pending:
                            chosen[nid] = ""
                        break
                    _, nid, phrase = best
                    chosen[nid] = phrase
                    taken.add(stem_key(phrase))
                    pending.discard(nid)
        return chosen
