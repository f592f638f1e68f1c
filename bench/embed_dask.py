"""Embedding on a Dask LocalCluster against one process, same texts, same run.

    nice -n 5 .venv/bin/python bench/embed_dask.py --texts 20000 --workers 1 2

For ``--texts`` PyPI summaries (a seeded sample of ``--pypi``), embeds them the way 01_embed
does (batches of 64, the local int8 model): first in this process with every core
(``engine.kind: local``, the baseline), then on a ``LocalCluster`` of W worker processes x 1
thread for each W of ``--workers`` (``engine.kind: dask``, partitions of ``--partition``
texts). Prints texts/s, the ratio to the baseline, the seconds to the first partition (the
workers' model load included), the mean seconds per partition and each worker's peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from thememap.embed import make_embedder
from thememap.embed.params import EmbedParams
from thememap.engine import EngineParams
from thememap.engine.dask_embed import DaskEmbedder

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def pypi_texts(path: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` distinct non-empty summaries, a seeded sample."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        next(f)
        texts = list(
            dict.fromkeys(s for s in (line.rstrip("\n").split("\t")[-1] for line in f) if s)
        )
    rng = np.random.default_rng(seed)
    return [
        texts[i] for i in np.sort(rng.choice(len(texts), size=min(n, len(texts)), replace=False))
    ]


def batches_of(texts: list[str]) -> list[list[str]]:
    return [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]


def run_local(texts: list[str]) -> tuple[float, np.ndarray]:
    embedder = make_embedder(EmbedParams())  # every core, as engine.kind: local runs
    embedder.embed(["warm-up"])
    started = time.perf_counter()
    vectors = np.vstack([embedder.embed(b) for b in batches_of(texts)])
    return time.perf_counter() - started, vectors


def worker_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_dask(texts: list[str], workers: int, partition: int) -> dict[str, Any]:
    engine = EngineParams(
        kind="dask", workers=workers, threads_per_worker=1, partition_size=partition
    )
    embedder = DaskEmbedder(EmbedParams(), engine)
    try:
        embedder.client.wait_for_workers(workers)
        started = time.perf_counter()
        first = None
        out: dict[int, np.ndarray] = {}
        for index, vectors in embedder.embed_stream(batches_of(texts)):
            first = first if first is not None else time.perf_counter() - started
            out[index] = vectors
        seconds = time.perf_counter() - started
        rss = embedder.client.run(worker_rss_mb)
    finally:
        embedder.close()
    parts = -(-len(texts) // partition)
    return {
        "seconds": seconds,
        "first": first or 0.0,
        "per_partition": seconds * workers / parts,
        "rss": max(rss.values()),
        "vectors": np.vstack([out[i] for i in sorted(out)]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pypi", type=Path, default=ROOT.parent / "shared/data/pypi-summaries.tsv.gz")
    ap.add_argument("--texts", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--partition", type=int, default=EngineParams().partition_size)
    args = ap.parse_args()
    texts = pypi_texts(args.pypi, args.texts)
    print(
        f"{len(texts)} PyPI summaries, batches of {BATCH}, cores here: {os.cpu_count()}", flush=True
    )
    base_s, base_v = run_local(texts)
    base_rate = len(texts) / base_s
    print(
        "| engine | workers x threads | texts/s | vs one process | first partition s | s per partition | peak RSS per worker MB | max abs diff |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    print(
        f"| local (baseline) | 1 x {os.cpu_count()} | {base_rate:,.0f} | 1.00x | | | {worker_rss_mb():.0f} | |",
        flush=True,
    )
    for w in args.workers:
        r = run_dask(texts, w, args.partition)
        rate = len(texts) / r["seconds"]
        diff = float(np.abs(r["vectors"] - base_v).max())
        print(
            f"| dask | {w} x 1 | {rate:,.0f} | {rate / base_rate:.2f}x | {r['first']:.1f} | "
            f"{r['per_partition']:.1f} | {r['rss']:.0f} | {diff:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
