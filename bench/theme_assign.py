"""``thememap assign`` throughput: new items placed per second in a fitted hierarchy (issue 13).

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/theme_assign.py --n 5000 --new 1000
    nice -n 10 .venv/bin/python bench/theme_assign.py --corpus pypi --n 100000 --new 10000

Fits the default hierarchy (``layout: pca``, so the fit stays cheap; assign reads
whatever map the run has) on the first ``--n`` rows, writes it into a fresh SQLite
store as 02_cluster does, adds the next ``--new`` rows as items with vectors, then
times placing them two ways: on arrays
(:func:`thememap.cluster.assign.place_items`, one call) and end to end on the store
(:func:`thememap.cluster.assign_step.assign_store`: reading the run, placing batch by
batch, one transaction per batch). Prints items/s of both and the outlier share.

Vectors: the cached MiniLM vectors in ~/.cache/thememap/bench (``--corpus debian``:
9,028 Debian descriptions; ``pypi``: pypi100000_s0_minilm.npy, 100,000 PyPI
summaries), or ``--corpus synthetic`` (default when the file is missing or too short):
384-d unit vectors around 300 random directions, seeded.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from thememap.cluster.assign import place_items
from thememap.cluster.assign_step import assign_store, fitted_hierarchy
from thememap.cluster.continuity import assign_themes
from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.estimator import fit_hierarchy
from thememap.cluster.layout import layout_2d
from thememap.cluster.params import ClusterParams
from thememap.cluster.step import level_records
from thememap.store import open_store, transaction
from thememap.store.clusters import replace_run_clusters
from thememap.store.vectors import load_item_vectors, put_vectors
from thememap.store.view import bump_items_version
from thememap.vectors import unit_rows

CACHE = Path.home() / ".cache" / "thememap" / "bench"
VECTORS = {"debian": CACHE / "debian_minilm.npy", "pypi": CACHE / "pypi100000_s0_minilm.npy"}


def load_vectors(corpus: str, rows: int, seed: int) -> tuple[np.ndarray, str]:
    """``rows`` unit vectors of ``corpus`` (synthetic when its cache file is missing or short)."""
    path = VECTORS.get(corpus)
    if path is not None and path.exists():
        cached = np.load(path, mmap_mode="r")
        if len(cached) >= rows:
            # a random subset in random order: the new items are not a block of the file
            pick = np.sort(np.random.default_rng(seed).permutation(len(cached))[:rows])
            x = np.asarray(cached[pick], dtype=np.float32)
            return unit_rows(x[np.random.default_rng(seed).permutation(rows)]), corpus
        print(f"{path.name} holds {len(cached):,} rows < {rows:,}: synthetic vectors instead")
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(300, 384))
    x = centres[rng.integers(0, len(centres), rows)] * 0.35 + rng.normal(size=(rows, 384)) * 0.1
    return unit_rows(x.astype(np.float32)), "synthetic"


def fitted_store(path: Path, x: np.ndarray, n: int, params: ClusterParams) -> float:
    """Fit ``x[:n]``, write it as run "fit", add ``x[n:]`` as new items; the fit's seconds."""
    started = time.perf_counter()
    hierarchy = fit_hierarchy(x[:n], params)
    coords = layout_2d(x[:n], method="pca", seed=0)
    fit_seconds = time.perf_counter() - started
    conn = open_store(path)
    ids = np.arange(1, len(x) + 1, dtype=np.int64)
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(id, external_id, content, content_hash) VALUES (?, ?, '', ?)",
            [(int(i), f"e{i}", f"h{i}") for i in ids[:n]],
        )
    put_vectors(conn, "bench", [f"h{i}" for i in ids], x)
    records = level_records(x[:n], ids[:n], hierarchy, coords, None, n_representatives=3, seed=0)
    replace_run_clusters(conn, "fit", item_ids=ids[:n], levels=records, coords=coords)
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(id, external_id, content, content_hash) VALUES (?, ?, '', ?)",
            [(int(i), f"e{i}", f"h{i}") for i in ids[n:]],
        )
        bump_items_version(conn)
    conn.close()
    return fit_seconds


def refit_retention(conn: sqlite3.Connection, x: np.ndarray, params: ClusterParams) -> str:
    """Refit every item (seed + 1) as run "refit", match it to run "fit" (assigned items
    included), and say how many items of each level sit in a theme that kept its id."""
    assign_themes(conn, "fit")
    t0 = time.perf_counter()
    ids = np.arange(1, len(x) + 1, dtype=np.int64)
    refit_params = params.model_copy(update={"seed": params.seed + 1})
    hierarchy = fit_hierarchy(x, refit_params)
    records = level_records(x, ids, hierarchy, None, None, n_representatives=3, seed=0)
    replace_run_clusters(conn, "refit", item_ids=ids, levels=records, coords=None)
    fit_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    done = assign_themes(conn, "refit")
    match_seconds = time.perf_counter() - t0
    assert done is not None
    kept = ", ".join(f"L{lv} {share:.1%}" for lv, share in enumerate(done.table["kept_items"], 1))
    return (
        f"refit of all {len(x):,} items with seed {refit_params.seed} ({fit_seconds:.0f} s),"
        f" matched to the assigned run in {match_seconds:.2f} s: items in a theme that kept"
        f" its id: {kept}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", choices=[*sorted(VECTORS), "synthetic"], default="synthetic")
    ap.add_argument("--n", type=int, default=100_000, help="items in the fitted hierarchy")
    ap.add_argument("--new", type=int, default=10_000, help="new items to assign")
    ap.add_argument("--batch", type=int, default=2000, help="continuity.assign_batch_size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--refit",
        action="store_true",
        help="then refit every item with another seed and match it to the assigned run:"
        " issue 13's acceptance (level-1 themes keeping their id, by items)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    x, corpus = load_vectors(args.corpus, args.n + args.new, args.seed)
    params = ClusterParams(layout="pca", check_runs=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "items.db"
        fit_seconds = fitted_store(path, x, args.n, params)
        conn = open_store(path)
        t0 = time.perf_counter()
        ids, vectors = load_item_vectors(conn)
        fit, _ = fitted_hierarchy(conn, "fit", ids, vectors)
        spread = fit.spread()
        read_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        placement = place_items(
            x[args.n :],
            fit,
            noise_threshold=params.noise_threshold,
            n_neighbors=params.n_neighbors,
            spread=spread,
        )
        array_seconds = time.perf_counter() - t0
        result = assign_store(
            conn, params, ContinuityParams(assign_batch_size=args.batch), progress=False
        )
        retention = refit_retention(conn, x, params) if args.refit else None
        conn.close()
    counts = [len(c) for c in fit.centroids]
    print(f"corpus {corpus}: {args.n:,} fitted items ({counts} clusters), {args.new:,} new")
    print(f"fit (hierarchy + pca map): {fit_seconds:.1f} s")
    print(f"reading the run and its spread: {read_seconds:.2f} s")
    print(
        f"place_items on arrays: {array_seconds:.2f} s = {args.new / array_seconds:,.0f} items/s"
        f" (fine-level outliers {placement.is_outlier[-1].mean():.1%})"
    )
    print(
        f"assign_store end to end (batches of {args.batch}): {result.seconds:.2f} s"
        f" = {result.items_per_second:,.0f} items/s; " + "; ".join(result.summary.lines())
    )
    if retention is not None:
        print(retention)


if __name__ == "__main__":
    main()
