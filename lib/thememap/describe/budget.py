"""What LLM cards will cost before any call, and the limits enforced while they run.

Token estimates use ~4 characters per token (English prose with OpenAI/Llama-style
tokenizers; good to about +-20%, enough to decide whether to start). Output is
estimated at :data:`OUTPUT_TOKENS_PER_CARD` per call (a 2-3 sentence card in JSON).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from thememap.describe.params import DescribeParams
from thememap.errors import BudgetExceeded

CHARS_PER_TOKEN = 4.0
OUTPUT_TOKENS_PER_CARD = 150


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """Rough prompt tokens of ``messages`` (chars / 4, plus a few per message)."""
    chars = sum(len(m["content"]) for m in messages)
    return int(chars / CHARS_PER_TOKEN) + 4 * len(messages)


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
    """Counts calls and dollars; refuses a new call that would pass ``max_calls``/``max_cost``.

    A call *reserves* its estimated cost before it is sent and *settles* with the real
    usage when it returns, so concurrent calls cannot jointly overshoot by more than
    the estimate's error.
    """

    def __init__(self, params: DescribeParams) -> None:
        self.params = params
        self._lock = threading.Lock()
        self.calls = 0
        self.spent = 0.0
        self._reserved = 0.0

    def reserve(self, estimated_cost: float) -> None:
        """Claim room for one call or raise :class:`BudgetExceeded`."""
        with self._lock:
            p = self.params
            if p.max_calls is not None and self.calls >= p.max_calls:
                raise BudgetExceeded(f"describe.max_calls={p.max_calls} reached")
            if p.max_cost is not None and self.spent + self._reserved + estimated_cost > p.max_cost:
                raise BudgetExceeded(
                    f"describe.max_cost={p.max_cost} USD reached (spent {self.spent:.4f} USD)"
                )
            self.calls += 1
            self._reserved += estimated_cost

    def settle(self, estimated_cost: float, actual_cost: float, *, extra_calls: int = 0) -> None:
        """Replace a reservation by what the call really cost (re-asks count as calls)."""
        with self._lock:
            self._reserved = max(0.0, self._reserved - estimated_cost)
            self.spent += actual_cost
            self.calls += extra_calls
