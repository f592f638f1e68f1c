"""What a failed LLM request says, in one line, and instructor's retry logs kept quiet.

:class:`thememap.describe.llm_client.LLMClient` reports every re-ask and failure itself;
these helpers turn the exceptions of openai and instructor into short reasons (never a
URL, a key or a whole completion) and silence instructor's own per-attempt ERROR lines.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("thememap.describe.llm_client")


def api_error(err: BaseException) -> BaseException | None:
    """The openai API error behind ``err`` (instructor wraps it), if any."""
    import openai

    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, openai.APIError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def short_error(err: BaseException) -> str:
    """The error's class and HTTP status, e.g. ``RateLimitError 429``."""
    status = getattr(err, "status_code", None)
    name = type(err).__name__
    return f"{name} {status}" if status else name


def api_reason(err: BaseException, attempt: int) -> str:
    """The reason an API error ends a request, with the attempts it took."""
    message = str(err).splitlines()[0][:300] if str(err) else ""
    return f"api error after {attempt + 1} attempt(s): {short_error(err)}: {message}"


def first_line(err: BaseException) -> str:
    """The first line of the error's message, at most 200 characters."""
    return str(err).splitlines()[0][:200] if str(err) else ""


def invalid_reason(err: Any) -> str:
    """The validation errors of instructor's last failed attempt, without its URLs."""
    failed = getattr(err, "failed_attempts", None) or []
    last = failed[-1].exception if failed else err
    message = " ".join(str(last).replace("For further information visit", "|").split())
    return message.split(" | ")[0][:600]


def raw_output(err: Any) -> str:
    """What the model answered in a failed attempt (tool arguments or content)."""
    failed = getattr(err, "failed_attempts", None) or []
    completion = failed[-1].completion if failed else None
    try:
        message = completion.choices[0].message  # type: ignore[union-attr]
    except (AttributeError, IndexError, TypeError):
        return ""
    calls = getattr(message, "tool_calls", None) or []
    if calls:
        return str(calls[0].function.arguments or "")[:4000]
    return str(getattr(message, "content", "") or "")[:4000]


# instructor logs every failed attempt at ERROR on this logger; thememap reports each
# one itself (re-asks at WARNING, failures per cluster), so while a card is being asked
# for, that logger's records pass only at DEBUG. Scoped: added and removed around the
# requests, on this one logger; no process-wide filter.
_INSTRUCTOR_LOGGERS = ("instructor.v2.retry", "instructor.core.retry")


class _DebugOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return log.isEnabledFor(logging.DEBUG)


_quiet_lock = threading.Lock()
_quiet_users = 0
_quiet_filter = _DebugOnly()


@contextmanager
def quiet_instructor() -> Iterator[None]:
    """While held, instructor's retry loggers pass records only when we log at DEBUG."""
    global _quiet_users
    with _quiet_lock:
        if _quiet_users == 0:
            for name in _INSTRUCTOR_LOGGERS:
                logging.getLogger(name).addFilter(_quiet_filter)
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0:
                for name in _INSTRUCTOR_LOGGERS:
                    logging.getLogger(name).removeFilter(_quiet_filter)
