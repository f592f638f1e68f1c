"""Token counts without a tokenizer: the one place that estimates them.

Two questions, two answers, both from the text alone:

* :func:`estimate_tokens` — about how many (~4 characters a token for English prose
  with OpenAI/Llama-style tokenizers, good to about +-20%): LLM cost plans, and how
  much of a prompt fits the model's context;
* :func:`tokens_at_most` — a count no tokenizer exceeds in practice (UTF-8 bytes / 3):
  batching embedding requests and cutting texts to a server's input limit, where
  going over fails the request.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 4.0
BYTES_PER_TOKEN_AT_LEAST = 3


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is (characters / 4, rounded down)."""
    return int(len(text) / CHARS_PER_TOKEN)


def tokens_at_most(text: str) -> int:
    """A deliberately high token count of ``text``: UTF-8 bytes / 3, rounded up, at least 1."""
    return max(1, math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN_AT_LEAST))


def cut_to_tokens(text: str, max_tokens: int) -> str:
    """``text`` cut so that :func:`tokens_at_most` is at most ``max_tokens``."""
    data = text.encode("utf-8")
    if len(data) <= BYTES_PER_TOKEN_AT_LEAST * max_tokens:
        return text
    return data[: BYTES_PER_TOKEN_AT_LEAST * max_tokens].decode("utf-8", errors="ignore")
