"""Does the default hierarchy hold on corpora nobody tuned on? Distributions, not one number.

    nice -n 5 .venv/bin/python bench/cluster_generalise.py --embedding text --json out.json
    nice -n 5 .venv/bin/python bench/cluster_generalise.py --embedding titled

Draws the resampled corpora of bench/resampled.py from the Debian dev corpus (vectors from
bench/corpus_vectors.py: ``text`` = description only, ``titled`` = "Title: ...\\n\\n<text>" as
the runner embeds it with a title field), fits every method with seeds 0 and 1 on each, and
prints per method the 10th percentile and median over corpora of: level-1 ARI and NMI against
``section``, finest-level NMI against ``game::`` tags inside games and ``field::`` tags inside
science (where present), seed-0-vs-1 ARI per level, share unplaced at level 1, seconds per fit
and the largest peak RSS. Baselines (slow) run on every ``--baseline-every``-th corpus only; the
table says on how many corpora each row was measured. Each method runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).parent))
import cluster_methods as M
from cluster_quality import tag_truth
from resampled import CACHE, load_dev, resampled_corpora

OURS = {
    "thememap default (graph, Leiden level 1)": (M.thememap_default, {}),
    "thememap, merge=modularity (the design before)": (
        M.thememap_default,
        {"merge": "modularity"},
    ),
    "thememap, embedding=spectral (the default before; no UMAP run)": (
        M.thememap_default,
        {"embedding": "spectral"},
    ),
    "thememap, space seed follows the seed": (M.thememap_default, {"space_seed": None}),
}
BASELINES = {
    "reference (recursive HDBSCAN, raw)": (M.reference_recipe, {}),
    "BERTopic default (UMAP 5d + HDBSCAN)": (M.bertopic_default, {}),
    "EVoC layers": (M.evoc_layers, {}),
    "UMAP 10-d + Ward, cut at 8": (M.umap_ward, {}),
}


def corpus_metrics(
    a: list[np.ndarray], b: list[np.ndarray], section: np.ndarray, meta: list[dict[str, Any]]
) -> dict[str, Any]:
    """Metrics of one corpus: ``a``/``b`` are the seed-0/1 labels, ``meta`` its rows' metadata."""
    out: dict[str, Any] = {
        "l1_ari": adjusted_rand_score(section, a[0]),
        "l1_nmi": normalized_mutual_info_score(section, a[0]),
        "counts": [len(set(lab.tolist()) - {-1}) for lab in a],
        "unplaced_l1": float((a[0] < 0).mean()),
        "seed_ari": [adjusted_rand_score(p, q) for p, q in zip(a, b, strict=False)],
    }
    for name, sec, prefix in (("game_nmi", "games", "game::"), ("field_nmi", "science", "field::")):
        rows, tags = tag_truth(meta, sec, prefix)
        out[name] = (
            normalized_mutual_info_score(tags, a[-1][rows]) if len(rows) >= 30 else float("nan")
        )
    return out


def _child(name: str, every: int, args: argparse.Namespace, queue: Any) -> None:
    fn, kwargs = {**OURS, **BASELINES}[name]
    x_all, meta = load_dev()
    if args.embedding == "titled":
        x_all = np.load(CACHE / "debian_titled_minilm.npy").astype(np.float32)
        x_all /= np.linalg.norm(x_all, axis=1, keepdims=True)
    results = []
    for corpus in resampled_corpora(meta, args.corpora)[::every]:
        x = x_all[corpus.rows]
        t0 = time.perf_counter()
        a = fn(x, 0, **kwargs)
        seconds = time.perf_counter() - t0
        b = fn(x, 1, **kwargs)
        m = corpus_metrics(a, b, corpus.section, [meta[i] for i in corpus.rows])
        m.update(corpus=corpus.seed, n=len(x), sections=corpus.n_sections, seconds=seconds)
        results.append(m)
        print(
            f"  {name[:40]:40s} corpus {corpus.seed:2d} n={len(x):5d} k={corpus.n_sections:2d}"
            f" L1 {m['counts'][0]:3d} ARI {m['l1_ari']:.3f} NMI {m['l1_nmi']:.3f}"
            f" seed {'/'.join(f'{v:.2f}' for v in m['seed_ari'])} {seconds:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"corpora": results, "peak_mb": peak})


def run_method(name: str, every: int, args: argparse.Namespace) -> dict[str, Any]:
    """All corpora of one method, in a fresh process (its own peak memory)."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, every, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def pct(values: list[float], q: float) -> float:
    v = np.asarray([x for x in values if x == x])
    return float(np.percentile(v, q)) if len(v) else float("nan")


def summary_row(name: str, r: dict[str, Any]) -> str:
    c = r["corpora"]
    col = {k: [m[k] for m in c] for k in ("l1_ari", "l1_nmi", "game_nmi", "field_nmi", "seconds")}
    seeds = np.asarray([m["seed_ari"] + [np.nan] * (3 - len(m["seed_ari"])) for m in c])
    seed_med = "/".join("n/a" if np.isnan(v).all() else f"{np.nanmedian(v):.2f}" for v in seeds.T)
    seed_p10 = "/".join(
        "n/a" if np.isnan(v).all() else f"{np.nanpercentile(v, 10):.2f}" for v in seeds.T
    )
    l1 = [m["counts"][0] for m in c]
    unplaced = [m["unplaced_l1"] for m in c]
    return (
        f"| {name} | {len(c)} | {pct(col['l1_ari'], 10):.3f} / {pct(col['l1_ari'], 50):.3f} | "
        f"{pct(col['l1_nmi'], 10):.3f} / {pct(col['l1_nmi'], 50):.3f} | "
        f"{pct(col['game_nmi'], 50):.3f} | {pct(col['field_nmi'], 50):.3f} | {seed_med} | {seed_p10} | "
        f"{int(np.median(l1))} ({min(l1)}-{max(l1)}) | {np.median(unplaced):.0%} | "
        f"{pct(col['seconds'], 50):.1f} | {r['peak_mb']:.0f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--embedding", choices=["text", "titled"], default="text")
    ap.add_argument("--corpora", type=int, default=30)
    ap.add_argument("--baseline-every", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="run only methods whose name contains one of these")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="also run ours with these cluster params (one variant per --set), e.g."
        " --set restarts=20,kmeans_inits=5",
    )
    args = ap.parse_args()
    for spec in args.set:
        overrides = {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in spec.split(","))}
        OURS[f"thememap, {spec}"] = (M.thememap_default, overrides)
    plan = {n: 1 for n in OURS} | {n: args.baseline_every for n in BASELINES}
    if args.only:
        plan = {n: e for n, e in plan.items() if any(o.lower() in n.lower() for o in args.only)}
    runs = {}
    for name, every in plan.items():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        runs[name] = run_method(name, every, args)
    print(
        f"\nResampled Debian corpora ({args.corpora} drawn; embedding: {args.embedding});"
        " p10 / median over corpora\n"
    )
    print(
        "| method | corpora | L1 ARI p10 / med | L1 NMI p10 / med | finest NMI game:: med |"
        " finest NMI field:: med | seed ARI med per level | seed ARI p10 per level |"
        " L1 clusters med (range) | unplaced L1 med | s per fit med | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        print(summary_row(name, r))
    ours = runs.get(next(iter(OURS)))
    if ours:
        print(
            "\nRatios, thememap default / baseline, on the corpora both ran (median of per-corpus ratios):"
        )
        by_corpus = {m["corpus"]: m for m in ours["corpora"]}
        for name, r in runs.items():
            if name == next(iter(OURS)):
                continue
            pairs = [(by_corpus[m["corpus"]], m) for m in r["corpora"] if m["corpus"] in by_corpus]
            ari = np.median([o["l1_ari"] / max(b["l1_ari"], 1e-3) for o, b in pairs])
            secs = np.median([o["seconds"] / max(b["seconds"], 1e-3) for o, b in pairs])
            # a baseline run on every third corpus has its own p10: ours on the same corpora
            mine = [o["l1_ari"] for o, _ in pairs]
            theirs = [b["l1_ari"] for _, b in pairs]
            print(
                f"- vs {name}: L1 ARI x{ari:.2f}, time x{secs:.2f} ({len(pairs)} corpora;"
                f" L1 ARI p10 / median there: ours {pct(mine, 10):.3f} / {pct(mine, 50):.3f},"
                f" theirs {pct(theirs, 10):.3f} / {pct(theirs, 50):.3f})"
            )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
