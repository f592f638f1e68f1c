"""Make the bundled demo corpus: a reproducible, section-stratified sample of Debian descriptions.

Usage (from the project root)::

    .venv/bin/python tools/make_demo_corpus.py \
        --source ../shared/data/debian-dev.jsonl.gz --out data/demo.jsonl.gz

Every section gets at least ``--min-per-section`` items (or all it has); the
rest of the ``--size`` items are shared out in proportion to section size
(largest remainders). Within a section the items are drawn with
``random.Random(--seed)`` from the records sorted by id, and the output is
sorted by id, so the same source and arguments always give the same bytes.
The records are copied unchanged (fields id, package, section, tags, title,
text); nothing is added or made up. A ``.gz`` output is written with a fixed
gzip timestamp so that it, too, is byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

FIELDS = ("id", "package", "section", "tags", "title", "text")


def allocate(sizes: dict[str, int], total: int, minimum: int) -> dict[str, int]:
    """Items per section: a floor of ``minimum`` each, the rest proportional (largest remainder)."""
    take = {name: min(count, minimum) for name, count in sizes.items()}
    left = total - sum(take.values())
    spare = {name: sizes[name] - take[name] for name in sizes}
    pool = sum(spare.values())
    if left <= 0 or pool == 0:
        return take
    left = min(left, pool)
    shares = {name: left * spare[name] / pool for name in sizes}
    for name, share in shares.items():
        take[name] += int(share)
    remaining = left - sum(int(s) for s in shares.values())
    by_remainder = sorted(shares, key=lambda n: (-(shares[n] - int(shares[n])), n))
    for name in by_remainder[:remaining]:
        take[name] += 1
    return take


def sample(
    records: list[dict[str, Any]], *, size: int, minimum: int, seed: int
) -> list[dict[str, Any]]:
    """The stratified sample, sorted by id."""
    by_section: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r["id"]):
        by_section[record["section"]].append(record)
    quota = allocate({name: len(rows) for name, rows in by_section.items()}, size, minimum)
    rng = random.Random(seed)
    chosen: list[dict[str, Any]] = []
    for name in sorted(by_section):
        chosen.extend(rng.sample(by_section[name], quota[name]))
    return sorted(chosen, key=lambda r: r["id"])


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path("../shared/data/debian-dev.jsonl.gz"))
    parser.add_argument("--out", type=Path, default=Path("data/demo.jsonl.gz"))
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--min-per-section", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()

    with gzip.open(args.source, "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    picked = sample(records, size=args.size, minimum=args.min_per_section, seed=args.seed)
    text = "".join(
        json.dumps({key: r[key] for key in FIELDS}, ensure_ascii=False) + "\n" for r in picked
    )
    data = text.encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix == ".gz":
        buffer = io.BytesIO()
        # mtime=0 and no file name in the header: the same input gives the same bytes
        with gzip.GzipFile(filename="", fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as gz:
            gz.write(data)
        data = buffer.getvalue()
    args.out.write_bytes(data)
    counts: dict[str, int] = defaultdict(int)
    for r in picked:
        counts[r["section"]] += 1
    print(f"wrote {len(picked)} items ({len(data):,} bytes) to {args.out}")
    for name in sorted(counts, key=lambda n: -counts[n]):
        print(f"  {name:12s} {counts[name]:5d}")


if __name__ == "__main__":
    main()
