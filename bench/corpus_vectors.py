"""Embed a benchmark corpus once with the local model and cache it (benchmark input, not a test).

Usage:

    .venv/bin/python bench/corpus_vectors.py debian           # text only
    .venv/bin/python bench/corpus_vectors.py debian --title   # "Title: <title>\n\n<text>", as the runner
                                                              # embeds it with input.title_field: title
    .venv/bin/python bench/corpus_vectors.py pypi --rows 100000 --seed 0

Writes ``<name>_minilm.npy`` (unit rows, float32, corpus order) and ``<name>_meta.json``
(per row: section and tags for Debian; name, month and text for PyPI) under
``~/.cache/thememap/bench``. Re-running with the same arguments reuses the files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from thememap.embed.base import make_embedder
from thememap.embed.params import EmbedParams
from thememap.ingest.params import InputParams
from thememap.ingest.prepare import prepare_text

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path.home() / ".cache" / "thememap" / "bench"


def debian_rows(title: bool) -> tuple[list[str], list[dict]]:
    """Texts (prepared as the runner would) and metadata of the labelled Debian dev corpus."""
    prep = InputParams(path="-", text_field="text", title_field="title" if title else None)
    texts, meta = [], []
    with gzip.open(SHARED / "debian-dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(prepare_text(row["text"], row, prep))
            meta.append(
                {k: row.get(k) for k in ("id", "package", "section", "tags", "title", "text")}
            )
    return texts, meta


def pypi_rows(rows: int, seed: int) -> tuple[list[str], list[dict]]:
    """A seeded random sample of ``rows`` PyPI summaries (all rows when ``rows`` is 0)."""
    lines = []
    with gzip.open(SHARED / "pypi-summaries.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and parts[2].strip():
                lines.append(parts)
    if rows and rows < len(lines):
        pick = np.sort(np.random.default_rng(seed).choice(len(lines), rows, replace=False))
        lines = [lines[i] for i in pick]
    return [p[2] for p in lines], [{"name": p[0], "month": p[1], "text": p[2]} for p in lines]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus", choices=["debian", "pypi"])
    ap.add_argument("--rows", type=int, default=100_000, help="PyPI rows (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--title", action="store_true", help="Debian: embed the title line too")
    args = ap.parse_args()
    if args.corpus == "debian":
        name = "debian_titled" if args.title else "debian"
    else:
        name = f"pypi{args.rows or 'all'}_s{args.seed}"
    out_vec, out_meta = CACHE / f"{name}_minilm.npy", CACHE / f"{name}_meta.json"
    if out_vec.exists() and out_meta.exists():
        print(f"{out_vec} exists")
        return
    texts, meta = (
        debian_rows(args.title) if args.corpus == "debian" else pypi_rows(args.rows, args.seed)
    )
    embedder = make_embedder(EmbedParams())
    t0 = time.perf_counter()
    # Blocks of 32,768 rows are saved as they finish, so a killed run (the full PyPI corpus takes
    # about half an hour here) resumes at the first missing block.
    parts = CACHE / f"{name}.parts"
    parts.mkdir(parents=True, exist_ok=True)
    block = 32_768
    chunks = []
    for start in range(0, len(texts), block):
        part = parts / f"{start:09d}.npy"
        if not part.exists():
            vecs = np.concatenate(
                [
                    embedder.embed(texts[s : s + 2048])
                    for s in range(start, min(start + block, len(texts)), 2048)
                ]
            ).astype(np.float32)
            np.save(part.with_suffix(".tmp.npy"), vecs)
            part.with_suffix(".tmp.npy").replace(part)
        chunks.append(np.load(part))
        print(f"{start + len(chunks[-1])}/{len(texts)}", file=sys.stderr, flush=True)
    x = np.concatenate(chunks)
    np.save(out_vec, x)
    out_meta.write_text(json.dumps(meta))
    shutil.rmtree(parts)
    print(f"{len(x)} vectors in {time.perf_counter() - t0:.0f} s -> {out_vec}")


if __name__ == "__main__":
    main()
