"""Distinctive key phrases per cluster: class-based TF-IDF against the cluster's siblings.

Each sibling group (the children of one parent; the whole top level for level 1)
is one small "corpus of classes" (:func:`thememap.ctfidf.ctfidf`): a phrase scores
high for a cluster when it is frequent in that cluster and rare in its siblings, so
siblings get different names. A small share of level-wide IDF keeps words that every sibling shares but
that still say something about the parent (otherwise a leaf could lose its topic).

Phrases are 1..``ngram_max`` word n-grams that neither start nor end with a stop
word and hold no stop word inside except connectors ("game of life" is kept,
"of the" and "driver is compatible" are not); longer phrases get a small bonus
because they read better, and a phrase overlapping a better one is skipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from thememap.ctfidf import ctfidf
from thememap.describe.hierarchy import ClusterNode, ClusterTree

_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+")
_TOKEN = re.compile(r"[^\W\d_][\w+#'-]*[\w+#]|[^\W\d_]", re.UNICODE)

# Stop words allowed inside a phrase ("game of life", "tools for astronomy").
CONNECTORS = frozenset({"of", "for", "and", "in", "on", "to", "with", "de", "la", "du"})
# A phrase is cut out of a longer one when its edge word has the same neighbour this often.
TRUNCATION_SHARE = 0.5
# Score multiplier per extra word in a phrase: readable phrases beat single words.
PHRASE_BONUS = 0.35


def normalise(text: str) -> str:
    """Lower-case, NFKC, accents stripped, URLs and e-mail addresses removed."""
    text = _URL.sub(" ", text).lower()
    if text.isascii():  # the common case: nothing to fold
        return text
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def make_analyzer(
    *, ngram_max: int = 3, stop_words: frozenset[str] = frozenset()
) -> Callable[[str], list[str]]:
    """Text -> phrases: n-grams up to ``ngram_max`` words not starting/ending in a stop word."""

    def analyse(text: str) -> list[str]:
        tokens = [t.strip("'-") for t in _TOKEN.findall(normalise(text))]
        tokens = [t for t in tokens if len(t) > 1 or t in "c"]
        out: set[str] = set()  # presence per item is all that is counted
        n_tokens = len(tokens)
        stop = [t in stop_words for t in tokens]
        # a stop word inside a phrase is allowed only if it is a connector
        blocks = [st and t not in CONNECTORS for st, t in zip(stop, tokens, strict=True)]
        for i, first in enumerate(tokens):
            if stop[i]:
                continue
            out.add(first)
            phrase = first
            for j in range(i + 1, min(i + ngram_max, n_tokens)):
                phrase = f"{phrase} {tokens[j]}"
                if not stop[j]:
                    out.add(phrase)
                elif blocks[j]:
                    break  # "driver is compatible", "font this package": not a phrase
        return list(out)

    return analyse


@dataclass
class PhraseCounts:
    """Item-by-phrase counts of the whole corpus (computed once per describe run)."""

    matrix: sparse.csr_matrix
    vocabulary: np.ndarray  # phrase strings, column order

    def __post_init__(self) -> None:
        self.n_words = np.array([p.count(" ") + 1 for p in self.vocabulary], dtype=np.float32)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        *,
        ngram_max: int = 3,
        min_df: int = 2,
        max_vocab: int = 50_000,
        stop_words: Sequence[str] | None = None,
    ) -> PhraseCounts:
        """Count phrases in ``texts`` (phrases in fewer than ``min_df`` items are dropped).

        Column order is alphabetical and ``max_vocab`` keeps the most frequent phrases
        (ties in alphabetical order), as scikit-learn's CountVectorizer does; counted
        here directly because that class sorts the whole vocabulary, every phrase seen
        once included, which was a quarter of a describe run on long texts.
        """
        stops = frozenset(ENGLISH_STOP_WORDS if stop_words is None else stop_words)
        analyse = make_analyzer(ngram_max=ngram_max, stop_words=stops)
        # A phrase counts once per item (the analyser returns a set): one long item
        # repeating a word must not name a cluster.
        docs = [analyse(text) for text in texts]
        doc_freq = Counter(chain.from_iterable(docs))
        floor = min(min_df, max(1, len(texts)))
        vocabulary = sorted(phrase for phrase, df in doc_freq.items() if df >= floor)
        if len(vocabulary) > max_vocab:
            freq = np.array([doc_freq[phrase] for phrase in vocabulary])
            keep = np.sort(np.argsort(-freq, kind="stable")[:max_vocab])
            vocabulary = [vocabulary[i] for i in keep]
        column = {phrase: i for i, phrase in enumerate(vocabulary)}
        indptr, indices = [0], []
        for doc in docs:
            indices.extend(sorted(column[p] for p in doc if p in column))
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (np.ones(len(indices), np.float32), np.asarray(indices, np.int64), np.asarray(indptr)),
            shape=(len(texts), len(vocabulary)),
        )
        return cls(matrix, np.asarray(vocabulary, dtype=str))

    def by_frequency(self, phrases: Iterable[str]) -> list[str]:
        """``phrases`` of the vocabulary, in most items first (ties alphabetical)."""
        wanted = set(phrases)
        cols = np.flatnonzero(np.isin(self.vocabulary, list(wanted)))
        df = np.asarray(self.matrix[:, cols].sum(axis=0)).ravel()
        # cols are alphabetical, so a stable sort keeps ties alphabetical
        return [str(self.vocabulary[cols[i]]) for i in np.argsort(-df, kind="stable")]


def class_counts(counts: PhraseCounts, nodes: Sequence[ClusterNode]) -> np.ndarray:
    """Items containing each phrase, per node: dense ``(len(nodes), n_phrases)``."""
    rows = np.concatenate([node.members for node in nodes])
    cols = np.repeat(np.arange(len(nodes)), [node.size for node in nodes])
    indicator = sparse.csr_matrix(
        (np.ones(len(rows), np.float32), (cols, rows)),
        shape=(len(nodes), counts.matrix.shape[0]),
    )
    return np.asarray((indicator @ counts.matrix).todense(), dtype=np.float32)


def _stem(word: str) -> str:
    """Crude plural folding for overlap checks ("games" ~ "game", "fonts" ~ "font")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def top_phrases(scores: np.ndarray, counts: PhraseCounts, *, k: int) -> list[str]:
    """The ``k`` best phrases of one class, longer phrases favoured, overlaps skipped."""
    if scores.size == 0:
        return []
    vocabulary = counts.vocabulary
    boosted = scores * (1.0 + PHRASE_BONUS * (counts.n_words - 1))
    order = np.argsort(-boosted, kind="stable")
    chosen: list[str] = []
    used: set[str] = set()
    for idx in order[: max(200, 20 * k)]:
        if boosted[idx] <= 0:
            break
        phrase = str(vocabulary[idx])
        words = {_stem(w) for w in phrase.split()}
        if words & used:
            continue  # "chess engine" after "chess" says little new
        chosen.append(phrase)
        used |= words
        if len(chosen) == k:
            break
    return chosen


def sibling_keyphrases(
    hierarchy: ClusterTree, counts: PhraseCounts, *, k: int = 8
) -> dict[int, list[str]]:
    """Key phrases of every cluster, each contrasted with its siblings."""
    phrases: dict[int, list[str]] = {}
    n_items = max(counts.matrix.shape[0], 1)
    corpus_df = np.asarray(counts.matrix.sum(axis=0)).ravel()
    corpus_idf = np.log(n_items / np.maximum(corpus_df, 1.0))
    for level in hierarchy.levels:
        for group in hierarchy.sibling_groups(level):
            df = class_counts(counts, group)
            sizes = np.array([n.size for n in group], dtype=np.float32)
            scores = ctfidf(df, sizes, corpus_idf)
            for row, node in enumerate(group):
                phrases[node.id] = top_phrases(scores[row], counts, k=k)
    return phrases


def name_from_phrases(phrases: Sequence[str], *, min_words: int = 2, max_words: int = 5) -> str:
    """A readable 2-5 word name from the best key phrases.

    A phrase of ``min_words``..``max_words`` words among the best three is the name by
    itself ("Bittorrent client" rather than "Tool, bittorrent client"); otherwise the
    best phrases are joined until the name has ``min_words`` words ("Audio, sound").
    """
    if not phrases:
        return "Unnamed cluster"
    for phrase in phrases[:3]:
        if min_words <= len(phrase.split()) <= max_words:
            return phrase[:1].upper() + phrase[1:]
    parts: list[str] = []
    words = 0
    for phrase in phrases:
        n = len(phrase.split())
        if parts and words + n > max_words:
            break
        parts.append(phrase)
        words += n
        if words >= min_words:
            break
    name = ", ".join(parts)
    return name[:1].upper() + name[1:]


def generic_words(
    counts: PhraseCounts,
    top_nodes: Sequence[ClusterNode],
    *,
    min_share: float = 0.05,
    max_kl: float = 0.25,
) -> frozenset[str]:
    """Corpus boilerplate: single words in many items, spread evenly over the top clusters.

    A word is generic when at least ``min_share`` of all items hold it and its spread
    over the ``top_nodes`` (the coarsest clusters) is close to the clusters' own size
    distribution: Kullback-Leibler divergence of P(cluster | word) from P(cluster)
    under ``max_kl`` nats ("package" in package descriptions: 0.03; "game", as common
    but concentrated in one cluster: 1.8). Nothing about any corpus is hard-coded. With
    fewer than two top clusters no word is generic.
    """
    n_items = counts.matrix.shape[0]
    if n_items == 0 or counts.vocabulary.size == 0:
        return frozenset()
    df = np.asarray(counts.matrix.sum(axis=0)).ravel()
    cols = np.flatnonzero((df >= min_share * n_items) & (counts.n_words == 1))
    if cols.size == 0:
        return frozenset()
    if len(top_nodes) < 2:  # one top cluster: nothing to tell generic from topical
        return frozenset()
    per_node = class_counts(counts, top_nodes)[:, cols]  # (nodes, cols)
    sizes = np.array([n.size for n in top_nodes], dtype=np.float64)
    prior = sizes / sizes.sum()
    p = per_node / np.maximum(per_node.sum(axis=0, keepdims=True), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / prior[:, None]), 0.0)
    kl = terms.sum(axis=0)
    return frozenset(str(w) for w in counts.vocabulary[cols[kl < max_kl]])


def name_mask(
    counts: PhraseCounts,
    generic: frozenset[str],
    *,
    columns: np.ndarray | None = None,
    bound: float = TRUNCATION_SHARE,
) -> np.ndarray:
    """Boolean per vocabulary column: may this phrase be a name? (only ``columns`` checked)

    It must be name-shaped (:func:`thememap.describe.nounphrase.fragment_reason`) and not
    cut out of a longer phrase: a phrase whose first word is preceded by the same word in
    ``bound`` of that word's items ("purpose computer algebra" from "general purpose
    computer algebra"), or whose last word is followed by the same word that often
    ("software defined" before "radio"), is a truncation.
    """
    from thememap.describe.nounphrase import FUNCTION_WORDS, is_name_shaped

    vocab = [str(p) for p in counts.vocabulary]
    df = np.asarray(counts.matrix.sum(axis=0)).ravel()
    word_df = {p: float(d) for p, d, n in zip(vocab, df, counts.n_words, strict=True) if n == 1}
    left: dict[str, float] = {}
    right: dict[str, float] = {}
    for phrase, d, n in zip(vocab, df, counts.n_words, strict=True):
        if n != 2:
            continue
        a, b = phrase.split()
        if a not in FUNCTION_WORDS and a not in generic:
            left[b] = max(left.get(b, 0.0), float(d))
        if b not in FUNCTION_WORDS and b not in generic:
            right[a] = max(right.get(a, 0.0), float(d))
    out = np.zeros(len(vocab), dtype=bool)
    for i in range(len(vocab)) if columns is None else columns.tolist():
        phrase = vocab[i]
        if not is_name_shaped(phrase, generic=generic):
            continue
        words = phrase.split()
        first, last = words[0], words[-1]
        if left.get(first, 0.0) >= bound * word_df.get(first, np.inf):
            continue
        if right.get(last, 0.0) >= bound * word_df.get(last, np.inf):
            continue
        out[i] = True
    return out


def candidate_columns(
    hierarchy: ClusterTree, counts: PhraseCounts, *, per_node: int = 60
) -> np.ndarray:
    """Columns that could name some cluster: each node's best by c-TF-IDF and by coverage.

    Only these need the (slower, per-phrase) name-shape check.
    """
    n_items = max(counts.matrix.shape[0], 1)
    corpus_df = np.asarray(counts.matrix.sum(axis=0)).ravel()
    corpus_idf = np.log(n_items / np.maximum(corpus_df, 1.0))
    chosen: set[int] = set()
    for level in hierarchy.levels:
        for group in hierarchy.sibling_groups(level):
            df = class_counts(counts, group)
            sizes = np.array([n.size for n in group], dtype=np.float32)
            share = df / np.maximum(sizes[:, None], 1.0)
            for scores in (ctfidf(df, sizes, corpus_idf), share * corpus_idf[None, :]):
                k = min(per_node, scores.shape[1])
                if k == 0:
                    continue
                top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
                chosen.update(int(c) for c in top.ravel())
    return np.asarray(sorted(chosen), dtype=np.int64)


def aligned_counts(
    texts: Sequence[str], counts: PhraseCounts, *, ngram_max: int, stop_words: Sequence[str]
) -> PhraseCounts:
    """Counts of ``texts`` (e.g. item titles) over the columns of ``counts``."""
    if counts.vocabulary.size == 0:
        return PhraseCounts(sparse.csr_matrix((len(texts), 0), dtype=np.float32), counts.vocabulary)
    vectorizer = CountVectorizer(
        analyzer=make_analyzer(ngram_max=ngram_max, stop_words=frozenset(stop_words)),
        vocabulary={str(p): i for i, p in enumerate(counts.vocabulary)},
        dtype=np.float32,
    )
    matrix = vectorizer.transform(texts).tocsr()
    matrix.data[:] = 1.0
    return PhraseCounts(matrix, counts.vocabulary)
