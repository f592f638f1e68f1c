"""What fitting on a sample costs: sampled fit vs a fit on every row, on real PyPI vectors.

    nice -n 5 .venv/bin/python bench/cluster_sampling.py --n 100000

Fits the hierarchy on all ``n`` rows (``sample_threshold`` raised above n) and with the
defaults (above 30,000 rows: fitted on a sample, the rest assigned to the nearest fine
centroid), same seed, each choosing its own counts as a user's run would; prints the ARI
between the two per level, and the seconds of each.
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
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument(
        "--sample-size",
        type=int,
        default=ClusterParams().sample_size,
        help="rows in the sampled fit (default: the params' default)",
    )
    ap.add_argument(
        "--full-seed",
        type=int,
        default=None,
        help="also fit all rows with this seed: the seed-to-seed ceiling of the comparison",
    )
    args = ap.parse_args()
    x = np.load(args.vectors)[: args.n].astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    full = fit_hierarchy(x, ClusterParams(sample_threshold=args.n + 1))
    t_full = time.perf_counter() - t0
    # the default: fitted on a sample above sample_threshold
    params = ClusterParams(
        sample_threshold=min(args.sample_size, args.n - 1), sample_size=args.sample_size
    )
    t0 = time.perf_counter()
    sampled = fit_hierarchy(x, params)
    t_sampled = time.perf_counter() - t0
    agree = [adjusted_rand_score(a, b) for a, b in zip(full.labels, sampled.labels, strict=True)]
    print(f"n={args.n:,}: full fit {t_full:.1f} s, counts {full.counts}")
    print(f"sampled fit ({args.sample_size:,} rows) {t_sampled:.1f} s, counts {sampled.counts}")
    print("ARI sampled vs full per level: " + "/".join(f"{a:.2f}" for a in agree))
    if args.full_seed is not None:
        t0 = time.perf_counter()
        other = fit_hierarchy(x, ClusterParams(sample_threshold=args.n + 1, seed=args.full_seed))
        ceiling = [
            adjusted_rand_score(a, b) for a, b in zip(full.labels, other.labels, strict=True)
        ]
        print(
            f"full fit, seed {args.full_seed} ({time.perf_counter() - t0:.1f} s), vs the full fit"
            " per level: " + "/".join(f"{a:.2f}" for a in ceiling)
        )


if __name__ == "__main__":
    main()
