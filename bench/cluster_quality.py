"""Clustering quality on the labelled Debian corpus: every method, same vectors, same run.

Usage (vectors: 9,028 x 384 unit rows in corpus order; meta: list of {section, tags}):

    nice -n 10 .venv/bin/python bench/cluster_quality.py \
        --vectors ~/.cache/thememap/bench/debian_minilm.npy --meta ~/.cache/thememap/bench/debian_meta.json

Prints one row per method: clusters per level, share unplaced per level, ARI / NMI
of L1 against ``section`` (unplaced items count as one extra label), NMI of the
finest level against ``game::`` tags inside ``games`` and ``field::`` tags inside
``science``, ARI between seeds 0 and 1 per level, seconds (seed 0 = cold, first
call in a fresh process, numba compilation included; seed 1 = warm) and peak RSS;
then the ratios of our method against the reference recipe and BERTopic's default.
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
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).parent))
import cluster_methods as M

METHODS = {
    "reference (recursive HDBSCAN, raw)": M.reference_recipe,
    "BERTopic default (UMAP 5d + HDBSCAN)": M.bertopic_default,
    "EVoC layers": M.evoc_layers,
    "k-means, told k=14": M.kmeans_true_k,
    "Ward agglomerative (items), 14/38/sqrt n": M.agglomerative_ward,
    "thememap (default params)": M.thememap_default,
}


def tag_truth(
    meta: list[dict[str, Any]], section: str, prefix: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``section`` with a ``prefix`` tag, and their first such tag (sorted)."""
    rows, tags = [], []
    for i, m in enumerate(meta):
        if m["section"] != section:
            continue
        found = sorted(t for t in m.get("tags") or [] if t.startswith(prefix))
        if found:
            rows.append(i)
            tags.append(found[0])
    return np.asarray(rows), np.asarray(tags)


def evaluate(levels: list[np.ndarray], meta: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, unplaced shares, L1 ARI/NMI vs section, finest NMI vs game::/field:: tags."""
    section = np.asarray([m["section"] for m in meta])
    out: dict[str, Any] = {
        "counts": [len(set(lab.tolist()) - {-1}) for lab in levels],
        "unplaced": [float((lab < 0).mean()) for lab in levels],
        "l1_ari": adjusted_rand_score(section, levels[0]),
        "l1_nmi": normalized_mutual_info_score(section, levels[0]),
    }
    for name, sec, prefix in (("game_nmi", "games", "game::"), ("field_nmi", "science", "field::")):
        rows, tags = tag_truth(meta, sec, prefix)
        out[name] = (
            normalized_mutual_info_score(tags, levels[-1][rows]) if len(rows) else float("nan")
        )
    return out


def _child(name: str, x: np.ndarray, meta: list[dict[str, Any]], queue: Any, kwargs: dict) -> None:
    fn = METHODS.get(name) or M.thememap_default
    t0 = time.perf_counter()
    a = fn(x, 0, **kwargs)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    b = fn(x, 1, **kwargs)
    warm = time.perf_counter() - t0
    result = evaluate(a, meta)
    result["seed_ari"] = [adjusted_rand_score(p, q) for p, q in zip(a, b, strict=False)]
    result["cold_s"], result["warm_s"] = cold, warm
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["labels0"] = [lab.tolist() for lab in a]
    queue.put(result)


def run_method(
    name: str, x: np.ndarray, meta: list[dict[str, Any]], **kwargs: Any
) -> dict[str, Any]:
    """Run ``name`` for seeds 0 and 1 in a fresh process; its metrics."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, x, meta, queue, kwargs))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def fmt(values: list[float], digits: int = 2) -> str:
    return "/".join(f"{v:.{digits}f}" for v in values)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--vectors", required=True, type=Path)
    ap.add_argument("--meta", required=True, type=Path)
    ap.add_argument("--only", nargs="*", help="run only methods whose name contains one of these")
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    args = ap.parse_args()
    x = np.load(args.vectors).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    meta = json.loads(args.meta.read_text())
    runs: dict[str, dict[str, Any]] = {}
    names = [n for n in METHODS if not args.only or any(o.lower() in n.lower() for o in args.only)]
    variants = {
        "thememap, fit on a 3,000 sample (sample_threshold=1000)": {
            "sample_threshold": 1000,
            "sample_size": 3000,
        },
        "thememap, restarts=1 (no consensus)": {"restarts": 1},
        "thememap, keep_noise": {"keep_noise": True},
        "thememap, merge=ward (Ward on fine centroids)": {"merge": "ward"},
        "thememap, embedding=raw (k-means on the raw vectors)": {"embedding": "raw"},
        "thememap, embedding=raw + merge=ward": {"embedding": "raw", "merge": "ward"},
    }
    names += [
        v for v in variants if not args.only or any(o.lower() in v.lower() for o in args.only)
    ]
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        runs[name] = run_method(name, x, meta, **variants.get(name, {}))
    print(f"\nDebian dev corpus: {len(x)} items, {x.shape[1]}-d, 14 sections\n")
    print(
        "| method | clusters L1/L2/L3 | unplaced L1/L2/L3 | L1 ARI | L1 NMI | finest NMI game:: | "
        "finest NMI field:: | ARI seed 0 vs 1 per level | s cold | s warm | peak MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        print(
            f"| {name} | {'/'.join(map(str, r['counts']))} | {fmt(r['unplaced'])} | "
            f"{r['l1_ari']:.3f} | {r['l1_nmi']:.3f} | {r['game_nmi']:.3f} | {r['field_nmi']:.3f} | "
            f"{fmt(r['seed_ari'])} | {r['cold_s']:.1f} | {r['warm_s']:.1f} | {r['peak_mb']:.0f} |"
        )
    ours = runs.get("thememap (default params)")
    if ours:
        print("\nRatios, thememap (default) / baseline:")
        for base in ("reference (recursive HDBSCAN, raw)", "BERTopic default (UMAP 5d + HDBSCAN)"):
            if base in runs:
                b = runs[base]
                print(
                    f"- vs {base}: L1 ARI x{ours['l1_ari'] / max(b['l1_ari'], 1e-9):.1f}, "
                    f"L1 NMI x{ours['l1_nmi'] / max(b['l1_nmi'], 1e-9):.2f}, "
                    f"seed ARI L1 x{ours['seed_ari'][0] / max(b['seed_ari'][0], 1e-9):.2f}, "
                    f"warm time x{ours['warm_s'] / max(b['warm_s'], 1e-9):.2f}, "
                    f"unplaced L1 {ours['unplaced'][0]:.0%} vs {b['unplaced'][0]:.0%}"
                )
        sampled = runs.get("thememap, fit on a 3,000 sample (sample_threshold=1000)")
        if sampled:
            agree = [
                adjusted_rand_score(p, q)
                for p, q in zip(ours["labels0"], sampled["labels0"], strict=True)
            ]
            print(f"- sampled fit vs full fit (seed 0), ARI per level: {fmt(agree)}")
    if args.json:
        for r in runs.values():
            r.pop("labels0", None)
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
