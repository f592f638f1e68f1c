"""Sending a level's requests: concurrently, budgeted, cached, failures recorded.

Mixed into :class:`~thememap.describe.llm_runner.LLMDescriber`. ``max_calls`` /
``max_cost`` are asked before every HTTP request (retries and re-asks included) and stop
the run cleanly; each answer is cached the moment it arrives; after
``max_consecutive_failures`` clusters failed in a row (or when nothing ever got
through) the circuit breaker stops all calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from thememap.describe.budget import Budget, cost_usd
from thememap.describe.cards import Card
from thememap.describe.llm_cache import CardCache, Job
from thememap.describe.llm_client import CallFailed, LLMClient, Usage
from thememap.describe.params import DescribeParams
from thememap.errors import BudgetExceeded

log = logging.getLogger(__name__)


class RequestRunner:
    """The request half of the LLM describer (state it reads is set by ``fit``)."""

    params: DescribeParams
    cache: CardCache | None
    stopped_: str | None
    breaker_: str | None
    usage_: Usage
    _fatal: str | None
    _failures_in_a_row: int
    _written: dict[int, Card]

    _card: Callable[..., Card]  # the describer's answer -> card

    def _run_jobs(
        self,
        jobs: list[Job],
        done: dict[int, Card],
        pool: ThreadPoolExecutor,
        client: LLMClient,
        model: Any,
        budget: Budget,
        bar: Any,
    ) -> None:
        pending: dict[Future[Any], Job] = {}
        queue = list(jobs)
        while queue or pending:
            while queue and len(pending) < self.params.request_concurrency and not self.stopped_:
                job = queue.pop(0)
                hit = self.cache.get(job.key) if self.cache is not None else None
                if hit is not None:
                    done[job.node.id] = self._card(job.node, hit, cached=True)
                    bar.update(1)
                    continue
                try:
                    budget.check(job.estimate)
                except BudgetExceeded as err:
                    self._stop(str(err))
                    break

                def ask(job: Job = job) -> tuple[Any, Usage]:
                    return client.describe(
                        job.messages,
                        model,
                        before_request=lambda: budget.reserve(job.estimate),
                        temperature=job.temperature,
                    )

                pending[pool.submit(ask)] = job
            if self.stopped_ is not None:
                queue.clear()
            if not pending:
                continue
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in finished:
                job = pending.pop(future)
                card = self._settle(job, future, budget)
                if card is not None:
                    done[job.node.id] = self._written[job.node.id] = card
                bar.update(1)

    def _stop(self, reason: str) -> None:
        if self.stopped_ is None:
            self.stopped_ = reason
            log.warning("stopping LLM cards: %s (done work is kept)", reason)

    def _settle(self, job: Job, future: Future[Any], budget: Budget) -> Card | None:
        failed: CallFailed | None = None
        try:
            answer, usage = future.result()
        except CallFailed as err:
            answer, usage, failed = None, err.usage, err
        cost = cost_usd(usage.input_tokens, usage.output_tokens, self.params)
        budget.settle(job.estimate * usage.requests, cost)
        self.usage_.add(usage)
        if failed is not None:
            return self._failed(job, failed, usage, cost)
        self._failures_in_a_row = 0
        response = answer.model_dump(mode="json")
        if self.cache is not None:
            self.cache.put(
                job.key,
                model=self.params.model,
                response={**response, "_seconds": round(usage.seconds, 2)},
                usage=usage,
                cost=cost,
            )
        return self._card(job.node, response, cached=False, usage=usage, cost=cost)

    def _failed(self, job: Job, err: CallFailed, usage: Usage, cost: float) -> Card | None:
        """Record one cluster's failure; trip the breaker or stop the run when it says so."""
        if err.budget:  # the limit came first: not this cluster's failure
            self._stop(err.reason)
            return None
        if err.fatal:
            self._fatal = err.reason
            self._stop(err.reason)
            return None
        log.warning("cluster %s: %s", job.node.name, err.reason)
        self._failures_in_a_row += 1
        p = self.params
        if err.unreachable and not any(c.ok for c in self._written.values()):
            # nothing has ever got through: stop instead of failing every cluster slowly
            self._trip(f"endpoint unreachable ({p.base_url or 'openai'}): {err.reason}")
        elif self._failures_in_a_row >= p.max_consecutive_failures:
            self._trip(
                f"{self._failures_in_a_row} clusters in a row failed "
                f"(describe.max_consecutive_failures={p.max_consecutive_failures}); "
                f"last: {err.reason}"
            )
        return Card(
            cluster_id=job.node.id,
            level=job.node.level,
            source=p.model,
            failure=err.reason,
            cost_usd=cost,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            requests=usage.requests,
        )

    def _trip(self, reason: str) -> None:
        if self.breaker_ is not None:
            return
        self.breaker_ = f"circuit breaker: {reason}"
        self.stopped_ = self.stopped_ or self.breaker_
        log.error(
            "LLM cards: %s; no more calls. The remaining clusters keep their offline cards%s",
            self.breaker_,
            ""
            if self.params.llm_fallback == "offline"
            else " and the step fails "
            "(set describe.llm_fallback: offline to accept offline cards instead)",
        )
