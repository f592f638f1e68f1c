"""Resampled corpora from the labelled Debian dev corpus (benchmark input, not library).

Each corpus is a seeded draw: a random subset of 5 to 14 sections, Dirichlet
proportions (alpha 0.7, so some sections are ten times others), 1,500 to 9,000
items, sampled without replacement inside each section. The same seeds give
the same corpora on every machine, so the set is reproducible; nothing here
looks at what the sections are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path.home() / ".cache" / "thememap" / "bench"


@dataclass
class Corpus:
    """Rows of the dev corpus in one resampled corpus, with their labels."""

    seed: int
    rows: np.ndarray  # indices into the dev corpus
    section: np.ndarray  # section of each row (str)

    @property
    def n_sections(self) -> int:
        """Number of sections present."""
        return len(set(self.section.tolist()))

    def describe(self) -> str:
        """One line: seed, size, sections and the largest/smallest section sizes."""
        _, counts = np.unique(self.section, return_counts=True)
        return (
            f"corpus {self.seed}: {len(self.rows)} items, {self.n_sections} sections,"
            f" largest {counts.max()} / smallest {counts.min()}"
        )


def draw_corpus(
    sections: np.ndarray,
    seed: int,
    *,
    k_range: tuple[int, int] = (5, 14),
    n_range: tuple[int, int] = (1500, 9000),
    alpha: float = 0.7,
    min_per_section: int = 20,
) -> Corpus:
    """One resampled corpus over the rows whose labels are ``sections``."""
    rng = np.random.default_rng(10_000 + seed)
    names = np.unique(sections)
    while True:  # redraw until the chosen sections can hold the drawn size
        k = int(rng.integers(k_range[0], min(k_range[1], len(names)) + 1))
        chosen = rng.choice(names, size=k, replace=False)
        available = np.array([(sections == s).sum() for s in chosen])
        target = int(rng.integers(n_range[0], n_range[1] + 1))
        if available.sum() >= target:
            break
    share = rng.dirichlet(np.full(k, alpha))
    take = _water_fill(share, available, target, min_per_section)
    rows = np.concatenate(
        [
            rng.choice(np.flatnonzero(sections == s), size=int(m), replace=False)
            for s, m in zip(chosen, take, strict=True)
        ]
    )
    rows = np.sort(rows)
    return Corpus(seed=seed, rows=rows, section=sections[rows])


def _water_fill(share: np.ndarray, cap: np.ndarray, total: int, floor: int) -> np.ndarray:
    """Counts proportional to ``share`` summing to ``total``, each in ``[floor, cap]``."""
    take = np.minimum(np.full(len(share), floor), cap)
    for _ in range(len(share) + 1):
        room = cap - take
        left = total - int(take.sum())
        if left <= 0 or not (room > 0).any():
            break
        w = np.where(room > 0, share, 0.0)
        add = np.minimum(np.floor(w / w.sum() * left).astype(int), room)
        if add.sum() == 0:
            add[int(np.argmax(np.where(room > 0, share, -1)))] = 1
        take = take + add
    return take


def load_dev(cache: Path = CACHE) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The dev corpus's unit vectors and metadata (written by bench/corpus_vectors.py)."""
    x = np.load(cache / "debian_minilm.npy").astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    meta = json.loads((cache / "debian_meta.json").read_text())
    return x, meta


def resampled_corpora(meta: list[dict[str, Any]], count: int = 30) -> list[Corpus]:
    """The benchmark's ``count`` resampled corpora (seeds 0..count-1)."""
    sections = np.asarray([m["section"] for m in meta])
    return [draw_corpus(sections, seed) for seed in range(count)]
