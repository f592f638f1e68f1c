"""Loading speed and memory: thememap's load_items against two unvalidated baselines.

    nice -n 10 .venv/bin/python bench/ingest_load.py [--rows N]

Input: the first N rows (default: all 744,914) of ../shared/data/pypi-summaries.tsv.gz
(name, month, summary). Each variant runs in its own subprocess on a fresh store, so peak
RSS is its own:

- ``load_items``: validation, dates, metadata JSON, prepared-text hash, id-conflict and
  duplicate-text checks, one transaction; then a second ``load_items`` of the same file
  (the idempotent re-load: everything already present).
- ``csv+executemany``: csv module + one executemany into the same items table, no
  validation, no hashing (the least a loader must do).
- ``pandas+to_sql``: pandas.read_csv + DataFrame.to_sql into a plain table (what a
  notebook user would write first).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "pypi-summaries.tsv.gz"

_CHILD = r"""
import csv, gzip, json, resource, sys, time
from pathlib import Path
variant, src, store = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
out = {}
if variant == "load_items":
    from thememap.ingest import load_items
    from thememap.ingest.params import InputParams
    from thememap.store import open_store
    conn = open_store(store)
    params = InputParams(text_field="summary", id_field="name", created_at_field="month")
    t = time.perf_counter(); report = load_items(conn, params, path=src, progress=False)
    out["seconds"] = time.perf_counter() - t
    out["added"] = report.added; out["bad"] = report.bad
    t = time.perf_counter(); again = load_items(conn, params, path=src, progress=False)
    out["reload_seconds"] = time.perf_counter() - t
    out["reload_added"] = again.added
elif variant == "csv+executemany":
    from thememap.store import open_store, transaction
    conn = open_store(store)
    t = time.perf_counter()
    with gzip.open(src, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        rows = ((name, summary, month or None, "x") for name, month, summary in reader)
        with transaction(conn):
            conn.executemany("INSERT INTO items(external_id, content, created_at, content_hash)"
                             " VALUES (?, ?, ?, ?)", rows)
    out["seconds"] = time.perf_counter() - t
    out["added"] = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
elif variant == "pandas+to_sql":
    import sqlite3
    import pandas as pd
    conn = sqlite3.connect(store)
    t = time.perf_counter()
    frame = pd.read_csv(src, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    frame.to_sql("items", conn, index=False, chunksize=50_000)
    conn.commit()
    out["seconds"] = time.perf_counter() - t
    out["added"] = len(frame)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run(variant: str, source: Path, folder: Path) -> dict[str, float]:
    store = folder / f"{variant.replace('+', '_')}.db"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, variant, str(source), str(store)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Run the three variants and print one table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="first N rows (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = SOURCE
        if args.rows is not None:
            import gzip

            source = folder / "input.tsv.gz"
            with (
                gzip.open(SOURCE, "rt", encoding="utf-8") as src,
                gzip.open(source, "wt", encoding="utf-8") as dst,
            ):
                for i, line in enumerate(src):
                    if i > args.rows:
                        break
                    dst.write(line)
        results = {
            v: run(v, source, folder) for v in ("load_items", "csv+executemany", "pandas+to_sql")
        }
    rows = results["load_items"]["added"]
    ours = results["load_items"]["seconds"]
    print(f"input: {source.name}, {rows:,} rows (2-core shared sandbox)")
    print(f"{'variant':<20}{'seconds':>9}{'rows/s':>10}{'speed vs ours':>14}{'peak RSS MB':>13}")
    for name, res in results.items():
        print(
            f"{name:<20}{res['seconds']:>9.1f}{res['added'] / res['seconds']:>10,.0f}"
            f"{ours / res['seconds']:>14.2f}{res['peak_rss_mb']:>13.0f}"
        )
    reload_s = results["load_items"]["reload_seconds"]
    print(
        f"{'re-load (no-op)':<20}{reload_s:>9.1f}{rows / reload_s:>10,.0f}"
        f"{ours / reload_s:>14.2f}{'':>13}  added {results['load_items']['reload_added']}"
    )


if __name__ == "__main__":
    main()
