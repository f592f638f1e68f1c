"""When to retry an HTTP API call: the server's ``Retry-After``, else exponential backoff.

Shared by the OpenAI-compatible embedder (:mod:`thememap.embed.openai_api`) and the
LLM card client (:mod:`thememap.describe.llm_client`); each passes its own limits.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, else ``Retry-After`` (seconds or
    an HTTP date); None when neither header is there or readable."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(0.0, email.utils.mktime_tz(parsed) - time.time())


@dataclass(frozen=True)
class Backoff:
    """Waits between retries: ``first_s`` doubling per attempt up to ``max_s``; a server's
    ``Retry-After`` is obeyed up to ``told_max_s``."""

    first_s: float
    max_s: float
    told_max_s: float

    def wait(self, attempt: int, told: float | None, jitter: float) -> float:
        """Seconds before retry ``attempt`` (0 = the first retry); ``jitter`` in [0, 1).

        Without ``told``, between half and all of the backoff (so parallel clients spread
        out); with it, what the server asked plus a tenth of the backoff at most.
        """
        backoff = min(self.max_s, self.first_s * 2.0**attempt)
        if told is not None:
            return min(told, self.told_max_s) + 0.1 * backoff * jitter
        return backoff * (0.5 + 0.5 * jitter)
