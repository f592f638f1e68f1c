"""Issue 10, item 3: keys pasted as values are refused, URL credentials never echoed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from misbehaving_server import MisbehavingServer

import thememap
from thememap.embed.openai_api import OpenAIEmbedder
from thememap.errors import BackendError
from thememap.runner.notebook import start_step

LIB = Path(thememap.__file__).resolve().parents[1]  # the thememap under test


def thememap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line, in a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(LIB)}
    return subprocess.run(
        [sys.executable, "-m", "thememap.runner.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("section", "pasted"),
    [
        ("embed", "gsk_8fK2mQ9xLp3RtY7vWz1NbC4dE6gH0jS5"),
        ("embed", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"),
        ("describe", "sk-proj-abc123DEF456ghi789"),
        ("embed", "my key"),
    ],
)
def test_a_key_pasted_as_api_key_env_fails_check_without_echoing_it(
    write_params: Any, tmp_path: Path, section: str, pasted: str
) -> None:
    params = write_params({section: {"api_key_env": pasted}})
    done = thememap("check", str(params), cwd=tmp_path)
    assert done.returncode == 2
    assert (
        f"{section}.api_key_env" in done.stderr and "NAME of an environment variable" in done.stderr
    )
    assert pasted not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_credentials_in_base_url_never_reach_an_error(tmp_path: Path) -> None:
    def refuse(number: int, body: dict[str, Any]) -> tuple[int, Any]:
        return 400, {"error": {"message": "bad request for http://alice:s3cr3t-pw@upstream/v1"}}

    with MisbehavingServer(refuse) as url:
        with_secret = url.replace("http://", "http://alice:s3cr3t-pw@")
        embedder = OpenAIEmbedder(api_key="no-key", model="m", base_url=with_secret, max_retries=0)
        with pytest.raises(BackendError) as err:
            embedder.embed(["hello"])
    assert "s3cr3t-pw" not in str(err.value) and "alice" not in str(err.value)
    assert "127.0.0.1" in str(err.value)


def test_credentials_in_urls_are_masked_in_the_runs_table(
    write_params: Any, tmp_path: Path
) -> None:
    params = write_params(
        {
            "store": "s.db",
            "embed": {"backend": "openai", "base_url": "http://bob:hunter2@10.0.0.5:8080/v1"},
            "describe": {"base_url": "https://tok_abc@llm.example/v1"},
        }
    )
    # 02: a step that needs no input (01 with no input and an empty store stops first)
    step = start_step("02_cluster", str(params), "masked")
    step.conn.close()
    stored = sqlite3.connect(tmp_path / "s.db").execute("SELECT params FROM runs").fetchone()[0]
    assert "hunter2" not in stored and "tok_abc" not in stored
    assert "http://***@10.0.0.5:8080/v1" in stored


def test_mask_url_credentials_keeps_everything_else() -> None:
    from thememap.params_base import mask_url_credentials

    text = "GET https://u:p@h.example/v1 failed; mail me at a@b.org; http://plain/v1"
    assert mask_url_credentials(text) == (
        "GET https://***@h.example/v1 failed; mail me at a@b.org; http://plain/v1"
    )
