"""Per-cluster summaries: coherence, representative items, keywords, map anchors."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from thememap.ctfidf import ctfidf
from thememap.vectors import coherence as coherence_of
from thememap.vectors import mmr


def coherence(x: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Each cluster's :func:`thememap.vectors.coherence` (its placed members, unit rows)."""
    return np.array([coherence_of(x[m]) for m in _members(labels, n_clusters)], dtype=np.float64)


# MMR weight of the representatives stored per cluster: near the centroid counts twice as
# much as unlike the items already picked
REPRESENTATIVE_LAMBDA = 2 / 3


def representatives(
    x: np.ndarray, labels: np.ndarray, centroids: np.ndarray, *, n: int = 8, pool: int = 50
) -> list[list[int]]:
    """Row indices of ``n`` items per cluster, near the centroid and unlike each other
    (:func:`thememap.vectors.mmr` over the ``pool`` members nearest the centroid)."""
    out: list[list[int]] = []
    for c, members in enumerate(_members(labels, len(centroids))):
        picked = mmr(x[members], centroids[c], k=n, lambda_=REPRESENTATIVE_LAMBDA, pool=pool)
        out.append([int(members[i]) for i in picked])
    return out


def _members(labels: np.ndarray, n_clusters: int) -> list[np.ndarray]:
    """Row indices of each cluster ``0..n_clusters-1`` (unplaced rows, -1, in none)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_clusters + 1))
    return [order[bounds[c] : bounds[c + 1]] for c in range(n_clusters)]


_TOKEN = re.compile(r"(?u)\b[^\W\d_][\w'-]+\b")


def keywords(
    texts: Sequence[str],
    labels: np.ndarray,
    n_clusters: int,
    *,
    top: int = 6,
    per_cluster: int = 300,
    seed: int = 0,
) -> list[list[str]]:
    """Top terms per cluster by class-based TF-IDF over at most ``per_cluster`` texts each.

    English stop words are dropped; terms must occur in two or more texts.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    rng = np.random.default_rng(seed)
    rows: list[int] = []
    for members in _members(labels, n_clusters):
        if len(members) > per_cluster:
            members = np.sort(rng.choice(members, per_cluster, replace=False))
        rows.extend(members.tolist())
    if not rows:
        return [[] for _ in range(n_clusters)]
    docs = [texts[i] for i in rows]
    try:
        vec = CountVectorizer(
            stop_words="english",
            token_pattern=_TOKEN.pattern,
            min_df=2,
            max_features=50_000,
            ngram_range=(1, 1),
        )
        counts = vec.fit_transform(docs)
    except ValueError:  # every text empty or stop words only
        return [[] for _ in range(n_clusters)]
    from scipy.sparse import csr_matrix

    lab = labels[rows]
    onehot = csr_matrix(
        (np.ones(len(rows)), (lab, np.arange(len(rows)))), shape=(n_clusters, len(rows))
    )
    raw = np.asarray((onehot @ counts).todense(), dtype=np.float64)
    score = ctfidf(raw, raw.sum(1))  # on word counts: a cluster's size is its words
    terms = np.asarray(vec.get_feature_names_out())
    out = []
    for c in range(n_clusters):
        best = np.argsort(-score[c], kind="stable")[:top]
        out.append([str(terms[i]) for i in best if score[c, i] > 0])
    return out


def anchors(coords: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Each cluster's label position on the map: the median of its members' positions."""
    out = np.full((n_clusters, 2), np.nan, dtype=np.float32)
    for c, members in enumerate(_members(labels, n_clusters)):
        if len(members):
            out[c] = np.median(coords[members], axis=0)
    return out
