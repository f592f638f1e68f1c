"""Cluster names and cards: the same label-quality figures for every labeller, several corpora.

    nice -n 10 .venv/bin/python bench/describe_quality.py \\
        --vectors ~/.cache/thememap/bench/debian_minilm.npy \\
        --meta ~/.cache/thememap/bench/debian_meta.json \\
        --pypi ../shared/data/pypi-summaries.tsv.gz --resamples 3 --json /tmp/describe.json

``--vectors``: the Debian corpus's MiniLM vectors (fp32 all-MiniLM-L6-v2, unit rows, aligned
with ``--meta``, a JSON list of {title, text, section, ...}); names are embedded with the same
model (local backend, ``quantize: false``). ``--pypi``: the PyPI summaries; a fixed sample of
``--pypi-n`` one-liners is embedded once with the same model (cached beside the vectors).

Corpora: the whole Debian corpus, ``--resamples`` resampled ones (each a random subset of 5-14
sections with unequal sizes, 1,500-9,000 items, fixed seeds) and the PyPI sample (no labels,
no titles). Hierarchy: the 02_cluster default (``build_hierarchy(x)``), built here.

Labellers (all get the same hierarchy and the same embedder):

* ``old offline``: the offline names before issue 9 (sibling c-TF-IDF phrases, first 2-5-word
  phrase among the best three; :func:`old_offline_names`, kept here as the baseline);
* ``new offline``: :class:`thememap.describe.offline.OfflineDescriber` (whole cards);
* ``KeyBERT-style``: the cluster's 50 most frequent candidate phrases, the one whose embedding
  is nearest the cluster centroid (no contrast, no coverage);
* ``BERTopic-style``: c-TF-IDF over the whole level, the top three words joined.

Figures per level: **name-only retrieval top-1** (a name alone, embedded, finds its own
cluster's centroid among all clusters of its level), **fragments** (names that start or end
in a function word or a dangling modifier, or hold a verb: the rule set of
:mod:`thememap.describe.nounphrase`), **= parent** (names equal to their parent's, case and
plural folded), **sibling cos** (mean cosine between sibling names), **name as query**
(the items holding all of a name's words: mean precision, the share of them in the cluster,
and mean F1 with the cluster's share holding them; a vague name held all over the corpus
scores low whatever the embedding says), **s/100** (seconds per 100
clusters for that labeller, phrase counting and embedding included). Category (Debian only):
the 14 sections as categories (descriptions in this file); share of items whose cluster's
category is their section, beside the ceiling (each cluster's majority section), and for the
new cards the share of items in clusters given a category other than ``other``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from thememap.cluster.hierarchy import build_hierarchy
from thememap.ctfidf import ctfidf
from thememap.describe import keyphrases as kp
from thememap.describe.hierarchy import ClusterTree
from thememap.describe.keyphrases import _stem
from thememap.describe.naming import stem_key
from thememap.describe.nounphrase import fragment_reason
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams
from thememap.describe.quality import card_text
from thememap.embed.base import make_embedder
from thememap.embed.params import EmbedParams

CACHE = Path.home() / ".cache" / "thememap" / "bench"

# Zero-shot categories for the Debian corpus: one short description per section (bench only;
# nothing about any corpus lives in lib/).
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


# -- corpora -------------------------------------------------------------------------------
def resample(sections: np.ndarray, seed: int) -> np.ndarray:
    """Rows of a random corpus: 5-14 sections, unequal sizes, 1,500-9,000 items (sorted)."""
    rng = np.random.default_rng(seed)
    names = np.unique(sections)
    chosen = rng.choice(names, size=int(rng.integers(5, len(names) + 1)), replace=False)
    target = int(rng.integers(1_500, 9_001))
    weights = rng.dirichlet(np.full(len(chosen), 0.8))
    rows: list[np.ndarray] = []
    for name, w in zip(chosen, weights, strict=True):
        pool = np.flatnonzero(sections == name)
        take = min(len(pool), max(20, round(float(w) * target)))
        rows.append(rng.choice(pool, size=take, replace=False))
    return np.sort(np.concatenate(rows))


def pypi_sample(path: Path, n: int, embedder: Any, seed: int = 7) -> tuple[np.ndarray, list[str]]:
    """A fixed sample of PyPI one-line summaries and their vectors (cached)."""
    vec_path = CACHE / f"pypi_describe_{n}_{seed}_{embedder.model_id.replace('/', '_')}.npy"
    txt_path = vec_path.with_suffix(".json")
    if vec_path.exists() and txt_path.exists():
        return np.load(vec_path), json.loads(txt_path.read_text())
    rows: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and len(parts[2].split()) >= 3:
                rows.append(parts[2].strip())
    rng = np.random.default_rng(seed)
    texts = [rows[i] for i in sorted(rng.choice(len(rows), size=n, replace=False))]
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(vec_path, vectors)
    txt_path.write_text(json.dumps(texts))
    return vectors, texts


# -- labellers -----------------------------------------------------------------------------
def old_offline_names(h: ClusterTree) -> dict[int, str]:
    """The offline names before issue 9 (commit 67297d6..af46ed4), as the baseline."""
    counts = kp.PhraseCounts.fit(
        h.texts, ngram_max=3, min_df=2, max_vocab=50_000, stop_words=sorted(ENGLISH_STOP_WORDS)
    )
    phrases = kp.sibling_keyphrases(h, counts, k=8)
    names: dict[int, str] = {}
    for level in h.levels:
        for node in h.level(level):
            own = phrases.get(node.id, [])
            name = kp.name_from_phrases(own)
            parent = names.get(node.parent_id) if node.parent_id is not None else None
            only_child = len(h.siblings(node)) < 2
            if parent and not only_child and name.lower() == parent.lower() and len(own) > 1:
                rest = [ph for ph in own if ph.lower() not in parent.lower()]
                name = kp.name_from_phrases(rest) if rest else name
            names[node.id] = name
    return names


def keybert_names(h: ClusterTree, embedder: Any, *, pool: int = 50) -> dict[int, str]:
    """KeyBERT-style: among the cluster's most frequent phrases, the nearest to its centroid."""
    counts = kp.PhraseCounts.fit(h.texts, ngram_max=3, min_df=2, stop_words=None)
    cands: dict[int, list[str]] = {}
    for level in h.levels:
        nodes = h.level(level)
        df = kp.class_counts(counts, nodes)
        for row, node in enumerate(nodes):
            top = np.argsort(-df[row], kind="stable")[:pool]
            cands[node.id] = [str(counts.vocabulary[i]) for i in top if df[row, i] > 0]
    unique = sorted({p for ps in cands.values() for p in ps})
    vectors = dict(zip(unique, np.asarray(embedder.embed(unique)), strict=True))
    names = {}
    for node in h.nodes:
        ps = cands[node.id]
        if not ps:
            names[node.id] = "Unnamed cluster"
            continue
        sims = np.vstack([vectors[p] for p in ps]) @ h.centroid(node)
        best = ps[int(np.argmax(sims))]
        names[node.id] = best[:1].upper() + best[1:]
    return names


def bertopic_names(h: ClusterTree, *, words: int = 3) -> dict[int, str]:
    """BERTopic-style: c-TF-IDF of single words over the whole level, the top ``words``."""
    counts = kp.PhraseCounts.fit(h.texts, ngram_max=1, min_df=2, stop_words=None)
    names = {}
    for level in h.levels:
        nodes = h.level(level)
        df = kp.class_counts(counts, nodes)
        sizes = np.array([n.size for n in nodes], dtype=np.float32)
        scores = ctfidf(df, sizes, None)
        for row, node in enumerate(nodes):
            top = np.argsort(-scores[row], kind="stable")[:words]
            names[node.id] = ", ".join(str(counts.vocabulary[i]) for i in top if scores[row, i] > 0)
    return names


# -- figures -------------------------------------------------------------------------------
def name_figures(
    h: ClusterTree,
    names: dict[int, str],
    embedder: Any,
    seconds: float,
    stems: list[frozenset[str]],
) -> list[dict[str, Any]]:
    """Per level: name-only retrieval top-1, fragments, equal to parent, sibling cosine,
    the name as a keyword query (precision, F1)."""
    unique = sorted(set(names.values()))
    vec = dict(zip(unique, np.asarray(embedder.embed(unique)), strict=True))
    out = []
    for level in h.levels:
        nodes = h.level(level)
        centroids = h.centroids(nodes)
        name_matrix = np.vstack([vec[names[n.id]] for n in nodes])
        hits = int(np.sum(np.argmax(name_matrix @ centroids.T, axis=1) == np.arange(len(nodes))))
        fragments = [names[n.id] for n in nodes if fragment_reason(names[n.id]) is not None]
        equal = [
            names[n.id]
            for n in nodes
            if n.parent_id is not None
            and (
                names[n.id].lower() == names[n.parent_id].lower()
                or stem_key(names[n.id]) == stem_key(names[n.parent_id])
            )
        ]
        sims = [
            float(vec[names[a.id]] @ vec[names[b.id]])
            for group in h.sibling_groups(level)
            for i, a in enumerate(group)
            for b in group[i + 1 :]
        ]
        query_precision, query_f1 = name_as_query(h, names, stems, level)
        out.append(
            {
                "level": level,
                "clusters": len(nodes),
                "query_precision": query_precision,
                "query_f1": query_f1,
                "retrieval_name_only": hits / len(nodes),
                "fragments": len(fragments),
                "fragment_examples": fragments[:4],
                "equal_parent": len(equal),
                "sibling_cos": float(np.mean(sims)) if sims else float("nan"),
                "s_per_100": 100 * seconds / len(h.nodes),
            }
        )
    return out


_WORD = re.compile(r"[^\W_]+(?:[+#'-][^\W_]+)*[+#]*", re.UNICODE)


def item_stems(texts: list[str]) -> list[frozenset[str]]:
    """Each item's words, lower-cased with plurals folded (as names are keyed)."""
    return [frozenset(_stem(w) for w in _WORD.findall(t.lower())) for t in texts]


def name_as_query(
    h: ClusterTree, names: dict[int, str], stems: list[frozenset[str]], level: int
) -> tuple[float, float]:
    """The name as a keyword query (items holding all its words) against its own cluster:
    mean precision (share of the holders that are members) and mean F1 with coverage.

    A vague name ("Tools", "Python") is held by items all over the corpus: low precision;
    a name only a few members say: low F1. Text-only, so every labeller is measured alike."""
    precision, f1 = [], []
    for node in h.level(level):
        # "A & B" (a parent named by its parts) is held by items holding A or B
        keys = [stem_key(part.replace(",", " ")) for part in names[node.id].split(" & ")]
        holders = {i for i, words in enumerate(stems) if any(k and k <= words for k in keys)}
        members = set(np.asarray(node.members).tolist())
        hit = len(holders & members)
        p = hit / len(holders) if holders else 0.0
        r = hit / max(len(members), 1)
        precision.append(p)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.mean(precision)), float(np.mean(f1))


def card_retrieval(h: ClusterTree, cards: dict[int, Any], embedder: Any) -> list[float]:
    """Per level: "name. summary" retrieval top-1."""
    out = []
    for level in h.levels:
        nodes = h.level(level)
        v = np.asarray(embedder.embed([card_text(cards[n.id]) for n in nodes]))
        hits = np.argmax(v @ h.centroids(nodes).T, axis=1) == np.arange(len(nodes))
        out.append(float(np.mean(hits)))
    return out


def category_figures(h: ClusterTree, embedder: Any, sections: np.ndarray) -> list[dict[str, Any]]:
    """Section-as-category accuracy: raw nearest description vs the calibrated card category."""
    params = DescribeParams(categories=SECTION_CATEGORIES)
    cards = OfflineDescriber(params, embedder=embedder).fit(h).cards_
    out = []
    for level in h.levels:
        nodes = h.level(level)
        raw = calibrated = covered = hits_covered = ceiling = 0
        for n in nodes:
            secs = sections[n.members]
            card = cards[n.id]
            nearest = max(card.category_scores, key=lambda k: card.category_scores[k])
            raw += int(np.sum(secs == nearest))
            ceiling += int(np.max(np.unique(secs, return_counts=True)[1]))
            if card.category != "other":
                covered += n.size
                calibrated += int(np.sum(secs == card.category))
        total = len(h.texts)
        hits_covered = calibrated
        out.append(
            {
                "level": level,
                "nearest": raw / total,
                "calibrated": calibrated / total,
                "covered": covered / total,
                "precision_covered": hits_covered / covered if covered else float("nan"),
                "ceiling": ceiling / total,
            }
        )
    return out


def run_corpus(
    label: str,
    x: np.ndarray,
    texts: list[str],
    titles: list[str] | None,
    sections: np.ndarray | None,
    embedder: Any,
    *,
    repeat: int = 1,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    overrides = overrides or {}
    t0 = time.perf_counter()
    built = build_hierarchy(x)
    build_s = time.perf_counter() - t0
    h = ClusterTree.from_labels(
        np.arange(len(texts)), x, texts, [np.asarray(lab) for lab in built.labels], titles=titles
    )
    print(f"[{label}] {len(texts)} items, clusters {[len(h.level(lv)) for lv in h.levels]}, "
          f"hierarchy {build_s:.0f} s", flush=True)  # fmt: skip
    result: dict[str, Any] = {
        "corpus": label,
        "items": len(texts),
        "clusters": [len(h.level(lv)) for lv in h.levels],
        "labellers": {},
    }
    names: dict[str, dict[int, str]] = {}
    stems = item_stems(texts)
    old_s = new_s = kb_s = bt_s = float("inf")
    for _ in range(repeat):  # interleaved; the fastest of each counts (a shared machine)
        t0 = time.perf_counter()
        names["old offline"] = old_offline_names(h)
        old_s = min(old_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        describer = OfflineDescriber(DescribeParams(**overrides), embedder=embedder).fit(h)
        new_s = min(new_s, time.perf_counter() - t0)
        names["new offline"] = {cid: c.pattern_name for cid, c in describer.cards_.items()}
        t0 = time.perf_counter()
        names["KeyBERT-style"] = keybert_names(h, embedder)
        kb_s = min(kb_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        names["BERTopic-style"] = bertopic_names(h)
        bt_s = min(bt_s, time.perf_counter() - t0)
    for name, seconds in (
        ("old offline", old_s),
        ("new offline", new_s),
        ("KeyBERT-style", kb_s),
        ("BERTopic-style", bt_s),
    ):
        result["labellers"][name] = name_figures(h, names[name], embedder, seconds, stems)
    result["new_card_retrieval"] = card_retrieval(h, describer.cards_, embedder)
    result["generic_words"] = sorted(describer.generic_)
    if sections is not None:
        result["category"] = category_figures(h, embedder, sections)
    rows = []
    for node in sorted(h.level(h.levels[0]), key=lambda n: -n.size):
        what = (
            ", ".join(f"{s} {c}" for s, c in Counter(sections[node.members]).most_common(2))
            if sections is not None
            else describer.cards_[node.id].summary.split(" E.g. ")[-1][:90]
        )
        rows.append((node.size, names["new offline"][node.id], names["old offline"][node.id], what))
    result["level1"] = rows
    result["examples"] = {
        lv: [
            (n.size, names["new offline"][n.id], names["old offline"][n.id],
             names["new offline"].get(n.parent_id, "") if n.parent_id else "",
             ", ".join(f"{s} {c}" for s, c in Counter(sections[n.members]).most_common(2))
             if sections is not None else "")
            for n in sorted(h.level(lv), key=lambda n: -n.size)[:15]
        ]
        for lv in h.levels[1:]
    }  # fmt: skip
    summaries = [describer.cards_[n.id].summary for n in h.level(h.levels[-1])[:2]]
    result["summary_examples"] = summaries + [
        describer.cards_[n.id].summary for n in h.level(h.levels[0])[:1]
    ]
    return result


def print_result(r: dict[str, Any]) -> None:
    print(f"\n## {r['corpus']}: {r['items']} items, clusters per level {r['clusters']}")
    print(
        "| level | labeller | name-only top-1 | name as query: precision / F1 | fragments"
        " | = parent | sibling cos | s/100 |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for lv in range(len(r["clusters"])):
        for name, figs in r["labellers"].items():
            f = figs[lv]
            print(
                f"| L{lv + 1} ({f['clusters']}) | {name} | {f['retrieval_name_only']:.2f} | "
                f"{f['query_precision']:.2f} / {f['query_f1']:.2f} | {f['fragments']} | {f['equal_parent']} | {f['sibling_cos']:.2f} | "
                f"{f['s_per_100']:.2f} |"
            )
    print("new offline cards, name + summary retrieval per level:",
          [round(v, 2) for v in r["new_card_retrieval"]])  # fmt: skip
    for name, figs in r["labellers"].items():
        frags = [e for f in figs for e in f["fragment_examples"]]
        if frags:
            print(f"  fragments, {name}: {frags[:6]}")
    if "category" in r:
        print("| level | nearest description | calibrated (else other) | covered | "
              "precision where covered | ceiling |")  # fmt: skip
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for c in r["category"]:
            print(f"| L{c['level']} | {c['nearest']:.3f} | {c['calibrated']:.3f} | "
                  f"{c['covered']:.2f} | {c['precision_covered']:.3f} | {c['ceiling']:.3f} |")  # fmt: skip
    print("generic words:", ", ".join(r["generic_words"]))
    print("level 1 (size | new | old | what it is):")
    for size, new, old, what in r["level1"]:
        print(f"  {size:5d} | {new} | {old} | {what}")
    for lv, rows in r["examples"].items():
        print(f"level {lv} largest (size | new | old | new parent | what):")
        for size, new, old, parent, what in rows:
            print(f"  {size:5d} | {new} | {old} | {parent} | {what}")
    for s in r["summary_examples"]:
        print("  summary:", s)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--vectors", required=True, type=Path)
    ap.add_argument("--meta", required=True, type=Path)
    ap.add_argument("--pypi", type=Path, help="pypi-summaries.tsv.gz (skipped if not given)")
    ap.add_argument("--pypi-n", type=int, default=4_000)
    ap.add_argument("--resamples", type=int, default=3, help="resampled Debian corpora")
    ap.add_argument("--no-full", action="store_true", help="skip the whole Debian corpus")
    ap.add_argument("--repeat", type=int, default=1, help="time each labeller this often (min)")
    ap.add_argument(
        "--quantize", action="store_true", help="int8 embedder (the notebook default), not fp32"
    )
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    ap.add_argument(
        "--set",
        default="",
        metavar="KEY=VALUE,...",
        help="describe params for the new offline cards (e.g. name_coverage_power=0.5)",
    )
    args = ap.parse_args()
    overrides = {k: float(v) for k, v in (kv.split("=", 1) for kv in args.set.split(",") if kv)}
    x = np.load(args.vectors.expanduser()).astype(np.float32)
    meta = json.loads(args.meta.expanduser().read_text())
    titles = [str(m.get("title") or "") for m in meta]
    texts = [f"{t}. {m['text']}" if t else m["text"] for t, m in zip(titles, meta, strict=True)]
    sections = np.asarray([m["section"] for m in meta])
    embedder = make_embedder(EmbedParams(quantize=args.quantize))
    embedder.embed(["warm-up"])
    out = []
    corpora: list[tuple[str, np.ndarray]] = [] if args.no_full else [("debian", np.arange(len(x)))]
    corpora += [
        (f"debian-r{seed}", resample(sections, seed)) for seed in range(1, args.resamples + 1)
    ]
    for label, rows in corpora:
        result = run_corpus(
            label, x[rows], [texts[i] for i in rows], [titles[i] for i in rows], sections[rows],
            embedder, repeat=args.repeat, overrides=overrides,
        )  # fmt: skip
        print_result(result)
        out.append(result)
    if args.pypi:
        px, ptexts = pypi_sample(args.pypi.expanduser(), args.pypi_n, embedder)
        result = run_corpus(
            f"pypi-{args.pypi_n}",
            px,
            ptexts,
            None,
            None,
            embedder,
            repeat=args.repeat,
            overrides=overrides,
        )
        print_result(result)
        out.append(result)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
