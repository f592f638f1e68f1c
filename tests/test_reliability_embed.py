"""Issue 10, embedding: vector sizes, the active model, checked replies (real SQLite, real HTTP)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from misbehaving_server import MisbehavingServer, embeddings_body

from thememap.embed.openai_api import OpenAIEmbedder
from thememap.embed.step import embed_store
from thememap.errors import BackendError, StoreError
from thememap.ingest.params import InputParams
from thememap.store.connection import open_store, transaction
from thememap.store.vectors import active_model, load_item_vectors, to_blob

TEXTS = [f"feedback number {i}: the sync is slow" for i in range(6)]


def _store(path: Path, texts: Sequence[str] = TEXTS) -> sqlite3.Connection:
    conn = open_store(path)
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(external_id, content, content_hash) VALUES (?, ?, ?)",
            [(str(i), text, "unprepared") for i, text in enumerate(texts)],
        )
    return conn


def _embedder(base_url: str, **kwargs: Any) -> OpenAIEmbedder:
    options: dict[str, Any] = {"max_retries": 0, "concurrency": 1, "batch_size": 2, **kwargs}
    return OpenAIEmbedder(
        api_key="no-key", model="m", base_url=base_url, sleep=lambda s: None, **options
    )


def _stored(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return [tuple(r) for r in conn.execute("SELECT model_id, dim FROM embeddings ORDER BY dim")]


def test_a_server_that_changes_vector_size_is_refused_before_writing(tmp_path: Path) -> None:
    conn = _store(tmp_path / "items.db")
    phase = {"dim": 64}

    def reply(number: int, body: dict[str, Any]) -> tuple[int, Any]:
        if phase["dim"] == 64 and number > 1:  # first run: one batch, then the server fails
            return 500, {"error": {"message": "overloaded"}}
        return 200, embeddings_body(body["input"], phase["dim"])

    with MisbehavingServer(reply) as url:
        with pytest.raises(BackendError, match="500"):
            embed_store(conn, _embedder(url), InputParams(), batch_size=2, progress=False)
        model_id = _embedder(url).model_id
        assert _stored(conn) == [(model_id, 64), (model_id, 64)]
        phase["dim"] = 32  # the server now answers with another model behind the same name
        with pytest.raises(StoreError) as err:
            embed_store(conn, _embedder(url), InputParams(), batch_size=2, progress=False)
    message = str(err.value)
    assert "32-d" in message and "64-d" in message and "DELETE FROM embeddings" in message
    assert _stored(conn) == [(model_id, 64), (model_id, 64)]  # nothing of 32-d was written


def _fake_embedder(model_id: str, dim: int) -> Any:
    class Fake:
        def __init__(self) -> None:
            self.model_id, self.dim = model_id, dim

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            rng = np.random.default_rng(len(texts))
            rows = rng.normal(size=(len(texts), dim)).astype(np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    return Fake()


def test_every_stored_row_is_checked_when_vectors_are_read(tmp_path: Path) -> None:
    conn = _store(tmp_path / "items.db", TEXTS[:4])
    embed_store(conn, _fake_embedder("m", 64), InputParams(), progress=False)
    hashes = [r[0] for r in conn.execute("SELECT content_hash FROM items ORDER BY id LIMIT 2")]
    with transaction(conn):  # what the unchecked code used to leave behind
        conn.executemany(
            "UPDATE embeddings SET dim = 32, vector = ? WHERE content_hash = ?",
            [(to_blob(np.ones(32)), h) for h in hashes],
        )
    with pytest.raises(StoreError, match="several lengths"):
        load_item_vectors(conn, "m")


def test_the_params_model_becomes_active_even_when_nothing_is_new(tmp_path: Path) -> None:
    conn = _store(tmp_path / "items.db")
    quantized, full = _fake_embedder("local:minilm:int8", 8), _fake_embedder("local:minilm", 8)
    embed_store(conn, quantized, InputParams(), progress=False)
    embed_store(conn, full, InputParams(), progress=False)
    assert active_model(conn) == "local:minilm"
    report = embed_store(conn, quantized, InputParams(), progress=False)  # switched back
    assert report.embedded_now == 0
    assert active_model(conn) == "local:minilm:int8"


def _bad_reply(kind: str) -> Any:
    def reply(number: int, body: dict[str, Any]) -> tuple[int, Any]:
        good = embeddings_body(body["input"], 16)
        if kind == "zeros":
            good["data"][1]["embedding"] = [0.0] * 16
        elif kind == "duplicate index":
            good["data"][1]["index"] = 0
        elif kind == "missing index":
            good["data"][1]["index"] = 7
        elif kind == "other model":
            good["model"] = "nomic-embed-text"
        return 200, good

    return reply


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("zeros", "all-zero"),
        ("duplicate index", "indexes"),
        ("missing index", "indexes"),
        ("other model", "nomic-embed-text"),
    ],
)
def test_bad_embedding_replies_are_rejected_and_never_stored(
    tmp_path: Path, kind: str, message: str
) -> None:
    conn = _store(tmp_path / "items.db")
    with MisbehavingServer(_bad_reply(kind)) as url, pytest.raises(BackendError, match=message):
        embed_store(conn, _embedder(url), InputParams(), batch_size=6, progress=False)
    assert _stored(conn) == []


def test_a_truncated_reply_is_retried(tmp_path: Path) -> None:
    conn = _store(tmp_path / "items.db")

    def cut_once(number: int, body: dict[str, Any]) -> tuple[int, Any]:
        if number == 1:
            return 200, b'{"object": "list", "data": [{"index": 0, "embedding": [0.1, 0.'
        return 200, embeddings_body(body["input"], 16)

    server = MisbehavingServer(cut_once)
    with server as url:
        report = embed_store(
            conn, _embedder(url, max_retries=2, batch_size=6), InputParams(), progress=False
        )
    assert server.requests == 2 and report.embedded_now == 6
    assert len(_stored(conn)) == 6
