"""Seed stability on an unlabelled corpus (checks the defaults were not fitted to Debian only).

    nice -n 5 .venv/bin/python bench/cluster_seed_stability.py --n 20000
    nice -n 5 .venv/bin/python bench/cluster_seed_stability.py --n 20000 --set embedding=umap

Builds the default hierarchy of the first ``n`` cached PyPI vectors with seeds 0 and 1
and prints the counts per level and the ARI between the two seeds per level.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from thememap.cluster.estimator import fit_hierarchy
from thememap.cluster.params import ClusterParams

CACHE = Path.home() / ".cache" / "thememap" / "bench"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vectors", type=Path, default=CACHE / "pypi100000_s0_minilm.npy")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="cluster params to override"
    )
    args = ap.parse_args()
    overrides = dict(item.split("=", 1) for item in args.set)
    x = np.load(args.vectors)[: args.n].astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    runs = []
    for seed in (0, 1):
        t0 = time.perf_counter()
        params = ClusterParams(seed=seed, check_runs=0, **overrides)  # type: ignore[arg-type]
        runs.append(fit_hierarchy(x, params))
        print(f"seed {seed}: counts {runs[-1].counts}, {time.perf_counter() - t0:.1f} s")
    agree = [adjusted_rand_score(a, b) for a, b in zip(runs[0].labels, runs[1].labels, strict=True)]
    print(
        f"n={args.n:,} PyPI summaries, ARI seed 0 vs 1 per level: "
        + "/".join(f"{a:.2f}" for a in agree)
    )


if __name__ == "__main__":
    main()
