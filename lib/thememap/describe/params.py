"""Params of the 03_describe step: offline cards, LLM cards, cost limits, label quality.

Every card has the reference's fields (summary, pattern name, category, strength 1-10).
``source: offline`` (the default) needs no key and no network; ``source: llm`` asks an
OpenAI-compatible chat model through instructor, bottom-up through the hierarchy.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from thememap.params_base import EnvVarName, StrictModel

# Defaults that suit feedback-like data (tickets, reviews, comments, issues). The
# description, not the name, is what the local model embeds for zero-shot categories.
DEFAULT_CATEGORIES: dict[str, str] = {
    "bug": "a bug report: something is broken, crashes, fails, shows an error or wrong result",
    "feature_request": "a feature request: asking for a new capability, option or improvement",
    "question": "a question: asking how to do something, asking for help or clarification",
    "complaint": "a complaint: frustration with price, performance, service or a change",
    "praise": "praise: the user loves it, thanks the team, says it works great",
    "feedback": "general feedback, opinion or suggestion about the product or experience",
    "documentation": "documentation, instructions, a guide, a reference or a description",
    "other": "something else, unrelated to the product, spam or noise",
}

# USD per 1M tokens (input, output). Used only for the plan shown before any call and
# for max_cost; unknown models fall back to `default_price`.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1": (2.00, 8.00),
}


# A server on this machine computes one card at a time for tens of seconds (measured:
# ~36 s a card for a 1.5B model on 2 cores); it keeps computing a request whose
# client timed out, so local defaults are one request at a time and a long timeout.
LOCAL_TIMEOUT_S = 900.0
REMOTE_TIMEOUT_S = 60.0
LOCAL_SECONDS_PER_CALL = 40.0
REMOTE_SECONDS_PER_CALL = 3.0


def is_local_url(url: str | None) -> bool:
    """True for a base URL on this machine (localhost, 127.x, ::1)."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host in {"localhost", "::1", "0.0.0.0"} or host.startswith("127.")


class DescribeParams(StrictModel):
    """How cluster cards are written (offline by default, an LLM when configured)."""

    source: Literal["offline", "llm"] = Field(
        "offline",
        description="offline: key phrases + extractive summary, no key; llm: chat model cards",
    )
    # -- what the data is and which categories exist ------------------------------------
    context: str = Field(
        "",
        description="one line on what the items are ('app-store reviews of a photo app'); "
        "goes into every LLM prompt",
    )
    categories: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_CATEGORIES),
        description="category name -> description; offline cards pick by embedding similarity "
        "to the description, LLM cards choose among the names",
    )
    # -- offline cards -----------------------------------------------------------------
    keywords: int = Field(8, ge=1, le=50, description="key phrases stored per cluster")
    ngram_max: int = Field(3, ge=1, le=4, description="longest key phrase, in words")
    min_df: int = Field(2, ge=1, description="a phrase must occur in this many items")
    max_vocab: int = Field(50_000, ge=100, description="most frequent phrases kept (whole corpus)")
    stop_words: Literal["english", "none"] = Field(
        "english", description="stop words dropped from key phrases"
    )
    extra_stop_words: list[str] = Field(
        default_factory=list, description="domain words never used in names ('app', 'please')"
    )
    representatives: int = Field(5, ge=1, le=50, description="representative items per cluster")
    mmr_lambda: float = Field(
        0.7, ge=0.0, le=1.0, description="representatives: 1 = nearest centroid, 0 = most diverse"
    )
    summary_sentences: int = Field(
        2, ge=1, le=5, description="short quotes of representative items in an offline summary"
    )
    summary_max_chars: int = Field(300, ge=40, description="offline summary length cap")
    name_candidates: int = Field(
        8, ge=1, le=200, description="offline names: candidate phrases embedded per cluster"
    )
    name_contrast: float = Field(
        2.0,
        ge=0.0,
        description="offline names: weight of the margin over the nearest other cluster",
    )
    name_coverage_power: float = Field(
        0.3, ge=0.0, le=2.0, description="offline names: weight of coverage (share of items)"
    )
    name_parent_coverage_power: float = Field(
        0.5, ge=0.0, le=2.0, description="offline names: the same for clusters with children"
    )
    name_parts_precision: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="offline names: a level-1 theme whose best name is said mostly outside"
        " it (the share of the items holding it that are the theme's is below this) is named"
        " by its two largest sub-themes ('Images & Computer Algebra'); 0 = never",
    )
    name_parts_coverage: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="offline names: a mixed level-1 theme (no sub-theme holds two thirds of"
        " it) whose best name is held by fewer than this share of its items is named by its"
        " two largest sub-themes too; 0 = never",
    )
    generic_share: float = Field(
        0.05, gt=0.0, le=1.0, description="a word in this share of all items may be generic ..."
    )
    generic_max_kl: float = Field(
        0.35, ge=0.0, description="... when spread like the top clusters' sizes (KL, nats)"
    )
    category_min_lift: float = Field(
        0.1, description="offline category: item-spread units nearer than the corpus, else 'other'"
    )
    category_min_margin: float = Field(
        0.3,
        ge=0.0,
        description="offline category: margin over the runner-up in item-spread units, else 'other'",
    )
    # -- LLM cards ---------------------------------------------------------------------
    provider: Literal["openai", "openai_compatible"] = Field(
        "openai", description="openai, or any OpenAI-compatible server (set base_url)"
    )
    model: str = Field("gpt-4o-mini", description="chat model name")
    base_url: str | None = Field(None, description="e.g. http://localhost:11434/v1 (Ollama)")
    api_key_env: EnvVarName = Field(
        "OPENAI_API_KEY", description="NAME of the variable holding the key"
    )
    mode: Literal["tools", "json_schema", "json_object", "md_json"] = Field(
        "tools",
        description="structured-output mode; llama.cpp server needs tools, OpenAI takes any",
    )
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="sampling temperature")
    rename_temperature: float = Field(
        0.8,
        ge=0.0,
        le=2.0,
        description="sampling temperature of a follow-up asking for a different name (at the "
        "first answer's temperature a small model tends to give the same name again)",
    )
    max_output_tokens: int = Field(400, ge=32, description="max_tokens per request")
    sample_items: int = Field(20, ge=1, le=200, description="items shown per leaf cluster")
    parent_items: int = Field(5, ge=0, le=50, description="items shown per parent cluster")
    item_chars: int = Field(500, ge=50, description="each item is cut to this many characters")
    max_reasks: int = Field(2, ge=0, le=10, description="re-asks after invalid output")
    max_retries: int = Field(5, ge=0, le=20, description="retries after 429/5xx/timeouts")
    backoff_s: float = Field(
        1.0,
        gt=0,
        description="first retry wait (half to all of it: jitter); doubles each retry, up to 60 s",
    )
    timeout_s: float | None = Field(
        None,
        gt=0,
        description="per request; null: 60 s, or 900 s for a server on this machine "
        "(a local model takes tens of seconds a card, and a timed-out request is not resent)",
    )
    concurrency: int | None = Field(
        None,
        ge=1,
        le=64,
        description="requests in flight; null: 4, or 1 for a server on this machine",
    )
    distinct_names: bool = Field(
        True, description="re-ask a sibling whose name is a near-duplicate of another's"
    )
    name_similarity_max: float = Field(
        0.8, gt=0, le=1.0, description="token Jaccard above which sibling names clash"
    )
    llm_levels: list[int] | None = Field(
        None,
        description="levels (1 = coarsest) whose cards the LLM writes; the others keep their "
        "offline cards; null: every level",
    )
    context_tokens: int | None = Field(
        None,
        ge=256,
        description="the server's context size (llama.cpp n_ctx); prompts are trimmed to fit "
        "it with max_output_tokens; null: not checked",
    )
    max_consecutive_failures: int = Field(
        5,
        ge=1,
        description="circuit breaker: stop calling after this many clusters failed in a row",
    )
    llm_fallback: Literal["fail", "offline"] = Field(
        "fail",
        description="when the circuit breaker trips: fail (the step exits with an error) or "
        "offline (the remaining clusters keep their offline cards)",
    )
    # -- cost and time -----------------------------------------------------------------
    max_cost: float | None = Field(None, ge=0, description="USD; stop cleanly when reached")
    max_calls: int | None = Field(
        None,
        ge=0,
        description="HTTP requests (retries and re-asks included); stop cleanly when reached",
    )
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="model -> (USD per 1M input tokens, per 1M output tokens)",
    )
    default_price: tuple[float, float] = Field(
        (0.0, 0.0), description="price of a model not in `prices` (local servers: free)"
    )
    seconds_per_call: float | None = Field(
        None,
        gt=0,
        description="latency estimate for the plan; null: measured from cached answers, else "
        "3 s, or 40 s for a server on this machine (a 1.5B model on 2 cores)",
    )

    @field_validator("categories")
    @classmethod
    def _some_categories(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("give at least one category")
        return value

    @model_validator(mode="after")
    def _compatible_needs_url(self) -> DescribeParams:
        if self.provider == "openai_compatible" and not self.base_url:
            raise ValueError("provider openai_compatible needs base_url")
        return self

    @field_validator("llm_levels")
    @classmethod
    def _levels_from_one(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or min(value) < 1):
            raise ValueError("give levels as numbers from 1 (coarsest), e.g. [1, 2]")
        return value

    @property
    def local_server(self) -> bool:
        """True when ``base_url`` points at this machine (llama.cpp, Ollama, vLLM here)."""
        return is_local_url(self.base_url)

    @property
    def request_timeout_s(self) -> float:
        """``timeout_s``, or its default for where the server is."""
        if self.timeout_s is not None:
            return self.timeout_s
        return LOCAL_TIMEOUT_S if self.local_server else REMOTE_TIMEOUT_S

    @property
    def request_concurrency(self) -> int:
        """``concurrency``, or its default for where the server is."""
        if self.concurrency is not None:
            return self.concurrency
        return 1 if self.local_server else 4

    def llm_writes(self, level: int) -> bool:
        """True when the LLM writes the cards of ``level`` (see ``llm_levels``)."""
        return self.llm_levels is None or level in self.llm_levels

    def price(self) -> tuple[float, float]:
        """(USD per 1M input tokens, per 1M output tokens) of the configured model."""
        return self.prices.get(self.model, self.default_price)
