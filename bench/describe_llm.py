"""LLM cards from a local model against offline cards, on a small hierarchy of one corpus.

    bash tools/local_llm.sh serve 8012 &      # Qwen2.5-Coder 1.5B Instruct on llama.cpp
    nice -n 10 .venv/bin/python bench/describe_llm.py \\
        --vectors ~/.cache/thememap/bench/debian_minilm.npy \\
        --meta ~/.cache/thememap/bench/debian_meta.json --base-url http://127.0.0.1:8012/v1

A seeded sample of ``--items`` Debian descriptions, clustered k-means(``--fine``) ->
Ward(``--coarse``) (2 nested levels), described offline and by the LLM with the
params of ``params/local-llm.yaml`` (the 14 Debian sections as categories). Other
corpora: ``--resampled SEED`` draws the items from resampled corpus SEED of
``bench/resampled.py`` (other sections in other proportions); PyPI vectors and meta
(``bench/corpus_vectors.py pypi --rows 5000``) have no sections: the default
categories are used, category accuracy is not measured, and each level-1 name is
printed beside the package names nearest its centre; the preset's context line
(Debian packages) is dropped for them unless ``--context`` gives one. Per
labeller and level: seconds per card, % valid (no recorded failure), duplicate
sibling names (same name, case-insensitive) and near-duplicate pairs (token
Jaccard >= 0.8), name-only and name+summary retrieval top-1
(``thememap.describe.quality``), sibling name cosine, category accuracy against the
item's section (the ceiling: each cluster's majority section). Prints a markdown
table and the level-1 names side by side.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from describe_quality import SECTION_CATEGORIES
from resampled import draw_corpus

from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterTree
from thememap.describe.llm_cache import MemoryCache
from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams
from thememap.describe.quality import label_quality
from thememap.embed.base import make_embedder
from thememap.embed.params import EmbedParams
from thememap.params import load_params

ROOT = Path(__file__).resolve().parents[1]


class FileCache(MemoryCache):
    """A :class:`MemoryCache` loaded from and saved to one JSON file."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path.expanduser()
        if self.path.exists():
            self.data = json.loads(self.path.read_text())

    def put(self, key: str, **kwargs: Any) -> None:
        """Keep one answer, on disk at once (a killed run keeps what it paid for)."""
        super().put(key, **kwargs)
        self.save()

    def save(self) -> None:
        """Write every answer back to the file."""
        self.path.write_text(json.dumps(self.data))


def two_levels(x: np.ndarray, fine: int, coarse: int, seed: int = 0) -> list[np.ndarray]:
    """k-means ``fine`` -> Ward on the centroids to ``coarse`` (nested)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans

    km = KMeans(fine, n_init=1, random_state=seed).fit(x)
    c = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
    top = AgglomerativeClustering(coarse, linkage="ward").fit_predict(c)
    return [top[km.labels_], km.labels_]


def figures(
    h: ClusterTree, cards: dict[int, Card], sections: np.ndarray | None, embedder: Any
) -> dict[int, dict[str, Any]]:
    """Per level: validity, duplicates, retrieval, sibling cosine, category accuracy."""
    report = {q.level: q for q in label_quality(h, cards, embedder).levels}
    out: dict[int, dict[str, Any]] = {}
    for level in h.levels:
        nodes = h.level(level)
        ok = [cards[n.id] for n in nodes if n.id in cards and cards[n.id].ok]
        dups = 0
        for group in h.sibling_groups(level):
            names = [cards[n.id].pattern_name.casefold() for n in group if cards[n.id].ok]
            dups += sum(count - 1 for count in Counter(names).values())
        right = ceiling = 0
        for n in nodes if sections is not None else []:
            counts = Counter(sections[n.members])
            ceiling += counts.most_common(1)[0][1]
            if cards[n.id].ok:
                right += counts.get(cards[n.id].category, 0)
        q = report[level]
        out[level] = {
            "clusters": len(nodes),
            "valid": len(ok) / len(nodes),
            "duplicate_sibling_names": dups,
            "near_duplicate_pairs": f"{q.near_duplicate_pairs}/{q.sibling_pairs}",
            "top1_name_only": q.retrieval_top1_name_only,
            "top1_name_summary": q.retrieval_top1,
            "sibling_name_cos": q.sibling_name_cosine,
            "category_acc": right / len(h.item_ids) if sections is not None else float("nan"),
            "category_ceiling": ceiling / len(h.item_ids) if sections is not None else float("nan"),
        }
    return out


def what_it_is(node: Any, x: np.ndarray, meta: list[dict[str, Any]], sections: Any) -> str:
    """A cluster's largest sections with their counts, or (unlabelled) the 4 item names
    nearest its centre."""
    if sections is not None:
        top = Counter(sections[node.members]).most_common(3)
        return f"{', '.join(f'{s} {c}' for s, c in top):32s}"
    members = np.asarray(node.members)
    centre = x[members].mean(axis=0)
    near = members[np.argsort(-(x[members] @ centre))[:4]]
    return "[" + ", ".join(str(meta[i].get("name", i)) for i in near) + "]"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--vectors", required=True, type=Path)
    ap.add_argument("--meta", required=True, type=Path)
    ap.add_argument("--base-url", default="http://127.0.0.1:8012/v1")
    ap.add_argument("--items", type=int, default=1500)
    ap.add_argument("--fine", type=int, default=12)
    ap.add_argument("--coarse", type=int, default=4)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--resampled", type=int, metavar="SEED", help="Debian: draw from this resampled corpus"
    )
    ap.add_argument(
        "--context",
        help="the one line on what the items are (default: the preset's for Debian sections,"
        " none for other corpora: a preset's corpus description must not name another corpus)",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        help="JSON file of answers kept between runs (a prompt change re-pays only what it changes)",
    )
    args = ap.parse_args()
    x_all = np.load(args.vectors.expanduser()).astype(np.float32)
    meta_all = json.loads(args.meta.expanduser().read_text())
    pool = np.arange(len(meta_all))
    labelled = "section" in meta_all[0]
    if args.resampled is not None:
        pool = draw_corpus(np.asarray([m["section"] for m in meta_all]), args.resampled).rows
    take = min(args.items, len(pool))
    rows = np.sort(np.random.default_rng(0).choice(pool, take, replace=False))
    x, meta = x_all[rows], [meta_all[i] for i in rows]
    texts = [f"{m.get('title') or m.get('name')}. {m['text']}" for m in meta]
    sections = np.asarray([m["section"] for m in meta]) if labelled else None
    h = ClusterTree.from_labels(rows, x, texts, two_levels(x, args.fine, args.coarse))
    embedder = make_embedder(EmbedParams(quantize=False))

    preset = load_params(ROOT / "params" / "local-llm.yaml").describe.model_dump()
    preset |= {"base_url": args.base_url, "llm_levels": None}
    if labelled:
        preset["categories"] = SECTION_CATEGORIES
    else:
        preset["context"] = ""
    if args.context is not None:
        preset["context"] = args.context
    p = DescribeParams(**preset)
    t0 = time.perf_counter()
    offline_describer = OfflineDescriber(p, embedder=embedder).fit(h)
    offline = offline_describer.cards_
    offline_s = time.perf_counter() - t0
    cache = FileCache(args.cache) if args.cache else MemoryCache()
    describer = LLMDescriber(
        p,
        cache=cache,
        progress=True,
        embedder=embedder,
        common_words=offline_describer.common_words_,
    )
    print(f"common words: {', '.join(describer.common_words) or '(none)'}")
    plan = describer.plan(h, offline)
    print(f"plan: {plan.calls} calls, ~{plan.seconds / 60:.0f} min ({plan.seconds_basis})")
    t0 = time.perf_counter()
    describer.fit(h, offline)
    llm_s = time.perf_counter() - t0
    if isinstance(cache, FileCache):
        cache.save()
    llm_cards = {cid: describer.cards_.get(cid, offline[cid]) for cid in offline}
    results: dict[str, Any] = {
        "offline": {
            "seconds_per_card": offline_s / len(offline),
            **figures(h, offline, sections, embedder),
        },
        p.model: {
            # per request, as measured when it was paid (answers from --cache cost nothing now)
            "seconds_per_request": float(
                np.mean([a["_seconds"] for a in cache.data.values() if "_seconds" in a] or [0.0])
            ),
            "seconds_per_card": llm_s / max(1, len(describer.cards_) - len(describer.copied_)),
            "requests": describer.usage_.requests,
            "copied_from_only_child": len(describer.copied_),
            "failures": {c.cluster_id: c.failure for c in describer.cards_.values() if not c.ok},
            **figures(h, llm_cards, sections, embedder),
        },
    }
    print(
        "\n| labeller | level | clusters | s/card | valid | dup sibling names | near-dup pairs"
        " | top-1 name only | top-1 name+summary | sibling name cos | category acc (ceiling) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        for level in h.levels:
            f = r[level]
            print(
                f"| {name} | L{level} | {f['clusters']} | {r['seconds_per_card']:.2f} | "
                f"{f['valid']:.0%} | {f['duplicate_sibling_names']} | {f['near_duplicate_pairs']} | "
                f"{f['top1_name_only']:.2f} | {f['top1_name_summary']:.2f} | "
                f"{f['sibling_name_cos']:.2f} | {f['category_acc']:.2f} ({f['category_ceiling']:.2f}) |"
            )
    what = "largest sections" if sections is not None else "names nearest the centre"
    print(f"\nlevel-1 names (size, {what}, offline, LLM):")
    for n in sorted(h.level(1), key=lambda n: -n.size):
        print(
            f"  {n.size:5d} {what_it_is(n, x, meta, sections)} | {offline[n.id].pattern_name} | "
            f"{llm_cards[n.id].pattern_name or '(failed)'} | proposed: "
            f"{'; '.join(describer.proposals_.get(n.id, []))}"
        )
    print(
        f"\n{describer.usage_.requests} requests, {llm_s:.0f} s; failures: "
        f"{results[p.model]['failures'] or 'none'}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))  # fmt: skip


if __name__ == "__main__":
    main()
