"""A small stdlib HTTP server on 127.0.0.1 that answers /v1/embeddings as a test script says.

Bounded on purpose: it serves at most ``max_requests`` requests (then 503s), and
stops itself when the ``with`` block ends or after ``lifetime_s`` seconds.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

import numpy as np
from json_http import JsonHandler

# (request number from 1, request JSON) -> (HTTP status, body: a dict for JSON, or raw bytes)
Reply = Callable[[int, dict[str, Any]], tuple[int, dict[str, Any] | bytes]]


def vector(text: str, dim: int) -> list[float]:
    """A deterministic, text-dependent vector."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    return np.random.default_rng(seed).normal(size=dim).round(6).tolist()


def embeddings_body(texts: list[str], dim: int, model: str = "m") -> dict[str, Any]:
    """A well-formed /v1/embeddings reply for ``texts``."""
    data = [
        {"object": "embedding", "index": i, "embedding": vector(t, dim)}
        for i, t in enumerate(texts)
    ]
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 1}}


class MisbehavingServer:
    """``with MisbehavingServer(reply) as base_url: ...``; ``.requests`` counts what came in."""

    def __init__(self, reply: Reply, *, max_requests: int = 200, lifetime_s: float = 60.0) -> None:
        self.reply = reply
        self.requests = 0
        self.max_requests = max_requests
        self._lock = threading.Lock()
        owner = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                with owner._lock:
                    owner.requests += 1
                    number = owner.requests
                status, payload = (
                    (503, b"too many requests for this test server")
                    if number > owner.max_requests
                    else owner.reply(number, body)
                )
                self.send_json(status, payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.timer = threading.Timer(lifetime_s, self.httpd.shutdown)
        self.timer.daemon = True

    def __enter__(self) -> str:
        self.thread.start()
        self.timer.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
