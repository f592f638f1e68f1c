"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, llama.cpp, Ollama...).

Requests go through the official ``openai`` SDK with its own retries switched
off: this module retries itself so the policy is explicit and tested.

- **Batches** are bounded by ``batch_size`` items *and* ``max_batch_tokens``
  estimated tokens (:func:`thememap.tokens.tokens_at_most`, UTF-8 bytes / 3: above
  the true count for English and most text, without a tokenizer for every remote model). A single text longer than
  ``max_input_tokens`` (or than ``max_batch_tokens``) is truncated to fit, with
  a warning: the API would reject it otherwise.
- **Replies are checked** before anything is returned: one vector per text,
  indexes 0..n-1 once each, no all-zero vector, one length, the model asked
  for; a cut-off JSON body is retried, the rest fail the batch (never stored).
- **Retries**: 408, 409, 429, 5xx, cut-off replies, timeouts and connection
  errors are retried up to ``max_retries`` times. The wait (:mod:`thememap.retry`) is
  ``Retry-After`` / ``retry-after-ms`` when the server sends one (capped at
  :data:`MAX_RETRY_AFTER_S`), else exponential backoff (0.5 s doubling up to 30 s) with
  jitter; other 4xx fail at once.
- **Streaming**: :meth:`OpenAIEmbedder.embed_stream` keeps ``concurrency``
  requests in flight and yields each batch as soon as it completes, so the
  runner commits it. When a batch fails for good, no new request starts, the
  requests in flight finish and their batches are yielded, and only then is
  :class:`~thememap.errors.BackendError` raised.
- The API key is read from the environment variable named by ``api_key_env``
  and never appears in logs or error messages.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from thememap.embed.replies import BadReply, RetryableReply, check_reply, short
from thememap.errors import BackendError, ParamsError
from thememap.params_base import mask_url_credentials
from thememap.retry import Backoff, retry_after_seconds
from thememap.tokens import cut_to_tokens, tokens_at_most
from thememap.vectors import unit_rows

if TYPE_CHECKING:
    import httpx2

    from thememap.embed.params import EmbedParams

log = logging.getLogger(__name__)

DEFAULT_MODEL = "text-embedding-3-large"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Native sizes on OpenAI's own endpoint (other servers: learned from the first reply).
KNOWN_DIMS = {
    "text-embedding-3-large": 3072,
    "text-embedding-3-small": 1536,
    "text-embedding-ada-002": 1536,
}
MAX_RETRY_AFTER_S = 300.0
BACKOFF = Backoff(first_s=0.5, max_s=30.0, told_max_s=MAX_RETRY_AFTER_S)
RETRY_STATUS = frozenset({408, 409, 429})
# A local server (llama.cpp, Ollama) may need no key, but the SDK insists on one.
NO_KEY_PLACEHOLDER = "no-key"
_KEYLIKE = re.compile(r"\b(sk|key)-[A-Za-z0-9_\-*.]{6,}")


def plan_requests(
    texts: Sequence[str], *, batch_size: int, max_batch_tokens: int
) -> list[tuple[int, int]]:
    """``(start, stop)`` slices of ``texts``: at most ``batch_size`` items and
    ``max_batch_tokens`` estimated tokens each (a lone over-long text gets its own)."""
    slices: list[tuple[int, int]] = []
    start, tokens = 0, 0
    for i, text in enumerate(texts):
        cost = tokens_at_most(text)
        if i > start and (i - start >= batch_size or tokens + cost > max_batch_tokens):
            slices.append((start, i))
            start, tokens = i, 0
        tokens += cost
    if start < len(texts):
        slices.append((start, len(texts)))
    return slices


class OpenAIEmbedder:
    """Embedder for an OpenAI-compatible endpoint; see the module docstring for the policy."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 64,
        max_batch_tokens: int = 200_000,
        max_input_tokens: int = 8191,
        concurrency: int = 4,
        max_retries: int = 6,
        timeout_s: float = 60.0,
        http_client: httpx2.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        import openai

        self.model = model
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.max_input_tokens = max_input_tokens
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self._key = api_key
        self._sleep = sleep
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._dim: int | None = dimensions
        if self._dim is None and self.base_url == DEFAULT_BASE_URL:
            self._dim = KNOWN_DIMS.get(model)
        # host[:port] only: a user:password@ in base_url must never reach a message
        self.host_ = _host_of(self.base_url)
        self._client = openai.OpenAI(
            api_key=api_key,
            base_url=self.base_url,
            max_retries=0,  # retried here, see _request
            timeout=timeout_s,
            http_client=http_client,
        )

    @classmethod
    def from_params(cls, params: EmbedParams) -> OpenAIEmbedder:
        """Build from the ``embed`` section; the key comes from ``$<api_key_env>``."""
        key = os.environ.get(params.api_key_env, "")
        if not key:
            if params.base_url is None:
                raise ParamsError(
                    f"embed.api_key_env: the environment variable {params.api_key_env} is not "
                    "set; export your API key in it (or set embed.base_url to a local server "
                    "that needs no key)"
                )
            key = NO_KEY_PLACEHOLDER
        return cls(
            api_key=key,
            model=params.model or DEFAULT_MODEL,
            base_url=params.base_url,
            dimensions=params.dimensions,
            batch_size=params.batch_size,
            max_batch_tokens=params.max_batch_tokens,
            concurrency=params.concurrency,
            max_retries=params.max_retries,
            timeout_s=params.timeout_s,
        )

    @property
    def model_id(self) -> str:
        """``openai:<model>[:d<dimensions>][:<hash of base_url>]`` (the hash only off OpenAI)."""
        parts = ["openai", self.model]
        if self.dimensions:
            parts.append(f"d{self.dimensions}")
        if self.base_url != DEFAULT_BASE_URL:
            parts.append(hashlib.sha256(self.base_url.encode()).hexdigest()[:8])
        return ":".join(parts)

    @property
    def dim(self) -> int:
        """Vector length; for an unknown model it is learned from one probe request."""
        if self._dim is None:
            self._request(["dimension probe"], batch_index=-1)
        assert self._dim is not None
        return self._dim

    # -- public API ---------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit float32 vectors for ``texts`` in order (several requests run at once)."""
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        slices = plan_requests(
            self._fit(texts), batch_size=self.batch_size, max_batch_tokens=self.max_batch_tokens
        )
        parts = dict(self.embed_stream([list(texts[a:b]) for a, b in slices]))
        return np.vstack([parts[i] for i in range(len(slices))])

    def embed_stream(self, batches: Sequence[Sequence[str]]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(batch_index, vectors)`` as batches complete; see the module docstring."""
        jobs: list[tuple[int, list[str]]] = []  # (batch index, one request's texts)
        remaining: dict[int, int] = {}
        for index, batch in enumerate(batches):
            fitted = self._fit(batch)
            slices = plan_requests(
                fitted, batch_size=self.batch_size, max_batch_tokens=self.max_batch_tokens
            )
            remaining[index] = len(slices)
            jobs.extend((index, fitted[a:b]) for a, b in slices)
        for index, count in remaining.items():
            if count == 0:
                yield index, np.zeros((0, self._dim or 0), dtype=np.float32)
        parts: dict[int, list[np.ndarray]] = {}
        failure: BackendError | None = None
        queue = iter(jobs)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="embed") as pool:
            pending: dict[Future[np.ndarray], int] = {}

            def fill() -> None:
                while failure is None and len(pending) < self.concurrency:
                    job = next(queue, None)
                    if job is None:
                        return
                    pending[pool.submit(self._request, job[1], batch_index=job[0])] = job[0]

            fill()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    try:
                        vectors = future.result()
                    except BackendError as err:
                        failure = failure or err
                        continue
                    parts.setdefault(index, []).append(vectors)
                    remaining[index] -= 1
                    if remaining[index] == 0:  # yielded even after another batch failed
                        yield index, np.vstack(parts.pop(index))
                fill()
        if failure is not None:
            raise failure

    # -- one request --------------------------------------------------------------

    def _fit(self, texts: Sequence[str]) -> list[str]:
        limit = min(self.max_input_tokens, self.max_batch_tokens)
        fitted = [cut_to_tokens(text, limit) for text in texts]
        cut = sum(a is not b for a, b in zip(fitted, texts, strict=True))
        if cut:
            log.warning("%d text(s) over ~%d tokens truncated to fit the API", cut, limit)
        return fitted

    def _request(self, texts: list[str], *, batch_index: int) -> np.ndarray:
        """One embeddings request with retries; returns unit vectors in input order."""
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions:
            kwargs["dimensions"] = self.dimensions
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            try:
                raw = self._client.embeddings.with_raw_response.create(**kwargs)
                return self._parse(raw.http_response, len(texts), batch_index)
            except RetryableReply as err:
                reason = str(err)
            except openai.APITimeoutError:
                reason = f"timed out after {self.timeout_s:g} s"
            except openai.APIConnectionError as err:
                reason = f"connection error ({type(err.__cause__ or err).__name__})"
            except openai.APIStatusError as err:
                status = err.status_code
                reason = f"HTTP {status}"
                if status not in RETRY_STATUS and status < 500:
                    raise self._error(f"{reason}: {self._detail(err)}", batch_index) from None
                retry_after = retry_after_seconds(err.response.headers)
            if attempt == self.max_retries:
                raise self._error(
                    f"{reason} (gave up after {self.max_retries} retries)", batch_index
                ) from None
            delay = self._delay(attempt, retry_after)
            log.warning(
                "%s from %s (batch %d); retry %d/%d in %.1f s",
                reason,
                self.host_,
                batch_index,
                attempt + 1,
                self.max_retries,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        with self._lock:
            jitter = self._random.random()
        return BACKOFF.wait(attempt, retry_after, jitter)

    def _parse(self, response: Any, expected: int, batch_index: int) -> np.ndarray:
        try:
            matrix = check_reply(response.text, expected=expected, model=self.model)
        except RetryableReply:
            raise
        except BadReply as err:
            raise self._error(str(err), batch_index) from None
        with self._lock:
            if self._dim is None:
                self._dim = int(matrix.shape[1])
            if matrix.shape[1] != self._dim:
                raise self._error(
                    f"vectors of {matrix.shape[1]} dims, expected {self._dim}", batch_index
                )
        return unit_rows(matrix, tolerance=0)

    def _detail(self, err: Exception) -> str:
        return short(self._redact(str(err)))

    def _redact(self, text: str) -> str:
        if self._key and self._key != NO_KEY_PLACEHOLDER:
            text = text.replace(self._key, "***")
        return mask_url_credentials(_KEYLIKE.sub("***", text))

    def _error(self, what: str, batch_index: int) -> BackendError:
        where = f"batch {batch_index}" if batch_index >= 0 else "dimension probe"
        return BackendError(
            self._redact(
                f"embedding request to {self.host_} failed ({where}, {self.model}): {what}"
            )
        )


def _host_of(url: str) -> str:
    parsed = urlparse(url)
    if not parsed.hostname:
        return mask_url_credentials(url)
    return parsed.hostname + (f":{parsed.port}" if parsed.port else "")
