"""Describe-step test helpers: a deterministic bag-of-words embedder and a small corpus.

No model is loaded: vectors are signed feature hashes of the words, so texts that
share words are near each other, which is all the describe step's logic needs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from thememap.describe.hierarchy import ClusterTree
from thememap.store import open_store, transaction
from thememap.store.clusters import LevelRecords, replace_run_clusters
from thememap.store.vectors import put_vectors
from thememap.vectors import unit_rows

_WORD = re.compile(r"[a-z]+")


class BowEmbedder:
    """Signed feature hashing of lower-cased words into ``dim`` dimensions."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def model_id(self) -> str:
        return f"test-bow-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                out[row, h % self._dim] += 1.0 if (h >> 31) & 1 else -1.0
        return unit_rows(out + 1e-6, tolerance=0)


# topic -> subtopic -> words that make its items
TOPICS: dict[str, dict[str, list[str]]] = {
    "games": {
        "chess": ["chess", "engine", "board", "opening", "grandmaster", "move"],
        "arcade": ["arcade", "shooter", "spaceship", "levels", "score", "retro"],
    },
    "science": {
        "astronomy": ["telescope", "astronomy", "stars", "planetarium", "sky", "orbit"],
        "chemistry": ["molecule", "chemistry", "reaction", "viewer", "atoms", "bonds"],
    },
    "mail": {
        "clients": ["mail", "client", "inbox", "imap", "reader", "folders"],
        "servers": ["smtp", "server", "relay", "spam", "filter", "queue"],
    },
}
FILLER = ["the", "a", "program", "tool", "for", "with", "and", "this", "package", "provides"]


def corpus(items_per_leaf: int = 12, seed: int = 0) -> tuple[list[str], list[np.ndarray]]:
    """Texts and nested labels (level 1: topic, level 2: subtopic)."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    l1: list[int] = []
    l2: list[int] = []
    leaf = 0
    for t, subtopics in enumerate(TOPICS.values()):
        for words in subtopics.values():
            for _ in range(items_per_leaf):
                chosen = list(rng.choice(words, size=4, replace=False))
                filler = list(rng.choice(FILLER, size=4))
                sentence = " ".join(w for pair in zip(filler, chosen, strict=True) for w in pair)
                texts.append(
                    f"{sentence.capitalize()}. It is {chosen[0]} software for {chosen[1]}."
                )
                l1.append(t)
                l2.append(leaf)
            leaf += 1
    return texts, [np.asarray(l1), np.asarray(l2)]


def hierarchy(items_per_leaf: int = 12, seed: int = 0) -> ClusterTree:
    """A 2-level hierarchy (3 topics x 2 subtopics) over the synthetic corpus."""
    texts, labels = corpus(items_per_leaf, seed)
    vectors = BowEmbedder().embed(texts)
    ids = np.arange(100, 100 + len(texts))
    return ClusterTree.from_labels(ids, vectors, texts, labels)


def store_with_clusters(path: Path, h: ClusterTree, texts: list[str]) -> None:
    """A real store holding ``h`` as clustering run "run-c" (items, vectors, clusters)."""
    conn = open_store(path)
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(id, external_id, content, metadata, content_hash)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (int(i), f"ext-{i}", t, json.dumps({"title": f"pkg{i}"}), f"h{i}")
                for i, t in zip(h.item_ids, texts, strict=True)
            ],
        )
    put_vectors(conn, "test-bow", [f"h{i}" for i in h.item_ids], h.vectors)
    levels = []
    for level in h.levels:
        nodes = h.level(level)
        labels = np.full(len(h.item_ids), -1)
        for c, node in enumerate(nodes):
            labels[node.members] = c
        parent_nodes = h.level(level - 1) if level > 1 else []
        parents = np.array(
            [
                next((j for j, p in enumerate(parent_nodes) if p.id == n.parent_id), -1)
                for n in nodes
            ]
        )
        k = len(nodes)
        levels.append(
            LevelRecords(
                labels=labels, parents=parents, sizes=np.array([n.size for n in nodes]),
                centroids=h.centroids(nodes), coherence=np.zeros(k), stability=np.ones(k),
                representatives=[[] for _ in nodes], keywords=[[] for _ in nodes],
                centre_xy=None, strength=np.ones(len(labels)), outlier_score=np.zeros(len(labels)),
                placed_from_noise=np.zeros(len(labels), bool),
            )
        )  # fmt: skip
    replace_run_clusters(conn, "run-c", item_ids=h.item_ids, levels=levels, coords=None)
    conn.close()
