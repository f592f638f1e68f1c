"""LLM cards for a whole hierarchy: bottom-up, siblings contrasted, cached, budgeted.

Order: the finest level first (from sampled items), then each parent level from its
children's cards plus a few items. Every prompt carries the siblings' key phrases;
after a level is done, a sibling whose name nearly repeats another's is re-asked
once with the names to avoid. Each answer is written to the cache as soon as it
arrives, keyed by (cluster members, prompt, model, mode, schema), so a re-run or a
run resumed after a kill pays nothing for what is done. ``max_calls`` /
``max_cost`` stop the run cleanly: cards already written are kept, the rest fall
back to their offline cards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from thememap.describe.budget import (
    OUTPUT_TOKENS_PER_CARD,
    Budget,
    CostPlan,
    cost_usd,
    estimate_tokens,
)
from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterNode, Hierarchy
from thememap.describe.llm_client import CallFailed, LLMClient, Usage
from thememap.describe.llm_schema import card_model
from thememap.describe.params import DescribeParams
from thememap.describe.prompts import leaf_messages, parent_messages, rename_message
from thememap.describe.quality import jaccard
from thememap.describe.representatives import mmr
from thememap.errors import BudgetExceeded

log = logging.getLogger(__name__)


class CardCache(Protocol):
    """Where answered requests are kept (the store's ``llm_cache`` table in a run)."""

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer for ``key`` or None."""
        ...

    def put(
        self, key: str, *, model: str, response: dict[str, Any], usage: Usage, cost: float
    ) -> None:
        """Keep one answer (committed at once)."""
        ...


class MemoryCache:
    """A dict-backed :class:`CardCache` (tests, dry runs)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer for ``key`` or None."""
        return self.data.get(key)

    def put(
        self, key: str, *, model: str, response: dict[str, Any], usage: Usage, cost: float
    ) -> None:
        """Keep one answer."""
        self.data[key] = response


@dataclass
class _Job:
    node: ClusterNode
    messages: list[dict[str, str]]
    key: str
    estimate: float


def cache_key(
    member_ids: np.ndarray,
    messages: list[dict[str, str]],
    params: DescribeParams,
    schema: dict[str, Any],
) -> str:
    """Hash of everything that decides the answer: members, prompt, model, mode, schema."""
    digest = hashlib.sha256()
    digest.update(np.sort(np.asarray(member_ids, dtype=np.int64)).tobytes())
    payload = {
        "messages": messages,
        "model": params.model,
        "base_url": params.base_url,
        "mode": params.mode,
        "temperature": params.temperature,
        "schema": schema,
    }
    digest.update(json.dumps(payload, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


_ANSWER_FIELDS = ("summary", "pattern_name", "category", "strength")


class LLMDescriber:
    """Writes LLM cards for every cluster (scikit-learn style: ``fit`` fills ``cards_``).

    Results: ``cards_`` (cluster id -> :class:`Card`, failures included), ``usage_``
    (requests and tokens really sent), ``cost_`` (USD), ``stopped_`` (why the
    budget stopped the run, or None), ``renamed_`` (clusters re-asked for a distinct name).
    """

    def __init__(
        self,
        params: DescribeParams,
        *,
        cache: CardCache | None = None,
        client: LLMClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        progress: bool = True,
    ) -> None:
        self.params = params
        self.cache = cache
        self.client = client
        self.sleep = sleep
        self.progress = progress
        self.stopped_: str | None = None

    # -- prompts --------------------------------------------------------------------------
    def _siblings(
        self, h: Hierarchy, node: ClusterNode, base: Mapping[int, Card]
    ) -> dict[str, list[str]]:
        return {
            f"sibling {i + 1}": base[s.id].keywords[:5]
            for i, s in enumerate(n for n in h.siblings(node) if n.id != node.id)
            if s.id in base
        }

    def _sample(self, h: Hierarchy, node: ClusterNode, k: int) -> list[str]:
        if k <= 0:
            return []
        rows = node.members[
            mmr(h.vectors[node.members], h.centroid(node), k=k, lambda_=self.params.mmr_lambda)
        ]
        return [h.texts[i] for i in rows]

    def _messages(
        self, h: Hierarchy, node: ClusterNode, offline: Mapping[int, Card], done: Mapping[int, Card]
    ) -> list[dict[str, str]]:
        p = self.params
        base = offline[node.id]
        siblings = self._siblings(h, node, offline)
        children = h.children(node)
        if not children:
            return leaf_messages(
                p,
                items=self._sample(h, node, p.sample_items),
                size=node.size,
                keywords=base.keywords,
                siblings=siblings,
            )
        child_cards = [
            done[c.id] if c.id in done and done[c.id].ok else offline[c.id] for c in children
        ]
        return parent_messages(
            p,
            children=child_cards,
            items=self._sample(h, node, p.parent_items),
            size=node.size,
            keywords=base.keywords,
            siblings=siblings,
        )

    def _job(
        self,
        h: Hierarchy,
        node: ClusterNode,
        messages: list[dict[str, str]],
        schema: dict[str, Any],
    ) -> _Job:
        key = cache_key(h.item_ids[node.members], messages, self.params, schema)
        estimate = cost_usd(estimate_tokens(messages), OUTPUT_TOKENS_PER_CARD, self.params)
        return _Job(node, messages, key, estimate)

    # -- the walk shared by plan and fit -------------------------------------------------
    def _walk(
        self,
        h: Hierarchy,
        offline: Mapping[int, Card],
        resolve: Callable[[list[_Job], dict[int, Card]], None],
    ) -> dict[int, Card]:
        """Bottom-up over the levels; ``resolve`` turns jobs into cards (cache, LLM, estimate)."""
        schema = card_model(list(self.params.categories)).model_json_schema()
        done: dict[int, Card] = {}
        for level in reversed(h.levels):
            jobs = [
                self._job(h, n, self._messages(h, n, offline, done), schema) for n in h.level(level)
            ]
            resolve(jobs, done)
            if self.stopped_ is None and self.params.distinct_names:
                renames = self._rename_jobs(h, level, jobs, done, schema)
                if renames:
                    before = {j.node.id: done[j.node.id] for j in renames}
                    resolve(renames, done)
                    for cluster_id, old in before.items():
                        if not done[cluster_id].ok:
                            done[cluster_id] = old  # a failed rename keeps the first card
            if self.stopped_ is not None:
                break
        return done

    def _rename_jobs(
        self,
        h: Hierarchy,
        level: int,
        jobs: list[_Job],
        done: Mapping[int, Card],
        schema: dict[str, Any],
    ) -> list[_Job]:
        """Follow-up jobs for the smaller of two siblings whose names nearly coincide."""
        by_id = {job.node.id: job for job in jobs}
        clashes: dict[int, list[str]] = {}
        for group in h.sibling_groups(level):
            named = [n for n in group if n.id in done and done[n.id].ok]
            for a, b in combinations(named, 2):
                name_a, name_b = done[a.id].pattern_name, done[b.id].pattern_name
                if jaccard(name_a, name_b) >= self.params.name_similarity_max:
                    loser, other = (b, a) if b.size <= a.size else (a, b)
                    clashes.setdefault(loser.id, []).append(done[other.id].pattern_name)
        renames = []
        for cluster_id, taken in clashes.items():
            job = by_id[cluster_id]
            previous = json.dumps(
                {k: getattr(done[cluster_id], k) for k in _ANSWER_FIELDS}, ensure_ascii=False
            )
            messages = [
                *job.messages,
                {"role": "assistant", "content": previous},
                rename_message(taken),
            ]
            renames.append(self._job(h, job.node, messages, schema))
        if renames:
            log.debug("level %d: %d sibling name clash(es); re-asking", level, len(renames))
        return renames

    # -- plan -----------------------------------------------------------------------------
    def plan(self, hierarchy: Hierarchy, offline: Mapping[int, Card]) -> CostPlan:
        """Calls, tokens, cost and time still to pay (cached answers are free).

        Walks the hierarchy exactly as :meth:`fit` does; a call not in the cache is
        estimated, with the cluster's offline card standing in for its answer.
        """
        p = self.params
        self.stopped_ = None
        count = {"calls": 0, "cached": 0, "tokens_in": 0}

        def estimate(jobs: list[_Job], done: dict[int, Card]) -> None:
            for job in jobs:
                hit = self.cache.get(job.key) if self.cache is not None else None
                if hit is not None:
                    count["cached"] += 1
                    done[job.node.id] = self._card(job.node, hit, cached=True)
                else:
                    count["calls"] += 1
                    count["tokens_in"] += estimate_tokens(job.messages)
                    done[job.node.id] = offline[job.node.id]

        self._walk(hierarchy, offline, estimate)
        calls, tokens_in = count["calls"], count["tokens_in"]
        tokens_out = calls * OUTPUT_TOKENS_PER_CARD
        return CostPlan(
            model=p.model,
            clusters=len(hierarchy.nodes),
            cached=count["cached"],
            calls=calls,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=round(cost_usd(tokens_in, tokens_out, p), 6),
            seconds=round(calls * p.seconds_per_call / p.concurrency, 1),
            max_cost=p.max_cost,
            max_calls=p.max_calls,
        )

    # -- run ------------------------------------------------------------------------------
    def fit(self, hierarchy: Hierarchy, offline: Mapping[int, Card]) -> LLMDescriber:
        """Write LLM cards bottom-up; stops cleanly at the budget (see class doc)."""
        p = self.params
        client = self.client or LLMClient(p, sleep=self.sleep)
        client.connect()  # a missing key is a ParamsError now, not inside a worker thread
        self.model_id_ = client.model_id
        model = card_model(list(p.categories))
        budget = Budget(p)
        self.usage_ = Usage()
        self.stopped_ = None
        self.renamed_: list[int] = []
        self._written: dict[int, Card] = {}
        bar = tqdm(total=len(hierarchy.nodes), desc="LLM cards", disable=not self.progress)
        with ThreadPoolExecutor(max_workers=p.concurrency) as pool:

            def resolve(jobs: list[_Job], done: dict[int, Card]) -> None:
                if any(job.node.id in done for job in jobs):
                    self.renamed_.extend(job.node.id for job in jobs)
                self._run_jobs(jobs, done, pool, client, model, budget, bar)

            self.cards_ = self._walk(hierarchy, offline, resolve)
        bar.close()
        for cluster_id, card in self.cards_.items():  # what the answer rests on
            base = offline[cluster_id]
            card.keywords, card.representative_ids = base.keywords, base.representative_ids
            card.coherence = base.coherence
        self.cost_ = budget.spent
        log.info(
            "LLM cards: %d written, %d failed, %d requests, %.4f USD%s",
            sum(c.ok for c in self.cards_.values()),
            sum(not c.ok for c in self.cards_.values()),
            self.usage_.requests,
            self.cost_,
            f"; stopped: {self.stopped_}" if self.stopped_ else "",
        )
        return self

    def _card(
        self,
        node: ClusterNode,
        response: dict[str, Any],
        *,
        cached: bool,
        usage: Usage | None = None,
        cost: float = 0.0,
    ) -> Card:
        usage = usage or Usage()
        return Card(
            cluster_id=node.id,
            level=node.level,
            source=self.params.model,
            pattern_name=str(response["pattern_name"]),
            summary=str(response["summary"]),
            category=str(response["category"]),
            strength=int(response["strength"]),
            cost_usd=cost,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            requests=usage.requests,
            cached=cached,
        )

    def _run_jobs(
        self,
        jobs: list[_Job],
        done: dict[int, Card],
        pool: ThreadPoolExecutor,
        client: LLMClient,
        model: Any,
        budget: Budget,
        bar: Any,
    ) -> None:
        pending: dict[Future[Any], _Job] = {}
        queue = list(jobs)
        while queue or pending:
            while queue and len(pending) < self.params.concurrency and self.stopped_ is None:
                job = queue.pop(0)
                hit = self.cache.get(job.key) if self.cache is not None else None
                if hit is not None:
                    done[job.node.id] = self._card(job.node, hit, cached=True)
                    bar.update(1)
                    continue
                try:
                    budget.reserve(job.estimate)
                except BudgetExceeded as err:
                    self.stopped_ = str(err)
                    log.warning("stopping LLM cards: %s (done work is kept)", err)
                    break
                pending[pool.submit(client.describe, job.messages, model)] = job
            if self.stopped_ is not None:
                queue.clear()
            if not pending:
                continue
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in finished:
                job = pending.pop(future)
                card = self._settle(job, future, budget)
                done[job.node.id] = self._written[job.node.id] = card
                bar.update(1)

    def _settle(self, job: _Job, future: Future[Any], budget: Budget) -> Card:
        try:
            answer, usage = future.result()
            failure = None
        except CallFailed as err:
            answer, usage, failure = None, err.usage, err.reason
            if err.unreachable and not any(c.ok for c in self._written.values()):
                # nothing has ever got through: stop instead of failing every cluster slowly
                self.stopped_ = f"endpoint unreachable ({self.params.base_url or 'openai'})"
        cost = cost_usd(usage.input_tokens, usage.output_tokens, self.params)
        budget.settle(job.estimate, cost, extra_calls=max(0, usage.requests - 1))
        self.usage_.add(usage)
        if answer is None:
            log.warning("cluster %s: %s", job.node.name, failure)
            return Card(
                cluster_id=job.node.id,
                level=job.node.level,
                source=self.params.model,
                failure=failure,
                cost_usd=cost,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                requests=usage.requests,
            )
        response = answer.model_dump(mode="json")
        if self.cache is not None:
            self.cache.put(
                job.key, model=self.params.model, response=response, usage=usage, cost=cost
            )
        return self._card(job.node, response, cached=False, usage=usage, cost=cost)
