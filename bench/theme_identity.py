"""Theme-id retention across re-runs, and how long the matching takes (issue 13).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/theme_identity.py --corpus debian
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/theme_identity.py --corpus pypi --n 10000
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/theme_identity.py --corpus pypi --n 100000

The acceptance scenario: fit the default hierarchy on a random 80% of the corpus (seed 0),
then on all of it with another seed (seed 1), and match the second to the first
(:func:`thememap.cluster.identity.match_themes`, default continuity params). Per level it
prints clusters before/after, themes kept/new/ended, **kept by items** (share of all items
in a cluster that kept its id: the acceptance wants >= 80% at level 1) and **same theme**
(share of the items both fits hold whose theme id did not change), and the seconds of the
matching on arrays. With ``--store`` it also writes both fits into a fresh SQLite store
and times :func:`thememap.cluster.continuity.assign_themes` end to end (reading both runs'
memberships, matching, writing the result in one transaction).

Vectors: the cached MiniLM vectors in ~/.cache/thememap/bench (debian_minilm.npy: the
9,028 Debian dev descriptions; pypi100000_s0_minilm.npy: 100,000 PyPI summaries).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from thememap.cluster.continuity import assign_themes
from thememap.cluster.estimator import fit_hierarchy
from thememap.cluster.hierarchy import Hierarchy
from thememap.cluster.identity import LevelView, ThemeMatch, match_themes, shared_labels
from thememap.cluster.params import ClusterParams
from thememap.cluster.step import level_records
from thememap.store import open_store, transaction
from thememap.store.clusters import replace_run_clusters
from thememap.vectors import unit_rows

CACHE = Path.home() / ".cache" / "thememap" / "bench"
VECTORS = {"debian": CACHE / "debian_minilm.npy", "pypi": CACHE / "pypi100000_s0_minilm.npy"}


def views(h: Hierarchy, shared: list[np.ndarray]) -> list[LevelView]:
    """The matcher's view of a fitted hierarchy, ``shared``: labels over the shared items."""
    return [
        LevelView(
            labels=lab,
            sizes=np.bincount(own[own >= 0], minlength=len(parents)),
            parents=parents,
            centroids=centroids,
        )
        for lab, own, parents, centroids in zip(
            shared, h.labels, h.parents, h.centroids, strict=True
        )
    ]


def first_ids(h: Hierarchy) -> list[list[str]]:
    return [[f"T{d + 1}-{c + 1:04d}" for c in range(len(p))] for d, p in enumerate(h.parents)]


def report(
    before: Hierarchy, after: Hierarchy, rows: np.ndarray, match: ThemeMatch, seconds: float
) -> None:
    """Per level: counts, kept/new/ended, kept by items, same theme for shared items."""
    n = after.labels.shape[1]
    print(f"matching: {seconds * 1000:.0f} ms on arrays")
    print("level | clusters 80% -> 100% | kept | new | ended | kept by items | same theme")
    for depth, (lm, ids) in enumerate(zip(match.levels, match.theme_ids, strict=True)):
        labels = after.labels[depth]
        kept = lm.previous >= 0
        kept_items = float(np.isin(labels, np.flatnonzero(kept)).sum()) / n
        before_ids = np.array(first_ids(before)[depth], dtype=object)[before.labels[depth]]
        after_ids = np.array(ids, dtype=object)[labels[rows]]
        same = float((before_ids == after_ids).mean())
        print(
            f"L{depth + 1} | {len(before.parents[depth])} -> {len(after.parents[depth])} | "
            f"{int(kept.sum())} | {len(match.new_ids[depth])} | {len(match.ended_ids[depth])} | "
            f"{kept_items:.1%} | {same:.1%}"
        )


def store_timing(x: np.ndarray, rows: np.ndarray, before: Hierarchy, after: Hierarchy) -> None:
    """Both fits written to a fresh store; :func:`assign_themes` timed for each."""
    with tempfile.TemporaryDirectory() as folder:
        conn = open_store(Path(folder) / "bench.db")
        n = len(x)
        with transaction(conn):
            conn.executemany(
                "INSERT INTO items(id, external_id, content, content_hash) VALUES (?, ?, '', ?)",
                [(i + 1, f"i{i}", f"h{i}") for i in range(n)],
            )
        for run_id, h, subset in (("fit-80", before, rows), ("fit-100", after, np.arange(n))):
            item_ids = subset + 1
            records = level_records(x[subset], item_ids, h, None, None, n_representatives=3, seed=0)
            replace_run_clusters(conn, run_id, item_ids=item_ids, levels=records, coords=None)
            t0 = time.perf_counter()
            done = assign_themes(conn, run_id)
            seconds = time.perf_counter() - t0
            assert done is not None
            print(
                f"store: assign_themes({run_id}) {seconds:.2f} s; kept per level "
                f"{done.table['kept'].tolist()}, kept by items {done.table['kept_items'].tolist()}"
            )
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", choices=sorted(VECTORS), default="debian")
    ap.add_argument("--n", type=int, default=None, help="first n rows (default: all)")
    ap.add_argument("--share", type=float, default=0.8, help="share of rows in the first fit")
    ap.add_argument("--store", action="store_true", help="also time assign_themes on a store")
    args = ap.parse_args()
    x = unit_rows(np.load(VECTORS[args.corpus], mmap_mode="r")[: args.n].astype(np.float32))
    n = len(x)
    rows = np.sort(np.random.default_rng(0).choice(n, size=int(args.share * n), replace=False))
    print(f"{args.corpus}: {n:,} rows; first fit on {len(rows):,} ({args.share:.0%}), seed 0")
    t0 = time.perf_counter()
    before = fit_hierarchy(x[rows], ClusterParams(seed=0, check_runs=0))
    t1 = time.perf_counter()
    after = fit_hierarchy(x, ClusterParams(seed=1, check_runs=0))
    t2 = time.perf_counter()
    print(f"fits: {t1 - t0:.0f} s (80%), {t2 - t1:.0f} s (100%, seed 1)")
    t0 = time.perf_counter()
    prev_shared, new_shared = shared_labels(
        rows, list(before.labels), np.arange(n), list(after.labels)
    )
    match = match_themes(
        views(before, prev_shared),
        views(after, new_shared),
        first_ids(before),
        next_number={d + 1: len(p) + 1 for d, p in enumerate(before.parents)},
    )
    report(before, after, rows, match, time.perf_counter() - t0)
    if args.store:
        store_timing(x, rows, before, after)


if __name__ == "__main__":
    main()
