"""LLM cards for a whole hierarchy: bottom-up, siblings contrasted, cached, budgeted.

Order: the finest level first (from sampled items), then each parent level from its
children's cards plus a few items. Every prompt carries the siblings' names and key
phrases and the parent's (offline) card; after a level is done, a sibling whose name
nearly repeats another's is re-asked once with the names to avoid, and stored as
that cluster's failure (its offline card in its place) if it still repeats one.

* ``llm_levels`` picks the levels the LLM writes; the others keep offline cards.
* Each answer proposes three names; the card shows the one that best says what sets the
  cluster apart and repeats no sibling's or child's name
  (:mod:`thememap.describe.proposed_names`), before any re-ask is considered.
* A parent with one child holding the same items copies the child's card: no call.
* Prompts are trimmed (fewer, shorter items) to fit ``context_tokens``.
* Each answer is written to the cache as soon as it arrives, keyed by (cluster
  members, prompt, model, mode, schema) -- not the server's URL, so the same model on
  a new port is a cache hit -- and a re-run or a run resumed after a kill pays nothing
  for what is done.
* ``max_calls`` / ``max_cost`` are asked before every HTTP request (retries and
  re-asks included) and stop the run cleanly: cards already written are kept, the
  rest fall back to their offline cards.
* Circuit breaker: after ``max_consecutive_failures`` clusters failed in a row, no
  more calls (``breaker_`` says why; the step then fails unless ``llm_fallback:
  offline``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from thememap.describe.budget import (
    OUTPUT_TOKENS_PER_CARD,
    Budget,
    CostPlan,
    cost_usd,
    prompt_tokens,
    schema_tokens,
)
from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterNode, ClusterTree
from thememap.describe.llm_cache import CardCache, Job, cache_key
from thememap.describe.llm_client import LLMClient, Usage
from thememap.describe.llm_names import DistinctNames
from thememap.describe.llm_requests import RequestRunner
from thememap.describe.llm_schema import card_model
from thememap.describe.params import LOCAL_SECONDS_PER_CALL, REMOTE_SECONDS_PER_CALL, DescribeParams
from thememap.describe.prompts import ClusterData, card_messages
from thememap.embed.base import Embedder
from thememap.errors import ParamsError
from thememap.progress import progress_bar
from thememap.vectors import mmr

log = logging.getLogger(__name__)


MAX_COMMON_WORDS = 12


class LLMDescriber(DistinctNames, RequestRunner):
    """Writes LLM cards for every cluster (scikit-learn style: ``fit`` fills ``cards_``).

    Results: ``cards_`` (cluster id -> :class:`Card` for the levels the LLM writes,
    failures included), ``usage_`` (requests and tokens really sent), ``cost_`` (USD),
    ``stopped_`` (why the run stopped early, or None), ``breaker_`` (the circuit
    breaker's reason when it tripped, else None), ``renamed_`` (clusters re-asked for
    a distinct name), ``copied_`` (clusters that took a card without a call: a parent its
    only child's, or a kept theme its previous run's, see ``carried``),
    ``proposals_`` (cluster id -> the names its last answer proposed, the model's pick first).

    ``embedder`` (the model that embedded the items) ranks each answer's proposed names;
    without it the model's own pick stands unless it repeats a sibling's name.
    ``common_words``: the corpus-generic words the offline cards stop, most frequent
    first (:attr:`OfflineDescriber.common_words_`); every prompt lists the first
    :data:`MAX_COMMON_WORDS` as words to leave out.
    ``carried`` (cluster id -> card) are cards a previous run made for the same theme
    (:mod:`thememap.describe.carry`): used as they are, no call, like a copied card.
    """

    def __init__(
        self,
        params: DescribeParams,
        *,
        cache: CardCache | None = None,
        client: LLMClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        progress: bool = True,
        embedder: Embedder | None = None,
        common_words: Sequence[str] = (),
        carried: Mapping[int, Card] | None = None,
    ) -> None:
        self.params = params
        self.embedder = embedder
        self.common_words = list(common_words)[:MAX_COMMON_WORDS]
        self.carried = dict(carried or {})
        self.cache = cache
        self.client = client
        self.sleep = sleep
        self.progress = progress
        self.stopped_: str | None = None
        self.breaker_: str | None = None

    # -- prompts --------------------------------------------------------------------------
    def _sample(self, h: ClusterTree, node: ClusterNode, k: int) -> list[str]:
        if k <= 0:
            return []
        rows = node.members[
            mmr(h.vectors[node.members], h.centroid(node), k=k, lambda_=self.params.mmr_lambda)
        ]
        return [h.texts[i] for i in rows]

    def _messages(
        self,
        h: ClusterTree,
        node: ClusterNode,
        offline: Mapping[int, Card],
        done: Mapping[int, Card],
    ) -> list[dict[str, str]]:
        p = self.params

        def best(cluster_id: int) -> Card:
            card = done.get(cluster_id)
            return card if card is not None and card.ok else offline[cluster_id]

        children = h.children(node)
        data = ClusterData(
            size=node.size,
            keywords=offline[node.id].keywords,
            items=self._sample(h, node, p.parent_items if children else p.sample_items),
            siblings=[best(s.id) for s in h.siblings(node) if s.id != node.id],
            parent=None if node.parent_id is None else offline[node.parent_id],
            children=[best(c.id) for c in children],
            common_words=self.common_words,
        )
        return self._fit_context(data, node)

    def _fit_context(self, data: ClusterData, node: ClusterNode) -> list[dict[str, str]]:
        """The messages, with fewer and shorter items until they fit ``context_tokens``."""
        p = self.params
        messages = card_messages(p, data)
        if p.context_tokens is None:
            return messages
        # 10% margin: the 4-characters-a-token estimate is rough
        room = int(0.9 * (p.context_tokens - p.max_output_tokens)) - self._schema_tokens
        chars = p.item_chars
        while prompt_tokens(messages) > room:
            if len(data.items) > 1:
                data.items = data.items[:-1]
            elif chars > 80:
                chars = max(80, chars // 2)
            elif len(data.siblings) > 5:
                data.siblings = data.siblings[:5]
            else:
                raise ParamsError(
                    f"describe.context_tokens={p.context_tokens}: cluster {node.name}'s prompt "
                    f"needs ~{prompt_tokens(messages) + self._schema_tokens} tokens plus "
                    f"max_output_tokens={p.max_output_tokens} even with one short item; "
                    "give the server a larger context (llama.cpp --n_ctx) and raise it"
                )
            messages = card_messages(p, data, item_chars=chars)
        return messages

    def _job(
        self,
        h: ClusterTree,
        node: ClusterNode,
        messages: list[dict[str, str]],
        *,
        rename: bool = False,
    ) -> Job:
        """One request; a ``rename`` follow-up samples at ``rename_temperature``."""
        p = self.params
        temperature = p.rename_temperature if rename else p.temperature
        key = cache_key(h.item_ids[node.members], messages, p, self._schema, temperature)
        tokens = prompt_tokens(messages) + self._schema_tokens
        estimate = cost_usd(tokens, OUTPUT_TOKENS_PER_CARD, p)
        return Job(node, messages, key, estimate, temperature)

    # -- the walk shared by plan and fit -------------------------------------------------
    def _walk(
        self,
        h: ClusterTree,
        offline: Mapping[int, Card],
        resolve: Callable[[list[Job], dict[int, Card]], None],
    ) -> dict[int, Card]:
        """Bottom-up over the levels; ``resolve`` turns jobs into cards (cache, LLM, estimate).

        Returns the cards of the levels the LLM writes (``llm_levels``).
        """
        p = self.params
        self._schema = card_model(list(p.categories)).model_json_schema()
        self._schema_tokens = schema_tokens(self._schema)
        self.copied_: list[int] = []
        self._proposals: dict[int, list[str]] = {}
        done: dict[int, Card] = {}
        asked: dict[int, Job] = {}  # each cluster's first request, for a later rename
        llm_ids: list[int] = []
        for level in reversed(h.levels):
            if not p.llm_writes(level):
                continue  # offline cards stand for this level (``best`` falls back to them)
            jobs = []
            for node in h.level(level):
                copy = self.carried.get(node.id) or self._copy_of_only_child(h, node, done)
                if copy is not None:
                    done[node.id] = copy
                    self.copied_.append(node.id)
                else:
                    jobs.append(self._job(h, node, self._messages(h, node, offline, done)))
            resolve(jobs, done)
            self._choose_names(h, level, jobs, done)
            asked.update({job.node.id: job for job in jobs})
            if self.stopped_ is None and p.distinct_names:
                renames = self._rename_jobs(h, level, jobs, done)
                if renames:
                    resolve(renames, done)
                    self._choose_names(h, level, renames, done)
                    reasked = {j.node.id for j in renames}
                    self._rename_children(h, level, reasked, asked, done, resolve)
                    self._fail_repeated_names(h, level, reasked, done)
            llm_ids += [n.id for n in h.level(level)]
            if self.stopped_ is not None:
                break
        return {i: done[i] for i in llm_ids if i in done}

    def _copy_of_only_child(
        self, h: ClusterTree, node: ClusterNode, done: Mapping[int, Card]
    ) -> Card | None:
        """The card of ``node``'s only child when it holds the same items (else None)."""
        children = h.children(node)
        if len(children) != 1 or children[0].size != node.size:
            return None
        child = done.get(children[0].id)
        if child is None or not child.ok:
            return None
        return replace(
            child,
            cluster_id=node.id,
            level=node.level,
            cost_usd=0.0,
            input_tokens=0,
            output_tokens=0,
            requests=0,
        )

    # -- plan -----------------------------------------------------------------------------
    def plan(self, hierarchy: ClusterTree, offline: Mapping[int, Card]) -> CostPlan:
        """Calls, tokens, cost and time still to pay (cached answers are free).

        Walks the hierarchy exactly as :meth:`fit` does; a call not in the cache is
        estimated, with the cluster's offline card standing in for its answer. Time:
        ``seconds_per_call`` when set, else the median seconds of the cached answers
        met on the walk, else a default for a remote or a local server.
        """
        p = self.params
        self.stopped_ = None
        count = {"calls": 0, "cached": 0, "tokens_in": 0}
        measured: list[float] = []

        def estimate(jobs: list[Job], done: dict[int, Card]) -> None:
            for job in jobs:
                hit = self.cache.get(job.key) if self.cache is not None else None
                if hit is not None:
                    count["cached"] += 1
                    done[job.node.id] = self._card(job.node, hit, cached=True)
                    if isinstance(hit.get("_seconds"), int | float):
                        measured.append(float(hit["_seconds"]))
                else:
                    count["calls"] += 1
                    count["tokens_in"] += prompt_tokens(job.messages) + self._schema_tokens
                    done[job.node.id] = offline[job.node.id]

        self._walk(hierarchy, offline, estimate)
        calls, tokens_in = count["calls"], count["tokens_in"]
        tokens_out = calls * OUTPUT_TOKENS_PER_CARD
        per_call, basis = self._seconds_per_call(measured)
        llm_levels = [lv for lv in hierarchy.levels if p.llm_writes(lv)]
        return CostPlan(
            model=p.model,
            clusters=sum(len(hierarchy.level(lv)) for lv in llm_levels),
            cached=count["cached"],
            calls=calls,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=round(cost_usd(tokens_in, tokens_out, p), 6),
            seconds=round(calls * per_call / p.request_concurrency, 1),
            max_cost=p.max_cost,
            max_calls=p.max_calls,
            seconds_per_call=per_call,
            seconds_basis=basis,
            levels=llm_levels,
            copied=len(self.copied_),
        )

    def _seconds_per_call(self, measured: list[float]) -> tuple[float, str]:
        p = self.params
        if p.seconds_per_call is not None:
            return p.seconds_per_call, "declared (describe.seconds_per_call)"
        if measured:
            return (
                round(float(np.median(measured)), 1),
                f"measured (median of {len(measured)} answers in the cache)",
            )
        if p.local_server:
            return LOCAL_SECONDS_PER_CALL, "default for a server on this machine (1.5B model)"
        return REMOTE_SECONDS_PER_CALL, "default for a hosted API"

    # -- run ------------------------------------------------------------------------------
    def fit(self, hierarchy: ClusterTree, offline: Mapping[int, Card]) -> LLMDescriber:
        """Write LLM cards bottom-up; stops cleanly at the budget (see class doc)."""
        p = self.params
        client = self.client or LLMClient(p, sleep=self.sleep)
        client.connect()  # a missing key is a ParamsError now, not inside a worker thread
        self.model_id_ = client.model_id
        model = card_model(list(p.categories))
        budget = Budget(p)
        self.usage_ = Usage()
        self.stopped_ = None
        self.breaker_ = None
        self._fatal: str | None = None
        self._failures_in_a_row = 0
        self.renamed_: list[int] = []
        self._written: dict[int, Card] = {}
        bar = progress_bar(
            total=len(hierarchy.nodes), desc="LLM cards", unit="cluster", disable=not self.progress
        )
        with ThreadPoolExecutor(max_workers=p.request_concurrency) as pool:

            def resolve(jobs: list[Job], done: dict[int, Card]) -> None:
                if any(job.node.id in done for job in jobs):
                    self.renamed_.extend(job.node.id for job in jobs)
                self._run_jobs(jobs, done, pool, client, model, budget, bar)

            self.cards_ = self._walk(hierarchy, offline, resolve)
        bar.close()
        self.proposals_ = dict(self._proposals)
        if self._fatal is not None:
            raise ParamsError(self._fatal)
        for cluster_id, card in self.cards_.items():  # what the answer rests on
            base = offline[cluster_id]
            card.keywords, card.representative_ids = base.keywords, base.representative_ids
            card.coherence = base.coherence
            if card.ok:  # the offline strength has a documented meaning; the model's has not
                card.strength = base.strength
        self.cost_ = budget.spent
        log.info(
            "LLM cards: %d written, %d copied (only child or kept theme), %d failed, %d requests, "
            "%.4f USD, %.1f s per request%s",
            sum(c.ok for c in self.cards_.values()),
            len(self.copied_),
            sum(not c.ok for c in self.cards_.values()),
            self.usage_.requests,
            self.cost_,
            self.usage_.seconds / max(1, self.usage_.requests),
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
        name = str(response["pattern_name"])
        self._proposals[node.id] = [name, *map(str, response.get("other_names") or [])]
        return Card(
            cluster_id=node.id,
            level=node.level,
            source=self.params.model,
            pattern_name=name,
            summary=str(response["summary"]),
            category=str(response["category"]),
            strength=int(response["strength"]),
            cost_usd=cost,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            requests=usage.requests,
            cached=cached,
        )
