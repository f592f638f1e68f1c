"""The one Retry-After reading and backoff rule that the embedder and the LLM client share."""

from __future__ import annotations

import time

import httpx2

from thememap.retry import Backoff, retry_after_seconds


def test_retry_after_forms() -> None:
    assert retry_after_seconds(httpx2.Headers({"retry-after-ms": "1500"})) == 1.5
    assert retry_after_seconds(httpx2.Headers({"retry-after": "3"})) == 3.0
    in_20s = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 20))
    assert 17 <= (retry_after_seconds(httpx2.Headers({"retry-after": in_20s})) or 0) <= 21
    # a date without a zone is read as UTC, not an error
    naive = time.strftime("%a, %d %b %Y %H:%M:%S -0000", time.gmtime(time.time() + 20))
    assert 17 <= (retry_after_seconds(httpx2.Headers({"retry-after": naive})) or 0) <= 21
    assert retry_after_seconds(httpx2.Headers({"retry-after": "-5"})) == 0.0
    # an unreadable retry-after-ms falls back to Retry-After
    both = httpx2.Headers({"retry-after-ms": "soon", "retry-after": "2"})
    assert retry_after_seconds(both) == 2.0
    assert retry_after_seconds(httpx2.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx2.Headers({})) is None
    assert retry_after_seconds(None) is None


def test_backoff_doubles_is_capped_and_obeys_the_server_up_to_a_limit() -> None:
    rule = Backoff(first_s=0.5, max_s=4.0, told_max_s=10.0)
    for attempt in range(6):
        full = min(4.0, 0.5 * 2**attempt)
        assert rule.wait(attempt, None, 0.0) == full / 2
        assert full / 2 <= rule.wait(attempt, None, 0.999) <= full
    assert rule.wait(0, 3.0, 0.0) == 3.0
    assert 3.0 <= rule.wait(0, 3.0, 0.999) <= 3.05
    assert rule.wait(2, 600.0, 0.0) == 10.0
