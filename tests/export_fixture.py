"""A store with a stand-in cluster hierarchy, 2D layout and cards, for the export tests.

It uses the real store (``open_store``: migrations applied, 003_clusters
included) and fills it as 02_cluster / 03_describe do: clusters with run_id,
level, name "L<level>_<label>", parent_id, comment_count, centroid, coherence,
representatives (item ids), keywords and the reference's llm_* card fields;
memberships with strength and outlier score; layouts; and the reference's
items.embedding_cluster_l1..l3 (label numbers) and umap_x/umap_y; with
``cards`` also cluster_cards (an offline card per cluster, an LLM card per
level-1 cluster) and card_quality. With ``label_xy=False`` the clusters' x/y
(label anchors) are left empty; with ``vectors`` each item gets a 16-d vector
near its fine theme's direction (model "fixture-model"), for nearest neighbours.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from thememap.store import open_store, transaction
from thememap.store.vectors import put_vectors

HOSTILE_TEXT = "<script>alert(1)</script>"
TRICKY_TEXTS = (
    HOSTILE_TEXT,
    "ends the data early </script><!-- and <img src=x onerror=alert(2)> & \u2028 line sep",
    '" onmouseover="alert(3)" \' @@DATA@@',
)
CATEGORIES = ("bug", "feature_request", "question", "feedback")
_WORDS = [
    "network proxy server dns firewall packet router vpn socket http",
    "game puzzle strategy arcade chess board level player score dungeon",
    "audio sound mixer synth midi codec player music volume jack",
    "font typeface glyph truetype opentype serif unicode ligature kerning hinting",
    "math algebra matrix solver plot symbolic integral equation numeric statistics",
]


def make_export_store(
    path: Path,
    *,
    n: int = 600,
    seed: int = 0,
    run_id: str = "fixture-run",
    dates: bool = True,
    memberships: bool = True,
    tricky: bool = True,
    label_xy: bool = True,
    cards: bool = True,
    vectors: bool = False,
) -> sqlite3.Connection:
    """A store at ``path`` with ``n`` items in 5 x 3 x 2 nested clusters; returns the connection."""
    rng = np.random.default_rng(seed)
    conn = open_store(path)  # migrations create the clusters / memberships / layouts tables
    conn.execute(
        "INSERT OR IGNORE INTO runs(id, params, versions) VALUES (?, '{}', ?)",
        (run_id, json.dumps({"thememap": "0.1.0", "numpy": np.__version__})),
    )
    # 5 top themes on a circle, 3 sub-themes each, 2 fine ones each: blobs in 2D
    tree = [(a, b, c) for a in range(5) for b in range(3) for c in range(2)]
    centres = {}
    for a, b, c in tree:
        base = np.array([np.cos(a * 1.257), np.sin(a * 1.257)]) * 12
        sub = np.array([np.cos(b * 2.1), np.sin(b * 2.1)]) * 3.5
        fine = np.array([np.cos(c * 3.1), np.sin(c * 3.1)]) * 1.1
        centres[(a, b, c)] = base + sub + fine
    leaf = rng.integers(0, len(tree), size=n)
    leaf[: len(TRICKY_TEXTS)] = 0
    start = np.datetime64("2023-01-01")
    rows = []
    for i in range(n):
        a, b, c = tree[leaf[i]]
        x, y = centres[(a, b, c)] + rng.normal(scale=0.35, size=2)
        words = _WORDS[a].split()
        text = f"item {i}: " + " ".join(rng.choice(words, size=8)) + f" sub{b} fine{c}"
        if tricky and i < len(TRICKY_TEXTS):  # apart from the rest, so a test can hover them
            text = TRICKY_TEXTS[i]
            x, y = 17.0 + 1.5 * i, 4.0
        # theme 0 grows over time, theme 1 fades
        skew = rng.random() ** (0.4 if a == 0 else 2.5 if a == 1 else 1.0)
        created = str(start + int(skew * 700)) if dates and i % 50 != 7 else None
        meta = json.dumps({"source": "fixture", "topic": a}) if i % 97 != 5 else "not json {"
        rows.append((i + 1, f"ext-{i}", text, meta, created, f"h{i}", float(x), float(y), a, b, c))
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(id, external_id, content, metadata, created_at, content_hash,"
            " umap_x, umap_y) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [r[:8] for r in rows],
        )
        ids: dict[tuple[int, ...], int] = {}
        label_of: dict[tuple[int, ...], int] = {}
        for level, key_len in ((1, 1), (2, 2), (3, 3)):
            keys = sorted({tuple(int(v) for v in r[8 : 8 + key_len]) for r in rows})
            for label, key in enumerate(keys):
                label_of[key] = label
                members = [r for r in rows if tuple(r[8 : 8 + key_len]) == key]
                a = key[0]
                xy = np.median([m[6:8] for m in members], axis=0) if label_xy else (None, None)
                cur = conn.execute(
                    "INSERT INTO clusters(run_id, level, name, parent_id, comment_count, centroid,"
                    " coherence, stability, representatives, keywords, x, y, llm_description,"
                    " llm_pattern_name, llm_category, strength_score)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id, level, f"L{level}_{label}", ids.get(key[:-1]), len(members),
                        np.zeros(4, dtype=np.float32).tobytes(), 0.5 + 0.1 * a, 0.9,
                        json.dumps([m[0] for m in members[:3]]),
                        json.dumps([*_WORDS[a].split()[:4], f"sub{key[-1]}"]),
                        None if xy[0] is None else float(xy[0]),
                        None if xy[1] is None else float(xy[1]),
                        f"Items about {_WORDS[a].split()[0]} (level {level}, {key}).",
                        f"{_WORDS[a].split()[0].title()} theme {'.'.join(map(str, key))}",
                        CATEGORIES[a % len(CATEGORIES)], 3 + a,
                    ),
                )  # fmt: skip
                ids[key] = int(cur.lastrowid or 0)
                if cards:  # 03_describe: an offline card for each, an LLM card at level 1
                    word = _WORDS[a].split()[1]
                    conn.execute(
                        "INSERT INTO cluster_cards(cluster_id, source, pattern_name, summary,"
                        " category, strength, keywords, representative_ids, coherence)"
                        " VALUES (?, 'offline', ?, ?, ?, ?, ?, ?, ?)",
                        (
                            ids[key], f"offline {word} {key}", f"Offline summary of {word}.",
                            CATEGORIES[a % len(CATEGORIES)], 2 + a,
                            json.dumps([f"{word} phrase {k}" for k in range(5)]),
                            json.dumps([m[0] for m in members[-2:]]), 0.4,
                        ),
                    )  # fmt: skip
                    if level == 1:
                        conn.execute(
                            "INSERT INTO cluster_cards(cluster_id, source, pattern_name, summary,"
                            " category, strength, keywords, representative_ids)"
                            " VALUES (?, 'test-llm', ?, ?, ?, ?, ?, ?)",
                            (
                                ids[key],
                                f"{_WORDS[a].split()[0].title()} theme {'.'.join(map(str, key))}",
                                "LLM summary.", CATEGORIES[a % len(CATEGORIES)], 3 + a,
                                json.dumps([f"llm {word} {k}" for k in range(4)]),
                                json.dumps([m[0] for m in members[:2]]),
                            ),
                        )  # fmt: skip
        for r in rows:
            keys = [r[8:9], r[8:10], r[8:11]]
            conn.execute(
                "UPDATE items SET embedding_cluster_l1 = ?, embedding_cluster_l2 = ?,"
                " embedding_cluster_l3 = ? WHERE id = ?",
                (*(label_of[tuple(k)] for k in keys), r[0]),
            )
            conn.execute(
                "INSERT INTO layouts(run_id, item_id, x, y) VALUES (?,?,?,?)",
                (run_id, r[0], r[6], r[7]),
            )
            if memberships:
                conn.executemany(
                    "INSERT INTO memberships(run_id, item_id, level, cluster_id, strength,"
                    " outlier_score, placed_from_noise) VALUES (?,?,?,?,?,?,?)",
                    [
                        (run_id, r[0], lv, ids[tuple(k)], 1 - 0.1 * lv, 0.1 * lv, 0)
                        for lv, k in enumerate(keys, 1)
                    ],
                )
        if cards:
            for level in (1, 2, 3):
                conn.execute(
                    "INSERT INTO card_quality(cluster_run_id, source, level, figures)"
                    " VALUES (?, 'offline', ?, ?)",
                    (run_id, level, json.dumps({"level": level, "retrieval_top1": 0.9 - 0.2 * level,
                                                "chance": 0.2, "near_duplicate_pairs": level})),
                )  # fmt: skip
    if vectors:  # fine theme t points along axis t % 16, sub-theme and top theme nearby
        directions = rng.normal(size=(len(tree), 16))
        for t, (a, b, _) in enumerate(tree):
            directions[t] += 3 * np.eye(16)[a] + 2 * np.eye(16)[5 + b]
        vecs = directions[leaf] + rng.normal(scale=0.3, size=(n, 16))
        put_vectors(conn, "fixture-model", [r[5] for r in rows], vecs.astype(np.float32))
    return conn
