"""Local embedding throughput: the int8 graph against the fp32 graph, same model, same run.

For each corpus and variant a fresh subprocess embeds the texts the way
``embed_store`` calls the backend (``embed`` on consecutive chunks of
``--batch-size``), after one warm-up batch, and reports its wall time and its
own peak RSS. The parent prints texts/s, the int8/fp32 speed ratio, the cosine
between int8 and fp32 vectors of the same texts, and the issue's targets.

    .venv/bin/python bench/embed_throughput.py            # (also: make bench)
    .venv/bin/python bench/embed_throughput.py --repeat 2   # median of 2 runs each

Corpora (from ../shared/data, or --data-dir):
  debian: the first 3,000 rows of debian-dev.jsonl.gz, text "Title: <title>\\n\\n<text>"
  pypi:   the summary column of the first 10,000 lines of pypi-summaries.tsv.gz
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
TARGET_TEXTS_PER_S = 180.0  # on the pypi lines
TARGET_RATIO = 2.0
TARGET_COSINE = 0.98


def load_debian(path: Path, rows: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if len(texts) >= rows:
                break
            item = json.loads(line)
            texts.append(f"Title: {item['title']}\n\n{item['text']}")
    return texts


def load_pypi(path: Path, lines: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            if len(texts) >= lines:
                break
            texts.append(row["summary"] or "")
    return texts


def child(args: argparse.Namespace) -> None:
    """Embed one corpus with one variant; print one JSON line of figures."""
    from thememap.embed.local_onnx import LocalOnnxEmbedder

    texts = json.loads(Path(args.texts).read_text(encoding="utf-8"))
    embedder = LocalOnnxEmbedder(
        quantize=args.variant == "int8",
        batch_size=args.batch_size,
        threads=args.threads,
        cache_dir=args.cache_dir,
    )
    embedder.embed(texts[: args.batch_size])  # warm-up: allocations, thread pool
    call = args.call_size or len(texts)
    started, cpu_started = time.perf_counter(), time.process_time()
    vectors = np.vstack([embedder.embed(texts[i : i + call]) for i in range(0, len(texts), call)])
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    np.save(args.out, vectors)
    peak_mb = _peak_rss_mb()
    figures = {"seconds": seconds, "cpu_seconds": cpu_seconds, "texts": len(texts)}
    print(json.dumps({**figures, "peak_rss_mb": peak_mb}))


def run_child(
    args: argparse.Namespace, variant: str, texts_file: Path, out: Path
) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--variant",
        variant,
        "--texts",
        str(texts_file),
        "--out",
        str(out),
        "--batch-size",
        str(args.batch_size),
        "--call-size",
        str(args.call_size),
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.cache_dir:
        command += ["--cache-dir", str(args.cache_dir)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--debian-rows", type=int, default=3000)
    parser.add_argument("--pypi-lines", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--call-size",
        type=int,
        default=64,
        help="texts per embed() call (64: as embed_store calls it; 0: one call, length-sorted)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant (interleaved)")
    # internal: one measurement in a fresh process
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=["int8", "fp32"], help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    from thememap.embed.local_onnx import MODELS, prepare_graphs

    started = time.perf_counter()
    prepare_graphs(MODELS["all-MiniLM-L6-v2"], args.cache_dir)  # built outside the timing
    print(f"graphs ready in {time.perf_counter() - started:.1f} s (built once, then cached)")
    corpora = {
        "debian": load_debian(args.data_dir / "debian-dev.jsonl.gz", args.debian_rows),
        "pypi": load_pypi(args.data_dir / "pypi-summaries.tsv.gz", args.pypi_lines),
    }
    print(
        f"machine: {platform.node()} {platform.machine()}, {len(_cpus())} CPUs visible; "
        f"batch {args.batch_size}, call size {args.call_size or 'all'}, "
        f"threads {args.threads or 'all cores'}, repeat {args.repeat}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="embed-bench-") as tmp:
        for name, texts in corpora.items():
            texts_file = Path(tmp) / f"{name}.json"
            texts_file.write_text(json.dumps(texts), encoding="utf-8")
            words = statistics.mean(len(t.split()) for t in texts)
            runs: dict[str, list[dict[str, float]]] = {"int8": [], "fp32": []}
            for _ in range(args.repeat):
                for variant in runs:
                    result = run_child(args, variant, texts_file, Path(tmp) / f"{variant}.npy")
                    runs[variant].append(result)
                    print(
                        f"  {name:6s} {variant}: {result['texts'] / result['seconds']:7.1f} "
                        f"texts/s, {result['cpu_seconds']:.1f} CPU-s, "
                        f"peak RSS {result['peak_rss_mb']:.0f} MB, load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
            cosine = (np.load(Path(tmp) / "int8.npy") * np.load(Path(tmp) / "fp32.npy")).sum(1)
            rate = {v: [r["texts"] / r["seconds"] for r in rs] for v, rs in runs.items()}
            cpu = {v: statistics.median(r["cpu_seconds"] for r in rs) for v, rs in runs.items()}
            rss = {v: max(r["peak_rss_mb"] for r in rs) for v, rs in runs.items()}
            rows.append((name, len(texts), words, rate, rss, cosine, cpu["fp32"] / cpu["int8"]))
    print()
    header = (
        "| corpus | texts | words/text | int8 texts/s | fp32 texts/s | int8/fp32 "
        "| int8/fp32 by CPU time | cosine int8~fp32 mean (min) | peak RSS int8 / fp32 |"
    )
    lines = [header, "|" + "---|" * 9]
    for name, n, words, rate, rss, cosine, cpu_ratio in rows:
        i8, f32 = statistics.median(rate["int8"]), statistics.median(rate["fp32"])
        lines.append(
            f"| {name} | {n:,} | {words:.0f} | {_runs(rate['int8'])} | {_runs(rate['fp32'])} "
            f"| {i8 / f32:.2f}x | {cpu_ratio:.2f}x | {cosine.mean():.4f} ({cosine.min():.4f}) "
            f"| {rss['int8']:.0f} / {rss['fp32']:.0f} MB |"
        )
    print("\n".join(lines))
    pypi = next(r for r in rows if r[0] == "pypi")
    i8 = statistics.median(pypi[3]["int8"])
    ratio = i8 / statistics.median(pypi[3]["fp32"])
    print(
        "\ntargets on pypi lines: "
        f"int8 {i8:.0f} texts/s (target >= {TARGET_TEXTS_PER_S:.0f}: "
        f"{'met' if i8 >= TARGET_TEXTS_PER_S else 'NOT met'}), "
        f"int8/fp32 {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x: "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}), "
        f"mean cosine {pypi[5].mean():.4f} (target >= {TARGET_COSINE}: "
        f"{'met' if pypi[5].mean() >= TARGET_COSINE else 'NOT met'})"
    )
    print("(median of the runs; the figures in brackets are each run)")
    return 0


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM belongs to the address space made at exec;
    ru_maxrss is not used because Linux carries the parent's peak over a fork."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _runs(rates: list[float]) -> str:
    """Median, then each run in brackets when there are several."""
    text = f"{statistics.median(rates):.0f}"
    return text + (f" ({', '.join(f'{r:.0f}' for r in rates)})" if len(rates) > 1 else "")


def _cpus() -> set[int]:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(1))


if __name__ == "__main__":
    raise SystemExit(main())
