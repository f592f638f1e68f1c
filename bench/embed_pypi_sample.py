"""Embed a seeded sample of the PyPI summaries once, for the clustering scale benchmark.

    nice -n 10 .venv/bin/python bench/embed_pypi_sample.py --n 100000

Writes ``~/.cache/thememap/bench/pypi_<n>_minilm_int8.npy`` (float32 unit rows)
and ``pypi_<n>_rows.npy`` (their line numbers in the TSV, data rows from 0).
Chunks are saved as they finish, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import time
from pathlib import Path

import numpy as np

from thememap.embed.local_onnx import LocalOnnxEmbedder

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pypi-summaries.tsv.gz"
CACHE = Path.home() / ".cache" / "thememap" / "bench"


def summaries(path: Path) -> list[str]:
    """Every summary in the TSV (empty string where missing), in file order."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [row[2] if len(row) > 2 else "" for row in reader]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--chunk", type=int, default=5_000)
    args = ap.parse_args()
    texts = summaries(args.data)
    usable = np.flatnonzero([bool(t.strip()) for t in texts])
    rows = np.sort(
        np.random.default_rng(0).choice(usable, size=min(args.n, len(usable)), replace=False)
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"pypi_{args.n}_minilm_int8.npy"
    np.save(CACHE / f"pypi_{args.n}_rows.npy", rows)
    embedder = LocalOnnxEmbedder(threads=2)
    parts = []
    t0 = time.perf_counter()
    for start in range(0, len(rows), args.chunk):
        part = CACHE / f"pypi_{args.n}_part{start // args.chunk:04d}.npy"
        if not part.exists():
            vec = embedder.embed([texts[i] for i in rows[start : start + args.chunk]])
            np.save(part, vec.astype(np.float32))
            done = start + args.chunk
            rate = done / (time.perf_counter() - t0)
            print(f"{min(done, len(rows))}/{len(rows)} ({rate:.0f} texts/s)", flush=True)
        parts.append(part)
    np.save(out, np.vstack([np.load(p) for p in parts]))
    for p in parts:
        p.unlink()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
