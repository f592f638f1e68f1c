"""One structured LLM request: instructor for validation and re-asks, our own HTTP retries.

* invalid output (bad JSON, schema violation, strength 11, an empty or snake_case
  name) is re-asked here, with the validation errors, up to ``max_reasks`` times
  (each logged at WARNING), then reported as a failure for that cluster;
* a structured-output mode the server refuses (llama.cpp answers ``json_schema``
  with a 500) fails the run at once, naming the modes to use instead;
* a timeout from a server on this machine is not resent (it is still computing);
* 429 / 5xx / timeouts / connection errors are retried here up to ``max_retries``
  times with exponential backoff; a ``Retry-After`` (or ``retry-after-ms``) header
  wins, and it pauses *every* worker (:class:`RateGate`), not just the one told;
* every HTTP request is counted, with its token usage, and the budget is asked
  before each one (``before_request``), so ``max_calls`` is never passed.

The API key is read from the environment variable named in the params and goes
only into the HTTP client: it is never logged, stored or rendered.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from thememap.describe.llm_errors import (
    api_error,
    api_reason,
    first_line,
    invalid_reason,
    quiet_instructor,
    raw_output,
    short_error,
)
from thememap.describe.params import DescribeParams
from thememap.describe.prompts import reask_message
from thememap.errors import BudgetExceeded, ParamsError
from thememap.retry import Backoff, retry_after_seconds

log = logging.getLogger(__name__)

MODES = {
    "tools": "TOOLS",
    "json_schema": "JSON_SCHEMA",
    "json_object": "JSON",
    "md_json": "MD_JSON",
}
# Words of a server's answer that refuses a response_format it does not implement.
_FORMAT_WORDS = ("json_schema", "response_format", "not supported", "unsupported")
# Local servers ignore the key, but the SDK insists on one.
_PLACEHOLDER_KEY = "not-needed"


@dataclass
class Usage:
    """What one logical request (with its re-asks and retries) cost."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    rate_limited: int = 0
    retried: int = 0
    seconds: float = 0.0  # wall time, re-asks and retries included

    def add(self, other: Usage) -> None:
        """Accumulate ``other`` into this one."""
        self.requests += other.requests
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.rate_limited += other.rate_limited
        self.retried += other.retried
        self.seconds += other.seconds


class CallFailed(Exception):
    """A request gave up; ``reason`` is stored with the cluster, ``usage`` was still spent."""

    def __init__(
        self,
        reason: str,
        usage: Usage,
        *,
        unreachable: bool = False,
        fatal: bool = False,
        budget: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage
        self.unreachable = unreachable  # no connection at all (not a timeout, not an answer)
        self.fatal = fatal  # the params cannot work with this server: stop the run
        self.budget = budget  # max_calls / max_cost reached before this request


class RateGate:
    """Shared pause after a 429: no worker sends before ``resume_at``."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self.sleep = sleep
        self.clock = clock

    def wait(self) -> None:
        """Block until the shared pause is over."""
        with self._lock:
            delay = self._resume_at - self.clock()
        if delay > 0:
            self.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every worker for ``seconds`` from now (extends, never shortens)."""
        with self._lock:
            self._resume_at = max(self._resume_at, self.clock() + seconds)


@dataclass
class LLMClient:
    """Sends card requests to one OpenAI-compatible chat model (thread-safe)."""

    params: DescribeParams
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    http_client: Any = None  # an httpx2.Client (openai 3.x); tests pass a MockTransport
    gate: RateGate = field(init=False)
    _openai: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.gate = RateGate(self.sleep, self.clock)
        import instructor  # heavy: only when LLM cards are asked for

        self._mode = getattr(instructor.Mode, MODES[self.params.mode])

    @property
    def model_id(self) -> str:
        """The model as recorded with each card (provider, base URL host and model)."""
        where = self.params.base_url or "openai"
        return f"{self.params.model}@{where}"

    def connect(self) -> None:
        """Build the HTTP client now (raises ParamsError when the key is missing)."""
        self._client()

    def _client(self) -> Any:
        if self._openai is None:
            import openai

            key = os.environ.get(self.params.api_key_env)
            if not key:
                if self.params.provider == "openai" and not self.params.base_url:
                    raise ParamsError(
                        f"describe.api_key_env: environment variable {self.params.api_key_env} "
                        "is not set (needed for describe.source: llm with OpenAI)"
                    )
                key = _PLACEHOLDER_KEY
            self._openai = openai.OpenAI(
                api_key=key,
                base_url=self.params.base_url,
                timeout=self.params.request_timeout_s,
                max_retries=0,  # retries are ours: counted, shared pause on 429
                http_client=self.http_client,
            )
        return self._openai

    def describe(
        self,
        messages: list[dict[str, str]],
        response_model: type[BaseModel],
        *,
        before_request: Callable[[], None] | None = None,
        temperature: float | None = None,
    ) -> tuple[BaseModel, Usage]:
        """Ask for one card; returns ``(card, usage)`` or raises :class:`CallFailed`.

        ``before_request`` runs before *every* HTTP request (first ask, retries,
        re-asks): the budget raises :class:`BudgetExceeded` there, so a limit is
        never passed. Invalid answers are re-asked here (not inside instructor), each
        logged at WARNING with the validation errors.
        """
        usage = Usage()
        started = time.monotonic()
        history = list(messages)
        try:
            with quiet_instructor():
                for reask in range(self.params.max_reasks + 1):
                    card, invalid = self._ask(
                        history, response_model, usage, before_request, temperature
                    )
                    if card is not None:
                        return card, usage
                    raw, error = invalid
                    if reask == self.params.max_reasks:
                        raise CallFailed(
                            f"invalid output after {reask + 1} attempt(s): {error[:300]}", usage
                        )
                    log.warning(
                        "LLM answer invalid (attempt %d of %d), re-asking: %s",
                        reask + 1,
                        self.params.max_reasks + 1,
                        error[:200],
                    )
                    history += [{"role": "assistant", "content": raw}, reask_message(error)]
        finally:
            usage.seconds += time.monotonic() - started
        raise AssertionError("unreachable")  # pragma: no cover

    def _ask(
        self,
        messages: list[dict[str, str]],
        response_model: type[BaseModel],
        usage: Usage,
        before_request: Callable[[], None] | None,
        temperature: float | None = None,
    ) -> tuple[BaseModel | None, tuple[str, str]]:
        """One answer, through our HTTP retries: ``(card, _)`` or ``(None, (raw, error))``."""
        import instructor
        import openai
        from instructor.core.hooks import Hooks

        hooks = Hooks()

        def on_response(response: Any) -> None:
            counted = getattr(response, "usage", None)
            if counted is not None:
                usage.input_tokens += int(getattr(counted, "prompt_tokens", 0) or 0)
                usage.output_tokens += int(getattr(counted, "completion_tokens", 0) or 0)

        hooks.on("completion:response", on_response)
        client = instructor.from_openai(self._client(), mode=self._mode)
        attempt = 0
        while True:
            self.gate.wait()
            if before_request is not None:
                try:
                    before_request()
                except BudgetExceeded as err:
                    raise CallFailed(str(err), usage, budget=True) from None
            usage.requests += 1
            try:
                card = client.chat.completions.create(
                    model=self.params.model,
                    response_model=response_model,
                    messages=messages,
                    max_retries=0,  # one attempt: re-asks are ours (counted, budgeted, logged)
                    temperature=self.params.temperature if temperature is None else temperature,
                    max_tokens=self.params.max_output_tokens,
                    hooks=hooks,
                )
                return card, ("", "")
            except Exception as err:  # classified below; anything else is a bug
                cause = api_error(err)
                if cause is None:
                    if isinstance(err, instructor.core.IncompleteOutputException):
                        return None, (
                            "",
                            "the answer was cut off at describe.max_output_tokens="
                            f"{self.params.max_output_tokens}; answer more briefly",
                        )
                    if isinstance(err, instructor.core.InstructorRetryException):
                        return None, (raw_output(err), invalid_reason(err))
                    raise
                if self._mode_rejected(cause):
                    raise CallFailed(
                        f"the server rejected describe.mode: {self.params.mode} "
                        f"({short_error(cause)}: {first_line(cause)}); it does not support this "
                        "structured-output mode: set describe.mode: tools (llama.cpp, Ollama, "
                        "vLLM) or json_object",
                        usage,
                        fatal=True,
                    ) from None
                if isinstance(cause, openai.APITimeoutError) and self.params.local_server:
                    # a local server keeps computing a request whose client gave up:
                    # resending it would queue a second copy behind the first
                    raise CallFailed(
                        f"api error: no answer within describe.timeout_s="
                        f"{self.params.request_timeout_s:g} s from the local server (not resent: "
                        "it is still computing it); raise describe.timeout_s or send less "
                        "(sample_items, item_chars)",
                        usage,
                    ) from None
                retryable = isinstance(
                    cause,
                    openai.RateLimitError
                    | openai.InternalServerError
                    | openai.APITimeoutError
                    | openai.APIConnectionError,
                ) or (isinstance(cause, openai.APIStatusError) and cause.status_code in (408, 409))
                if not retryable or attempt >= self.params.max_retries:
                    unreachable = isinstance(cause, openai.APIConnectionError) and not isinstance(
                        cause, openai.APITimeoutError
                    )
                    raise CallFailed(
                        api_reason(cause, attempt), usage, unreachable=unreachable
                    ) from None
                wait = self._wait(cause, attempt)
                usage.retried += 1
                log.info(
                    "LLM request: %s; retry %d in %.1f s", short_error(cause), attempt + 1, wait
                )
                attempt += 1
                if isinstance(cause, openai.RateLimitError):
                    usage.rate_limited += 1
                    self.gate.pause(wait)  # every worker waits; ours in gate.wait() above
                else:
                    self.sleep(wait)

    def _mode_rejected(self, cause: BaseException) -> bool:
        """A permanent 'this server does not do this response_format' answer."""
        import openai

        if self.params.mode not in ("json_schema", "json_object"):
            return False
        if not isinstance(cause, openai.APIStatusError) or cause.status_code in (408, 409, 429):
            return False
        body = getattr(cause, "body", None)
        text = f"{cause} {body}".lower()
        return cause.status_code in (400, 422, 501) or any(word in text for word in _FORMAT_WORDS)

    def _wait(self, cause: BaseException, attempt: int) -> float:
        response = getattr(cause, "response", None)
        told = retry_after_seconds(getattr(response, "headers", None))
        backoff = Backoff(first_s=self.params.backoff_s, max_s=60.0, told_max_s=120.0)
        return backoff.wait(attempt, told, random.random())
