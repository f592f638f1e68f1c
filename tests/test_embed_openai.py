"""The OpenAI-compatible backend against recorded responses (no network).

openai 3.x sends through ``httpx2``, which respx does not intercept, so the
recorded responses are replayed by an ``httpx2.MockTransport`` handed to the
SDK; one test also talks to a real HTTP server on localhost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
from json_http import JsonHandler

from thememap.embed.base import Embedder, make_embedder
from thememap.embed.openai_api import (
    OpenAIEmbedder,
    plan_requests,
)
from thememap.embed.params import EmbedParams
from thememap.embed.step import StreamingEmbedder, embed_store
from thememap.errors import BackendError, ParamsError
from thememap.ingest.params import InputParams
from thememap.ingest.prepare import prepare_text, text_hash
from thememap.store.connection import open_store, transaction
from thememap.tokens import tokens_at_most

KEY = "sk-test-0123456789abcdefSECRET"
DIM = 8
Handler = Callable[[httpx2.Request], httpx2.Response]


def fake_vector(text: str, dim: int = DIM) -> list[float]:
    """A deterministic, text-dependent (unnormalised) vector."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    return np.random.default_rng(seed).normal(size=dim).round(6).tolist()


def recorded_success(
    texts: list[str],
    *,
    dim: int = DIM,
    shuffle: bool = True,
    model: str = "text-embedding-3-large",
) -> dict[str, Any]:
    """The shape of a real /v1/embeddings reply (items may come back out of order)."""
    data = [
        {"object": "embedding", "index": i, "embedding": fake_vector(t, dim)}
        for i, t in enumerate(texts)
    ]
    if shuffle:
        data.reverse()
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": 5 * len(texts), "total_tokens": 5 * len(texts)},
    }


RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for text-embedding-3-large in organization org-x on "
        "tokens per min (TPM): Limit 1000000, Used 999000, Requested 4000. "
        "Please try again in 7s.",
        "type": "tokens",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}
SERVER_ERROR = {"error": {"message": "The server had an error", "type": "server_error"}}
BAD_KEY = {
    "error": {
        "message": "Incorrect API key provided: sk-test-****************CRET. You can find "
        "your API key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "code": "invalid_api_key",
    }
}


def texts_of(request: httpx2.Request) -> list[str]:
    return list(json.loads(request.content)["input"])


def echo(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json=recorded_success(texts_of(request)))


class Script:
    """Replays one scripted reply per request (the last one repeats); records requests."""

    def __init__(self, *replies: Handler | httpx2.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx2.Response):
            return reply
        return reply(request)


class Sleeps(list[float]):
    """Stands in for time.sleep: records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(handler: Handler, sleeps: Sleeps | None = None, **kwargs: Any) -> OpenAIEmbedder:
    options: dict[str, Any] = {"dimensions": DIM, "max_retries": 3, "seed": 0, **kwargs}
    return OpenAIEmbedder(
        api_key=KEY,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        sleep=sleeps if sleeps is not None else Sleeps(),
        **options,
    )


def expected(texts: list[str]) -> np.ndarray:
    rows = np.asarray([fake_vector(t) for t in texts], dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    # every test also checks that the key never reaches a log line (SDK debug logs included)
    with caplog.at_level(logging.DEBUG):
        yield
    assert KEY not in caplog.text
    assert "SECRET" not in caplog.text


def test_success_returns_unit_vectors_in_input_order() -> None:
    script = Script(echo)
    texts = ["first text", "second, longer text", "third"]
    vectors = make(script).embed(texts)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected(texts), atol=1e-6)
    body = json.loads(script.requests[0].content)
    assert body == {
        "model": "text-embedding-3-large",
        "input": texts,
        "encoding_format": "float",
        "dimensions": DIM,
    }
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert script.requests[0].url == "https://api.openai.com/v1/embeddings"


def test_429_waits_as_long_as_retry_after_says() -> None:
    sleeps = Sleeps()
    limited = httpx2.Response(429, json=RATE_LIMITED, headers={"retry-after": "7"})
    script = Script(limited, echo)
    vectors = make(script, sleeps).embed(["a", "b"])
    assert len(script.requests) == 2
    assert len(sleeps) == 1 and 7.0 <= sleeps[0] < 7.1
    np.testing.assert_allclose(vectors, expected(["a", "b"]), atol=1e-6)


def test_500_then_success_backs_off_exponentially_with_jitter() -> None:
    sleeps = Sleeps()
    error = httpx2.Response(500, json=SERVER_ERROR)
    script = Script(error, error, httpx2.Response(503, text="upstream down"), echo)
    vectors = make(script, sleeps).embed(["x"])
    assert len(script.requests) == 4
    # attempt n waits between half and all of 0.5 s * 2**n
    for attempt, waited in enumerate(sleeps):
        assert 0.25 * 2**attempt <= waited <= 0.5 * 2**attempt
    assert len(set(sleeps)) == 3
    np.testing.assert_allclose(vectors, expected(["x"]), atol=1e-6)


def test_timeout_is_retried_then_reported() -> None:
    def timeout(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("read timed out", request=request)

    recovered = Script(timeout, echo)
    make(recovered, timeout_s=5).embed(["t"])
    assert len(recovered.requests) == 2

    sleeps = Sleeps()
    stuck = Script(timeout)
    with pytest.raises(BackendError) as caught:
        make(stuck, sleeps, timeout_s=5, max_retries=2).embed(["t"])
    message = str(caught.value)
    assert "timed out after 5 s" in message
    assert "api.openai.com" in message and "batch 0" in message
    assert "gave up after 2 retries" in message
    assert len(stuck.requests) == 3 and len(sleeps) == 2


def test_a_real_timeout_on_localhost() -> None:
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(1.0)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with _server(Slow) as base_url:
        embedder = OpenAIEmbedder(
            api_key=KEY, base_url=base_url, timeout_s=0.2, max_retries=0, sleep=Sleeps()
        )
        with pytest.raises(BackendError, match=r"timed out after 0\.2 s"):
            embedder.embed(["slow"])


def test_success_over_a_real_socket_with_a_keyless_local_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str | None] = []

    class Echo(JsonHandler):
        def do_POST(self) -> None:
            seen.append(self.headers.get("authorization"))
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            self.send_json(200, recorded_success(body["input"], dim=5, model=body["model"]))

    monkeypatch.delenv("LOCAL_EMBED_KEY", raising=False)
    with _server(Echo) as base_url:
        params = EmbedParams(
            backend="openai", model="nomic-embed", base_url=base_url, api_key_env="LOCAL_EMBED_KEY"
        )
        embedder = make_embedder(params)
        assert isinstance(embedder, StreamingEmbedder)
        assert embedder.dim == 5  # learned from a probe request
        vectors = embedder.embed(["hello", "world"])
    assert vectors.shape == (2, 5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert seen[0] == "Bearer no-key"
    assert embedder.model_id.startswith("openai:nomic-embed:")


def test_malformed_json_is_a_backend_error() -> None:
    script = Script(httpx2.Response(200, text='{"data": [{"index": 0, "embedd'))
    with pytest.raises(BackendError, match=r"truncated or invalid JSON .*gave up after 3 retries"):
        make(script).embed(["a"])
    assert len(script.requests) == 4  # a cut-off reply is retried
    missing_index = Script(httpx2.Response(200, json={"data": [{"embedding": [1.0] * DIM}]}))
    with pytest.raises(BackendError, match="malformed response"):
        make(missing_index).embed(["a"])


def test_wrong_vector_count_or_dims_is_a_backend_error() -> None:
    def one_short(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=recorded_success(texts_of(request)[:-1]))

    with pytest.raises(BackendError, match="2 vectors for 3 texts"):
        make(Script(one_short)).embed(["a", "b", "c"])

    def wrong_dims(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=recorded_success(texts_of(request), dim=DIM + 1))

    with pytest.raises(BackendError, match=f"{DIM + 1} dims, expected {DIM}"):
        make(Script(wrong_dims)).embed(["a"])


def test_auth_error_fails_at_once_without_the_key() -> None:
    sleeps = Sleeps()
    script = Script(httpx2.Response(401, json=BAD_KEY))
    with pytest.raises(BackendError) as caught:
        make(script, sleeps).embed(["a"])
    assert len(script.requests) == 1 and sleeps == []
    message = str(caught.value)
    assert "HTTP 401" in message and "Incorrect API key" in message
    assert KEY not in message and "SECRET" not in message and "CRET" not in message


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_EMBED_KEY", raising=False)
    with pytest.raises(ParamsError, match="MY_EMBED_KEY"):
        make_embedder(EmbedParams(backend="openai", api_key_env="MY_EMBED_KEY"))
    monkeypatch.setenv("MY_EMBED_KEY", KEY)
    embedder = make_embedder(
        EmbedParams(backend="openai", api_key_env="MY_EMBED_KEY", dimensions=256)
    )
    assert isinstance(embedder, Embedder)
    assert KEY not in repr(vars(embedder).get("model")) and embedder.dim == 256


def test_model_id_names_what_changes_the_vectors() -> None:
    plain = OpenAIEmbedder(api_key=KEY)
    assert plain.model_id == "openai:text-embedding-3-large"
    assert plain.dim == 3072
    assert OpenAIEmbedder(api_key=KEY, dimensions=256).model_id == (
        "openai:text-embedding-3-large:d256"
    )
    a = OpenAIEmbedder(api_key=KEY, base_url="http://localhost:8080/v1").model_id
    b = OpenAIEmbedder(api_key=KEY, base_url="http://localhost:11434/v1/").model_id
    assert a.startswith("openai:text-embedding-3-large:") and a != b
    assert OpenAIEmbedder(api_key=KEY, base_url="https://api.openai.com/v1/").model_id == (
        plain.model_id
    )


def test_requests_are_bounded_by_items_and_tokens(caplog: pytest.LogCaptureFixture) -> None:
    texts = ["word " * 30] * 10  # 150 bytes -> 50 estimated tokens each
    assert tokens_at_most(texts[0]) == 50
    assert plan_requests(texts, batch_size=4, max_batch_tokens=10_000) == [(0, 4), (4, 8), (8, 10)]
    assert plan_requests(texts, batch_size=100, max_batch_tokens=120) == [
        (i, i + 2) for i in range(0, 10, 2)
    ]
    script = Script(echo)
    vectors = make(script, batch_size=100, max_batch_tokens=120).embed(texts)
    assert [len(texts_of(r)) for r in script.requests] == [2] * 5
    assert vectors.shape == (10, DIM)
    # a lone text over the limit is truncated (with a warning), not sent whole
    script = Script(echo)
    make(script, max_batch_tokens=120).embed(["é" * 1000])
    sent = texts_of(script.requests[0])[0]
    assert tokens_at_most(sent) <= 120 and sent == "é" * 180
    assert "truncated" in caplog.text


def test_concurrent_requests_yield_every_batch() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow_echo(request: httpx2.Request) -> httpx2.Response:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return echo(request)

    batches = [[f"batch {b} text {i}" for i in range(3)] for b in range(12)]
    embedder = make(Script(slow_echo), concurrency=3)
    got = dict(embedder.embed_stream(batches))
    assert sorted(got) == list(range(12))
    for index, batch in enumerate(batches):
        np.testing.assert_allclose(got[index], expected(batch), atol=1e-6)
    assert 2 <= state["peak"] <= 3


def test_partial_failure_yields_completed_batches_before_raising() -> None:
    def fail_batch_3(request: httpx2.Request) -> httpx2.Response:
        if texts_of(request)[0].startswith("batch 3 "):
            return httpx2.Response(500, json=SERVER_ERROR)
        return echo(request)

    script = Script(fail_batch_3)
    batches = [[f"batch {b} text {i}" for i in range(2)] for b in range(6)]
    stream = make(script, concurrency=1, max_retries=1).embed_stream(batches)
    yielded = []
    with pytest.raises(BackendError) as caught:
        for index, _vectors in stream:
            yielded.append(index)
    assert yielded == [0, 1, 2]
    assert "HTTP 500" in str(caught.value) and "batch 3" in str(caught.value)
    # nothing after the failure was sent
    assert not any(texts_of(r)[0].startswith("batch 4 ") for r in script.requests)


def test_failing_batch_leaves_earlier_batches_in_the_store(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "items.db")
    texts = [f"item number {i}" for i in range(10)]
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(external_id, content, content_hash) VALUES (?, ?, ?)",
            [(str(i), text, "stale") for i, text in enumerate(texts)],
        )
    # batches run in content-hash order: poison a text of the last batch (of 3, 3, 3, 1)
    order = sorted(texts, key=lambda t: text_hash(prepare_text(t, {}, InputParams())))
    poisoned = {order[-1]}

    def fails_on_the_last_item(request: httpx2.Request) -> httpx2.Response:
        if poisoned & set(texts_of(request)):
            return httpx2.Response(502, text="bad gateway")
        return echo(request)

    embedder = make(Script(fails_on_the_last_item), concurrency=1, max_retries=0)
    with pytest.raises(BackendError, match="HTTP 502"):
        embed_store(conn, embedder, InputParams(), batch_size=3, progress=False)
    stored = conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    assert stored == 9  # every batch before the failing one is kept

    # the next run embeds only what is missing
    poisoned.clear()
    report = embed_store(conn, embedder, InputParams(), batch_size=3, progress=False)
    assert report.already_embedded == stored
    assert report.embedded_now == 10 - stored
    assert conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 10


class _server:
    """A threaded HTTP server on 127.0.0.1 for the duration of a ``with`` block."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
