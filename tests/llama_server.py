"""Start a real llama.cpp OpenAI-compatible server on 127.0.0.1 for the LLM integration tests."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from describe_fixture import BowEmbedder, corpus, store_with_clusters

from thememap.describe.hierarchy import ClusterTree
from thememap.params import Params
from thememap.store import open_store

CACHE = Path(os.environ.get("THEMEMAP_CACHE", Path.home() / ".cache" / "thememap"))
SERVER_PYTHON = CACHE / "llm-venv" / "bin" / "python"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def llama_server(
    model: Path, log: Path, *, extra_args: list[str], setup_hint: str, start_timeout_s: float
) -> Iterator[str]:
    """Serve ``model`` on a free local port; yields its ``/v1`` base URL, stops it after."""
    if not (SERVER_PYTHON.exists() and model.exists()):
        pytest.skip(
            f"no llama.cpp server env at {SERVER_PYTHON} or no model at {model}: {setup_hint}"
        )
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SERVER_PYTHON), "-m", "llama_cpp.server", "--model", str(model),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--seed", "1",
             *extra_args],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def topic_store(
    path: Path, topic: int, *, items_per_leaf: int
) -> tuple[ClusterTree, sqlite3.Connection]:
    """A real store holding one topic of the synthetic corpus (1 parent over 2 leaves), and its tree."""
    texts, labels = corpus(items_per_leaf=items_per_leaf)
    keep = np.flatnonzero(labels[0] == topic)
    texts = [texts[i] for i in keep]
    h = ClusterTree.from_labels(
        np.arange(100, 100 + len(keep)),
        BowEmbedder().embed(texts),
        texts,
        [labels[0][keep], labels[1][keep]],
    )
    store_with_clusters(path, h, texts)
    return h, open_store(path)


def server_params(base_url: str, model: str, **describe: Any) -> Params:
    """LLM describe params for a llama.cpp server on this machine (small prompts, tools mode)."""
    return Params(
        describe={
            "source": "llm",
            "provider": "openai_compatible",
            "base_url": base_url,
            "model": model,
            "api_key_env": "THEMEMAP_TEST_NO_KEY",
            "mode": "tools",  # llama.cpp constrains tool arguments by the JSON schema
            "context": "descriptions of Debian software packages",
            "sample_items": 4,
            "parent_items": 2,
            "item_chars": 160,
            "max_reasks": 1,
            **describe,
        }
    )
