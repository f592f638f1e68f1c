"""Quick checks that the vectors make sense: nearest neighbours and similarity spread."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd

from thememap.store.items import item_contents
from thememap.store.vectors import load_item_vectors


def nearest_neighbours(
    conn: sqlite3.Connection,
    *,
    model_id: str | None = None,
    queries: int = 5,
    k: int = 3,
    seed: int = 0,
    max_chars: int = 120,
) -> pd.DataFrame:
    """For a few random items, their ``k`` nearest other items by cosine (exact duplicates skipped).

    A sanity check to read: neighbours should be about the same thing.
    """
    ids, vectors = load_item_vectors(conn, model_id)
    if len(ids) < 2:
        return pd.DataFrame(columns=["query", "rank", "neighbour", "cosine"])
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(ids), size=min(queries, len(ids)), replace=False)
    texts = item_contents(conn)
    rows = []
    for pick in picks:
        sims = vectors @ vectors[pick]
        sims[pick] = -np.inf
        order = np.argsort(-sims)
        found = 0
        for j in order:
            if found == k or not np.isfinite(sims[j]):
                break
            if texts[int(ids[j])] == texts[int(ids[pick])]:
                continue  # an exact duplicate says nothing about the model
            found += 1
            rows.append(
                {
                    "query": _short(texts[int(ids[pick])], max_chars),
                    "rank": found,
                    "neighbour": _short(texts[int(ids[j])], max_chars),
                    "cosine": round(float(sims[j]), 3),
                }
            )
    return pd.DataFrame(rows)


def pairwise_similarities(vectors: np.ndarray, *, sample: int = 2000, seed: int = 0) -> np.ndarray:
    """Cosines between distinct pairs of a random sample (for a histogram)."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    pick = rng.choice(n, size=min(sample, n), replace=False) if n else np.array([], dtype=int)
    sub = vectors[pick]
    sims = sub @ sub.T
    return sims[np.triu_indices(len(sub), k=1)]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
