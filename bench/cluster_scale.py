"""Clustering time and memory against n: 3 levels + the 2D map, warm, on PyPI summaries.

    nice -n 10 .venv/bin/python bench/corpus_vectors.py pypi --rows 100000   # once, ~15 min
    nice -n 10 .venv/bin/python bench/cluster_scale.py --sizes 25000 50000 100000 744914

Vectors: ``~/.cache/thememap/bench/pypi100000_s0_minilm.npy`` (100,000 real
summaries, seeded sample). Sizes above 100,000 are the 100,000 real vectors plus
perturbed copies of them (each copy: a real vector + Gaussian noise, renormalised,
cosine ~0.93 to its source): the same dimensionality and a realistic spread, but
NOT real text; said so in the output. Each size runs in a fresh process that
first warms numba up (pynndescent, UMAP) on 3,000 rows, so the times are warm;
the peak RSS is that process's own (warm-up included).

Prints per size: seconds for the hierarchy and the map, total, peak RSS, counts per
level; the growth exponent (slope of log time against log n); and for 100,000
real rows the same with the reference's and BERTopic's first step where feasible
(``--baselines``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from thememap.cluster.evaluate import map_agreement
from thememap.cluster.knn import knn_graph
from thememap.cluster.params import ClusterParams
from thememap.cluster.step import cluster_vectors

CACHE = Path.home() / ".cache" / "thememap" / "bench"


def grow(real: np.ndarray, n: int, *, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    """``n`` rows: the real ones, then noisy copies of them (see the module docstring)."""
    if n <= len(real):
        return real[:n]
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[: len(real)] = real
    for start in range(len(real), n, len(real)):
        stop = min(n, start + len(real))
        src = real[: stop - start]
        copy = src + rng.normal(scale=noise, size=src.shape).astype(np.float32)
        out[start:stop] = copy / np.linalg.norm(copy, axis=1, keepdims=True)
    return out


def _child(path: Path, n: int, params: ClusterParams, queue: Any) -> None:
    # a fresh (spawned) process: numba code is compiled by a warm-up call first
    real = load(path)
    knn_graph(real[:3000], exact_below=0)  # NN-descent's compilation too
    cluster_vectors(real[:3000], params)
    x = grow(real, n)
    del real
    t0 = time.perf_counter()
    h, coords, parts = cluster_vectors(x, params)
    total = time.perf_counter() - t0
    agree = None if coords is None else [map_agreement(coords, lab) for lab in h.labels]
    queue.put(
        {
            "n": len(x),
            "total_s": total,
            **{f"{k}_s": v for k, v in parts.items()},
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "counts": h.counts,
            "map_agreement": agree,
            "fit_rows": None if h.fit_rows is None else len(h.fit_rows),
        }
    )


def load(path: Path) -> np.ndarray:
    real = np.load(path).astype(np.float32)
    return real / np.linalg.norm(real, axis=1, keepdims=True)


def run(path: Path, n: int, params: ClusterParams) -> dict[str, Any]:
    # spawn, not fork: forking after OpenMP/numba threads started aborts the child
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(path, n, params, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--vectors", type=Path, default=CACHE / "pypi100000_s0_minilm.npy")
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000])
    ap.add_argument("--layout", default="umap")
    ap.add_argument(
        "--theme-weight",
        type=float,
        default=None,
        help="cluster.layout_theme_weight (default: the param's)",
    )
    ap.add_argument(
        "--set",
        default="",
        metavar="KEY=VALUE,...",
        help="cluster params to change (e.g. restarts=20,kmeans_inits=5)",
    )
    args = ap.parse_args()
    n_real = len(np.load(args.vectors, mmap_mode="r"))
    params = ClusterParams(layout=args.layout, check_runs=0)
    if args.theme_weight is not None:
        params = params.model_copy(update={"layout_theme_weight": args.theme_weight})
    if args.set:
        changes = dict(kv.split("=", 1) for kv in args.set.split(","))
        params = ClusterParams.model_validate(params.model_dump() | changes)
    rows = []
    for n in args.sizes:
        r = run(args.vectors, n, params)
        r["data"] = "real" if n <= n_real else f"{n_real:,} real + {n - n_real:,} noisy copies"
        rows.append(r)
        print(r, file=sys.stderr, flush=True)
    print(
        "\n| n | data | hierarchy s | map s | total s | peak RSS MB | clusters per level | fitted on"
        " | map-neighbour agreement per level |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['data']} | {r['hierarchy_s']:.1f} | {r['layout_s']:.1f} | "
            f"{r['total_s']:.1f} | {r['peak_mb']:.0f} | {'/'.join(map(str, r['counts']))} | "
            f"{r['fit_rows'] or 'all'} | "
            + (
                "n/a"
                if r["map_agreement"] is None
                else "/".join(f"{a:.2f}" for a in r["map_agreement"])
            )
            + " |"
        )
    if len(rows) >= 2:
        n = np.log([r["n"] for r in rows])
        t = np.log([r["total_s"] for r in rows])
        print(f"\ngrowth exponent (slope of log total time on log n): {np.polyfit(n, t, 1)[0]:.2f}")


if __name__ == "__main__":
    main()
