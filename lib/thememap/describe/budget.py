"""What LLM cards will cost before any call, and the limits enforced while they run.

Token estimates are :func:`thememap.tokens.estimate_tokens` (~4 characters a token;
good to about +-20%, enough to decide whether to start). Output is
estimated at :data:`OUTPUT_TOKENS_PER_CARD` per call (a 2-3 sentence card in JSON).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from thememap.describe.params import DescribeParams
from thememap.errors import BudgetExceeded
from thememap.tokens import estimate_tokens

OUTPUT_TOKENS_PER_CARD = 150


def prompt_tokens(messages: list[dict[str, str]]) -> int:
    """Rough prompt tokens of ``messages`` (their text, plus a few per message)."""
    return estimate_tokens("".join(m["content"] for m in messages)) + 4 * len(messages)


def schema_tokens(schema: dict[str, Any]) -> int:
    """Rough tokens of the response schema, which every request also sends.

    In ``tools`` mode it is the tool definition, in the JSON modes the response
    format or the schema instructor adds to the prompt; servers count it all.
    """
    return estimate_tokens(json.dumps(schema)) + 20


def cost_usd(input_tokens: int, output_tokens: int, params: DescribeParams) -> float:
    """Price of a call from the params' price table (USD)."""
    price_in, price_out = params.price()
    return (input_tokens * price_in + output_tokens * price_out) / 1_000_000


@dataclass
class CostPlan:
    """The plan shown before any call: how many, how much, how long."""

    model: str
    clusters: int
    cached: int
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    seconds: float
    max_cost: float | None
    max_calls: int | None
    seconds_per_call: float = 0.0
    seconds_basis: str = ""  # where seconds_per_call came from (declared, measured, default)
    levels: list[int] = field(default_factory=list)  # the levels the LLM writes
    copied: int = 0  # parents that take their only child's card (no call)

    @property
    def within_limits(self) -> bool:
        """False when the limits will stop the run before every card is written."""
        if self.max_calls is not None and self.calls > self.max_calls:
            return False
        return not (self.max_cost is not None and self.cost_usd > self.max_cost)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for tables and step.done)."""
        return {**asdict(self), "within_limits": self.within_limits}


class Budget:
    """Counts requests and dollars; refuses a request that would pass ``max_calls``/``max_cost``.

    :meth:`reserve` runs before *every* HTTP request (first asks, retries and re-asks
    alike), claiming one call and the request's estimated cost; :meth:`settle`
    replaces a card's reservations by what it really cost. So ``max_calls`` is never
    passed, and concurrent requests cannot jointly overshoot ``max_cost`` by more
    than the estimates' error.
    """

    def __init__(self, params: DescribeParams) -> None:
        self.params = params
        self._lock = threading.Lock()
        self.calls = 0
        self.spent = 0.0
        self._reserved = 0.0

    def _refuse(self, estimated_cost: float) -> None:
        p = self.params
        if p.max_calls is not None and self.calls >= p.max_calls:
            raise BudgetExceeded(f"describe.max_calls={p.max_calls} reached")
        if p.max_cost is not None and self.spent + self._reserved + estimated_cost > p.max_cost:
            raise BudgetExceeded(
                f"describe.max_cost={p.max_cost} USD reached (spent {self.spent:.4f} USD)"
            )

    def check(self, estimated_cost: float) -> None:
        """Raise :class:`BudgetExceeded` if one more request would pass a limit."""
        with self._lock:
            self._refuse(estimated_cost)

    def reserve(self, estimated_cost: float) -> None:
        """Claim room for one request or raise :class:`BudgetExceeded`."""
        with self._lock:
            self._refuse(estimated_cost)
            self.calls += 1
            self._reserved += estimated_cost

    def settle(self, reserved: float, actual_cost: float) -> None:
        """Replace a card's reservations (``reserved`` in all) by what it really cost."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - reserved)
            self.spent += actual_cost
