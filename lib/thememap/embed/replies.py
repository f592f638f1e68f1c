"""Checking one ``/v1/embeddings`` reply before any of it is used (pure functions).

A reply is accepted only with one finite, non-zero vector per text, indexes
0..n-1 once each, one length throughout and the model asked for; a cut-off
JSON body is worth asking again (:class:`RetryableReply`), anything else
fails the batch (:class:`BadReply`). Nothing of a rejected reply is stored.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np


class BadReply(Exception):
    """The reply is wrong in a way another request will not fix; ``str`` says how."""


class RetryableReply(BadReply):
    """The reply could not be read at all (cut-off JSON): retried like a 5xx."""


def short(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_reply(text: str, *, expected: int, model: str) -> np.ndarray:
    """The reply's vectors as a ``(expected, dim)`` float32 matrix in input order (not normalised)."""
    try:
        body = json.loads(text)
    except ValueError as err:
        # a cut-off body (proxy timeout, dropped connection) is worth asking again
        raise RetryableReply(f"truncated or invalid JSON ({short(str(err))})") from None
    try:
        data = body["data"]
        indexes = [int(item["index"]) for item in data]
        rows = [item["embedding"] for item in data]
    except (ValueError, KeyError, TypeError) as err:
        raise BadReply(f"malformed response ({type(err).__name__}: {short(str(err))})") from None
    _check_model(body, model)
    if len(rows) != expected:
        raise BadReply(f"{len(rows)} vectors for {expected} texts")
    if sorted(indexes) != list(range(expected)):
        # duplicates or gaps would pair a text with another text's vector
        raise BadReply(
            f"reply indexes are not 0..{expected - 1} once each (got {short(str(indexes))})"
        )
    rows = [rows[i] for i in np.argsort(indexes, kind="stable")]
    try:
        matrix = np.asarray(rows, dtype=np.float32)
    except (ValueError, TypeError):
        raise BadReply("vectors of different lengths or not numbers") from None
    if matrix.ndim != 2 or matrix.shape[1] == 0 or not np.isfinite(matrix).all():
        raise BadReply(f"malformed vectors (shape {matrix.shape})")
    zero = np.flatnonzero(~np.any(matrix, axis=1))
    if zero.size:
        raise BadReply(f"{zero.size} all-zero vector(s) (first at index {int(zero[0])})")
    return matrix


def _check_model(body: Any, model: str) -> None:
    """Reject a reply naming another model (a prefix either way is fine: ``-v2`` suffixes)."""
    answered = body.get("model") if isinstance(body, dict) else None
    if not isinstance(answered, str) or not answered:
        return  # some servers leave it out
    mine, theirs = model.lower(), answered.lower()
    if not (theirs.startswith(mine) or mine.startswith(theirs)):
        raise BadReply(f"reply is from model {short(answered, 80)!r}, not {model!r}")
