"""Where LLM answers are kept, and what decides whether an answer can be reused.

The key hashes what decides the answer -- cluster members, prompt, model, mode,
temperature, schema -- and not the server's URL, so the same model on a new port is a
cache hit, and a re-run or a run resumed after a kill pays nothing for what is done.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from thememap.describe.hierarchy import ClusterNode
from thememap.describe.llm_client import Usage
from thememap.describe.params import DescribeParams


class CardCache(Protocol):
    """Where answered requests are kept (the store's ``llm_cache`` table in a run)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer for ``key`` or None."""
        ...

    def put(
        self, key: str, *, model: str, response: dict[str, Any], usage: Usage, cost: float
    ) -> None:
        """Keep one answer (committed at once)."""
        ...


class MemoryCache:
    """A dict-backed :class:`CardCache` (tests, dry runs)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer for ``key`` or None."""
        return self.data.get(key)

    def put(
        self, key: str, *, model: str, response: dict[str, Any], usage: Usage, cost: float
    ) -> None:
        """Keep one answer."""
        self.data[key] = response


@dataclass
class Job:
    node: ClusterNode
    messages: list[dict[str, str]]
    key: str
    estimate: float
    temperature: float


def cache_key(
    member_ids: np.ndarray,
    messages: list[dict[str, str]],
    params: DescribeParams,
    schema: dict[str, Any],
    temperature: float | None = None,
) -> str:
    """Hash of what decides the answer: members, prompt, model, mode, temperature, schema."""
    digest = hashlib.sha256()
    digest.update(np.sort(np.asarray(member_ids, dtype=np.int64)).tobytes())
    payload = {  # not base_url: the same model on another port answers the same
        "messages": messages,
        "model": params.model,
        "mode": params.mode,
        "temperature": params.temperature if temperature is None else temperature,
        "schema": schema,
    }
    digest.update(json.dumps(payload, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()
