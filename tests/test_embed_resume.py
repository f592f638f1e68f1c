"""A run killed mid-embedding (a real subprocess, SIGKILL) resumes with only what is missing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from thememap.embed import make_embedder
from thememap.embed.step import embed_store
from thememap.ingest.load import load_items
from thememap.params import load_params
from thememap.store import open_store
from thememap.store.vectors import load_item_vectors

pytestmark = pytest.mark.slow

N_ITEMS = 600
BATCH = 16

EMBED_SCRIPT = """
import sys
from thememap.embed import make_embedder
from thememap.embed.step import embed_store
from thememap.params import load_params
from thememap.store import open_store
p = load_params(sys.argv[1])
embed_store(open_store(p.store_path), make_embedder(p.embed), p.input,
            batch_size=p.embed.batch_size, progress=False)
"""


def _corpus(path: Path) -> Path:
    topics = ["printer jams", "login fails", "dark mode please", "battery drains", "export to csv"]
    lines = [
        f"Item {i}: the {topics[i % len(topics)]} problem, variant {i // len(topics)}"
        for i in range(N_ITEMS)
    ]
    lines += lines[:20]  # exact duplicates: items, but embedded once
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _params(write_params, tmp_path: Path, store: str) -> Path:
    return write_params(
        {
            "store": store,
            "input": {"path": str(_corpus(tmp_path / "items.txt")), "text_field": "text"},
            "embed": {"batch_size": BATCH, "threads": 1, "cache_dir": str(tmp_path / "models")},
        },
        name=f"{store}.yaml",
    )


def _vector_count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_killed_embedding_resumes_without_duplicates_or_losses(write_params, tmp_path: Path):
    params = load_params(_params(write_params, tmp_path, "killed.db"))
    conn = open_store(params.store_path)
    load_items(conn, params.input)
    distinct = conn.execute("SELECT COUNT(DISTINCT content_hash) FROM items").fetchone()[0]
    assert distinct == N_ITEMS
    make_embedder(params.embed)  # build the cached graphs first: the child only embeds

    child = subprocess.Popen(
        [sys.executable, "-c", EMBED_SCRIPT, str(tmp_path / "killed.db.yaml")],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while _vector_count(params.store_path) < 3 * BATCH and time.monotonic() < deadline:
        assert child.poll() is None, "the embedding run ended before it could be killed"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done_before = _vector_count(params.store_path)
    assert 0 < done_before < N_ITEMS, "the kill should land mid-way"
    assert done_before % BATCH == 0, "only whole batches are ever committed"

    resumed = embed_store(conn, make_embedder(params.embed), params.input, batch_size=BATCH)
    assert resumed.already_embedded == done_before
    assert resumed.embedded_now == N_ITEMS - done_before
    rows = conn.execute("SELECT COUNT(*), COUNT(DISTINCT content_hash) FROM embeddings").fetchone()
    assert tuple(rows) == (N_ITEMS, N_ITEMS)  # no duplicates, nothing lost

    # the same as a run that was never interrupted
    fresh = load_params(_params(write_params, tmp_path, "fresh.db"))
    fresh_conn = open_store(fresh.store_path)
    load_items(fresh_conn, fresh.input)
    embed_store(fresh_conn, make_embedder(fresh.embed), fresh.input, batch_size=BATCH)
    ids_a, vectors_a = load_item_vectors(conn)
    ids_b, vectors_b = load_item_vectors(fresh_conn)
    assert ids_a.tolist() == ids_b.tolist() and len(ids_a) == N_ITEMS + 20
    np.testing.assert_allclose(vectors_a, vectors_b, atol=1e-6)

    # and a third pass pays for nothing
    again = embed_store(conn, make_embedder(params.embed), params.input, batch_size=BATCH)
    assert again.embedded_now == 0
