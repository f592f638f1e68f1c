"""Recorded OpenAI chat-completion replies for the describe tests, and a fake server.

openai 3.x sends through ``httpx2`` (respx cannot see it), so in-process tests
replay replies through an ``httpx2.MockTransport``; the kill-and-resume test
needs a real socket, served by :class:`FakeServer` (a thread on localhost).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

import httpx2
from json_http import JsonHandler

WORDS = [
    "amber", "birch", "cedar", "dune", "ember", "fjord", "grove", "heath", "inlet", "jade",
    "kelp", "lagoon", "moss", "nectar", "oasis", "pine", "quartz", "reef", "sage", "tundra",
]  # fmt: skip


def prompt_digest(body: dict[str, Any]) -> str:
    """A short id of a request's messages (to check which prompts were sent twice)."""
    return hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()[:16]


def card_args(n: int, **override: Any) -> dict[str, Any]:
    """A valid card whose name shares no word with card ``n+1``'s."""
    args = {
        "summary": f"These items share theme {n}: they talk about the same kind of thing.",
        "pattern_name": f"{WORDS[n % 20]} {WORDS[(n * 7 + 3) % 20]} topics",
        "category": "bug",
        "strength": 7,
    }
    args.update(override)
    return args


def tool_reply(body: dict[str, Any], arguments: str | dict[str, Any]) -> dict[str, Any]:
    """A chat.completion answering a TOOLS-mode request with ``arguments``."""
    name = body["tools"][0]["function"]["name"]
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "test-model"),
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": name, "arguments": text},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100},
    }


Reply = Callable[[dict[str, Any], int], httpx2.Response | Exception]


class Script:
    """Answers requests in order from ``replies`` (then with valid cards); records them."""

    def __init__(self, *replies: Reply | httpx2.Response | Exception) -> None:
        self.replies = list(replies)
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        with self._lock:
            n = len(self.bodies)
            self.bodies.append(body)
            reply: Any = self.replies.pop(0) if self.replies else None
        if reply is None:
            return httpx2.Response(200, json=tool_reply(body, card_args(n)))
        if callable(reply) and not isinstance(reply, httpx2.Response):
            reply = reply(body, n)
        if isinstance(reply, Exception):
            raise reply
        return reply

    @property
    def requests(self) -> int:
        """Requests received so far."""
        return len(self.bodies)

    def transport(self) -> httpx2.Client:
        """An httpx2 client whose requests this script answers."""
        return httpx2.Client(transport=httpx2.MockTransport(self))


def valid(**override: Any) -> Reply:
    """A reply with a valid card (fields overridable, e.g. ``strength=11``)."""
    return lambda body, n: httpx2.Response(200, json=tool_reply(body, card_args(n, **override)))


def raw(arguments: str) -> Reply:
    """A reply whose tool arguments are ``arguments`` verbatim (e.g. malformed JSON)."""
    return lambda body, n: httpx2.Response(200, json=tool_reply(body, arguments))


class FakeServer:
    """An OpenAI-compatible /v1/chat/completions on localhost answering valid cards slowly."""

    def __init__(self, delay_s: float = 0.2) -> None:
        self.delay_s = delay_s
        self.digests: list[str] = []
        outer = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                n = len(outer.digests)
                outer.digests.append(prompt_digest(body))
                time.sleep(outer.delay_s)
                self.send_json(200, tool_reply(body, card_args(n)))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The /v1 URL to give as ``describe.base_url``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
