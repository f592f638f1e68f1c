"""Start a real llama.cpp OpenAI-compatible server on 127.0.0.1 for the LLM integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

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
