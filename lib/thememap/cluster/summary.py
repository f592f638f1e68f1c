"""Per-cluster summaries: coherence, representative items, keywords, map anchors."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np


def coherence(strength: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Mean cosine of each cluster's placed members to its centroid."""
    placed = labels >= 0
    total = np.bincount(labels[placed], weights=strength[placed], minlength=n_clusters)
    count = np.bincount(labels[placed], minlength=n_clusters)
    return total / np.maximum(count, 1)


def representatives(
    x: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray,
    *,
    n: int = 8,
    pool: int = 50,
    diversity: float = 0.5,
) -> list[list[int]]:
    """Row indices of ``n`` items per cluster: near the centroid and unlike each other.

    From the ``pool`` members closest to the centroid, picks greedily by maximal
    marginal relevance: ``cos(item, centroid) - diversity * max cos(item, picked)``.
    """
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(centroids) + 1))
    out: list[list[int]] = []
    for c in range(len(centroids)):
        members = order[bounds[c] : bounds[c + 1]]
        if len(members) == 0:
            out.append([])
            continue
        sims = x[members] @ centroids[c]
        top = members[np.argsort(-sims, kind="stable")[:pool]]
        rel = x[top] @ centroids[c]
        pair = x[top] @ x[top].T
        picked = [0]
        max_sim = pair[0].copy()
        while len(picked) < min(n, len(top)):
            score = rel - diversity * max_sim
            score[picked] = -np.inf
            nxt = int(np.argmax(score))
            picked.append(nxt)
            max_sim = np.maximum(max_sim, pair[nxt])
        out.append([int(top[i]) for i in picked])
    return out


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
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_clusters + 1))
    for c in range(n_clusters):
        members = order[bounds[c] : bounds[c + 1]]
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
    # BERTopic's c-TF-IDF: term share in the class x log(1 + mean class length / term count)
    idf = np.log(1.0 + raw.sum() / n_clusters / np.maximum(raw.sum(0), 1.0))
    score = raw / np.maximum(raw.sum(1, keepdims=True), 1.0) * idf
    terms = np.asarray(vec.get_feature_names_out())
    out = []
    for c in range(n_clusters):
        best = np.argsort(-score[c], kind="stable")[:top]
        out.append([str(terms[i]) for i in best if score[c, i] > 0])
    return out


def anchors(coords: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Each cluster's label position on the map: the median of its members' positions."""
    out = np.full((n_clusters, 2), np.nan, dtype=np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_clusters + 1))
    for c in range(n_clusters):
        members = order[bounds[c] : bounds[c + 1]]
        if len(members):
            out[c] = np.median(coords[members], axis=0)
    return out
