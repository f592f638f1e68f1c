"""Offline cluster cards on the Debian dev corpus: label quality and time, against baselines.

    nice -n 10 .venv/bin/python bench/describe_quality.py \\
        --vectors ~/.cache/thememap/bench/debian_minilm.npy --meta ~/.cache/thememap/bench/debian_meta.json

``--vectors``: the corpus's MiniLM vectors (fp32 all-MiniLM-L6-v2, unit rows, aligned with
``--meta``, a JSON list of {title, text, ...}); labels are embedded with the same model
(local backend, ``quantize: false``).

Hierarchies: ``pipeline`` = the 02_cluster default (thememap.cluster), ``fixed`` = a
stand-in k-means(100) -> Ward 30 -> 10. For each, per level:

* **retrieval top-1**: a card's "name. summary" embedded; is its own cluster's centroid
  the nearest of the level? (and the same for the name alone; ratios are ours / baseline);
* **sibling name cosine**: mean cosine between embedded names of siblings (lower = distinct);
* **near-duplicate sibling pairs**: token Jaccard >= 0.8.

Labellers: ``ours`` (sibling c-TF-IDF phrases + MMR extractive summary), ``level c-TF-IDF``
(BERTopic-style: contrast with the whole level, not siblings; same summary),
``top terms`` (most frequent phrases, no contrast; summary = first item's first sentence),
and chance (1 / clusters). Time: offline cards for every cluster, per 100 clusters.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from thememap.cluster.estimator import hierarchy_kwargs
from thememap.cluster.hierarchy import build_hierarchy
from thememap.cluster.params import ClusterParams
from thememap.describe import keyphrases as kp
from thememap.describe.cards import Card
from thememap.describe.hierarchy import Hierarchy
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams
from thememap.describe.quality import label_quality
from thememap.describe.representatives import extractive_summary
from thememap.embed.base import make_embedder
from thememap.params import EmbedParams


def fixed_labels(x: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """k-means 100 -> Ward on centroids to 30 -> 10 (nested)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans

    km = KMeans(100, n_init=1, random_state=seed).fit(x)
    c = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
    a30 = AgglomerativeClustering(30, linkage="ward").fit_predict(c)
    c30 = np.vstack([c[a30 == i].mean(0) for i in range(30)])
    a10 = AgglomerativeClustering(10, linkage="ward").fit_predict(c30)
    l3 = km.labels_
    return [a10[a30[l3]], a30[l3], l3]


def pipeline_labels(x: np.ndarray) -> list[np.ndarray]:
    """The 02_cluster default hierarchy."""
    h = build_hierarchy(x, **hierarchy_kwargs(ClusterParams()))
    return [np.asarray(lab) for lab in h.labels]


# Zero-shot categories for this corpus: one short description per Debian section (bench only;
# nothing about the corpus lives in lib/).
SECTION_CATEGORIES = {
    "net": "networking software: servers, clients, network tools and protocols",
    "science": "scientific software for biology, chemistry, physics and astronomy",
    "games": "computer games and game data",
    "sound": "audio and music software: players, synthesizers, sound editing",
    "graphics": "graphics software: image viewers, editors, 3D modelling",
    "fonts": "fonts and typefaces",
    "math": "mathematics software: algebra, statistics, numerical computing",
    "mail": "e-mail software: mail clients, mail servers, spam filters",
    "editors": "text editors",
    "database": "database systems and tools",
    "video": "video players, editors and codecs",
    "electronics": "electronics design: circuits, PCB, microcontrollers",
    "tex": "TeX and LaTeX typesetting",
    "hamradio": "amateur (ham) radio software",
}


def category_accuracy(h: Hierarchy, embedder: Any, sections: np.ndarray) -> list[dict[str, float]]:
    """Share of items whose cluster's zero-shot category is the item's own section."""
    params = DescribeParams(categories=SECTION_CATEGORIES)
    cards = OfflineDescriber(params, embedder=embedder).fit(h).cards_
    out = []
    for level in h.levels:
        hit = sum(int(np.sum(sections[n.members] == cards[n.id].category)) for n in h.level(level))
        majority = sum(int(np.max(np.unique(sections[n.members], return_counts=True)[1]))
                       for n in h.level(level))  # fmt: skip
        out.append(
            {
                "level": level,
                "zero_shot": hit / len(sections),
                "majority_section_ceiling": majority / len(sections),
                "most_frequent_section": float(np.max(np.unique(sections, return_counts=True)[1]))
                / len(sections),
            }
        )
    return out


def baseline_cards(h: Hierarchy, cards: dict[int, Card], *, mode: str) -> dict[int, Card]:
    """Re-name ``cards`` with a baseline labeller (summary as given or naive)."""
    counts = kp.PhraseCounts.fit(h.texts, ngram_max=3, min_df=2)
    out: dict[int, Card] = {}
    for level in h.levels:
        nodes = h.level(level)
        df = kp.class_counts(counts, nodes)
        sizes = np.array([n.size for n in nodes], dtype=np.float32)
        # level: BERTopic-style c-TF-IDF over the whole level; top: share of items with it
        scores = kp.ctfidf(df, sizes, None) if mode == "level" else df / sizes[:, None]
        for row, node in enumerate(nodes):
            phrases = kp.top_phrases(scores[row], counts, k=8)
            base = cards[node.id]
            summary = base.summary
            if mode == "top":
                summary = extractive_summary([h.texts[node.members[0]]], sentences=1)
            out[node.id] = Card(
                node.id, level, mode, kp.name_from_phrases(phrases), summary, strength=1
            )
    return out


def run(h: Hierarchy, embedder: Any, label: str, sections: np.ndarray) -> dict[str, Any]:
    params = DescribeParams()
    t0 = time.perf_counter()
    ours = OfflineDescriber(params, embedder=embedder).fit(h).cards_
    seconds = time.perf_counter() - t0
    results: dict[str, Any] = {
        "hierarchy": label,
        "clusters": [len(h.level(lv)) for lv in h.levels],
        "seconds": round(seconds, 2),
        "seconds_per_100": round(100 * seconds / len(h.nodes), 2),
        "labellers": {},
    }
    for name, cards in (
        ("ours", ours),
        ("level c-TF-IDF", baseline_cards(h, ours, mode="level")),
        ("top terms", baseline_cards(h, ours, mode="top")),
    ):
        report = label_quality(h, cards, embedder)
        results["labellers"][name] = [q.to_dict() for q in report.levels]
    results["category"] = category_accuracy(h, embedder, sections)
    results["examples"] = {
        lv: [
            (ours[n.id].pattern_name, ours[n.id].category, ours[n.id].strength, n.size)
            for n in sorted(h.level(lv), key=lambda n: -n.size)[:8]
        ]
        for lv in h.levels
    }
    results["strength_hist"] = {
        lv: np.bincount([ours[n.id].strength or 0 for n in h.level(lv)], minlength=11)[1:].tolist()
        for lv in h.levels
    }
    return results


def print_results(r: dict[str, Any]) -> None:
    print(f"\n## hierarchy: {r['hierarchy']}  clusters per level {r['clusters']}")
    print(f"offline cards: {r['seconds']} s, {r['seconds_per_100']} s per 100 clusters")
    print(
        "| level | labeller | top-1 name+summary | top-1 name only | sibling name cos | dup pairs |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    ours = r["labellers"]["ours"]
    for lv in range(len(r["clusters"])):
        mine = ours[lv]
        for name, qs in r["labellers"].items():
            q = qs[lv]

            def ratio(key: str, q: dict[str, Any] = q, mine: dict[str, Any] = mine) -> str:
                return "" if q is mine else f" (ours {mine[key] / max(q[key], 1e-9):.2f}x)"

            print(
                f"| L{lv + 1} | {name} | {q['retrieval_top1']:.3f}{ratio('retrieval_top1')} | "
                f"{q['retrieval_top1_name_only']:.3f}{ratio('retrieval_top1_name_only')} | "
                f"{q['sibling_name_cosine']:.3f} | {q['near_duplicate_pairs']}/{q['sibling_pairs']} |"
            )
        print(f"| L{lv + 1} | chance | {mine['chance']:.3f} | {mine['chance']:.3f} | | |")
    print("strength histogram (1..10) per level:", r["strength_hist"])
    print(
        "| level | zero-shot category = item's section | ceiling (majority section) | most frequent section |"
    )
    for c in r["category"]:
        print(
            f"| L{c['level']} | {c['zero_shot']:.3f} | {c['majority_section_ceiling']:.3f} "
            f"(ours {c['zero_shot'] / c['majority_section_ceiling']:.2f}x) | "
            f"{c['most_frequent_section']:.3f} (ours {c['zero_shot'] / c['most_frequent_section']:.2f}x) |"
        )
    for lv, examples in r["examples"].items():
        print(f"L{lv} largest:", "; ".join(f"{n} [{c}, {s}, {size}]" for n, c, s, size in examples))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--vectors", required=True, type=Path)
    ap.add_argument("--meta", required=True, type=Path)
    ap.add_argument("--hierarchy", choices=["pipeline", "fixed", "both"], default="both")
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    args = ap.parse_args()
    x = np.load(args.vectors.expanduser()).astype(np.float32)
    meta = json.loads(args.meta.expanduser().read_text())
    texts = [f"{m['title']}. {m['text']}" for m in meta]
    ids = np.arange(len(texts))
    embedder = make_embedder(EmbedParams(quantize=False))
    out = []
    kinds = ["pipeline", "fixed"] if args.hierarchy == "both" else [args.hierarchy]
    for kind in kinds:
        t0 = time.perf_counter()
        labels = pipeline_labels(x) if kind == "pipeline" else fixed_labels(x)
        print(f"[{kind}] hierarchy built in {time.perf_counter() - t0:.1f} s")
        h = Hierarchy.from_labels(ids, x, texts, labels)
        result = run(h, embedder, kind, np.asarray([m["section"] for m in meta]))
        print_results(result)
        out.append(result)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
