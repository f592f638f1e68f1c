"""Params of the 01_embed step (the ``embed`` section)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from thememap.params_base import EnvVarName, StrictModel

EMBED_BACKENDS = ("local", "openai")


class EmbedParams(StrictModel):
    """Which embedding backend and how to batch it."""

    backend: Literal["local", "openai"] = "local"
    model: str | None = Field(None, description="backend's default when empty")
    batch_size: int = Field(64, gt=0, le=2048)
    # local backend
    quantize: bool = Field(True, description="use the int8 graph (about 2x faster on CPU)")
    threads: int | None = Field(None, gt=0, description="onnxruntime intra-op threads")
    cache_dir: Path | None = Field(None, description="quantised graph cache (~/.cache/thememap)")
    # OpenAI-compatible backend
    base_url: str | None = Field(None, description="any OpenAI-compatible /v1 endpoint")
    api_key_env: EnvVarName = Field(
        "OPENAI_API_KEY", description="NAME of the variable holding the key"
    )
    dimensions: int | None = Field(None, gt=0)
    max_batch_tokens: int = Field(200_000, gt=0, description="token bound per request")
    concurrency: int = Field(4, ge=1, le=64, description="requests in flight")
    max_retries: int = Field(6, ge=0)
    timeout_s: float = Field(60.0, gt=0)
