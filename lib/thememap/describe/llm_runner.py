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

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any, Protocol

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
from thememap.describe.llm_client import CallFailed, LLMClient, Usage
from thememap.describe.llm_schema import card_model
from thememap.describe.params import LOCAL_SECONDS_PER_CALL, REMOTE_SECONDS_PER_CALL, DescribeParams
from thememap.describe.prompts import ClusterData, card_messages, narrower_message, rename_message
from thememap.describe.proposed_names import choose_names, rank_proposals
from thememap.describe.quality import jaccard
from thememap.embed.base import Embedder
from thememap.errors import BudgetExceeded, ParamsError
from thememap.progress import progress_bar
from thememap.vectors import mmr

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
    temperature: float


def cache_key(
    member_ids: np.ndarray,
    messages: list[dict[str, str]],
    params: DescribeParams,
    schema: dict[str, Any],
    temperature: float | None = None,
) -> str:
    """Hash of what decides the answer: members, prompt, model, mode, temperature, schema."""
    digest = hashlib.sha256()
    digest.update(np.sort(np.asarray(member_ids, dtype=np.int64)).tobytes())
    payload = {  # not base_url: the same model on another port answers the same
        "messages": messages,
        "model": params.model,
        "mode": params.mode,
        "temperature": params.temperature if temperature is None else temperature,
        "schema": schema,
    }
    digest.update(json.dumps(payload, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


_ANSWER_FIELDS = ("summary", "pattern_name", "category", "strength")
MAX_COMMON_WORDS = 12


class LLMDescriber:
    """Writes LLM cards for every cluster (scikit-learn style: ``fit`` fills ``cards_``).

    Results: ``cards_`` (cluster id -> :class:`Card` for the levels the LLM writes,
    failures included), ``usage_`` (requests and tokens really sent), ``cost_`` (USD),
    ``stopped_`` (why the run stopped early, or None), ``breaker_`` (the circuit
    breaker's reason when it tripped, else None), ``renamed_`` (clusters re-asked for
    a distinct name), ``copied_`` (parents that took their only child's card),
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
    ) -> _Job:
        """One request; a ``rename`` follow-up samples at ``rename_temperature``."""
        p = self.params
        temperature = p.rename_temperature if rename else p.temperature
        key = cache_key(h.item_ids[node.members], messages, p, self._schema, temperature)
        tokens = prompt_tokens(messages) + self._schema_tokens
        estimate = cost_usd(tokens, OUTPUT_TOKENS_PER_CARD, p)
        return _Job(node, messages, key, estimate, temperature)

    # -- the walk shared by plan and fit -------------------------------------------------
    def _walk(
        self,
        h: ClusterTree,
        offline: Mapping[int, Card],
        resolve: Callable[[list[_Job], dict[int, Card]], None],
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
        asked: dict[int, _Job] = {}  # each cluster's first request, for a later rename
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

    def _choose_names(
        self, h: ClusterTree, level: int, jobs: list[_Job], done: dict[int, Card]
    ) -> None:
        """Each answered cluster shows the best of its proposed names (see module doc)."""
        proposals = {
            job.node.id: self._proposals[job.node.id]
            for job in jobs
            if job.node.id in self._proposals and job.node.id in done and done[job.node.id].ok
        }
        if not proposals:
            return
        ranked = rank_proposals(
            h, level, proposals, embedder=self.embedder, contrast=self.params.name_contrast
        )
        fixed = {cid: c.pattern_name for cid, c in done.items() if c.ok and cid not in proposals}
        for cid, name in choose_names(h, level, ranked, fixed, self._similar).items():
            if name != done[cid].pattern_name:
                log.debug("cluster %s: proposed names %s, shows %r", cid, ranked[cid], name)
                done[cid] = replace(done[cid], pattern_name=name)

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

    def _similar(self, a: str, b: str) -> bool:
        return a.casefold() == b.casefold() or jaccard(a, b) >= self.params.name_similarity_max

    def _clashes(
        self, h: ClusterTree, level: int, done: Mapping[int, Card]
    ) -> dict[int, list[str]]:
        """Cluster id -> names it nearly repeats: a sibling's (the smaller of each pair
        is re-asked), or for a parent of several children one child's (a parent's name
        covers all its children, it is not named after one of them)."""
        clashes: dict[int, list[str]] = {}
        for group in h.sibling_groups(level):
            named = [n for n in group if n.id in done and done[n.id].ok]
            for a, b in combinations(named, 2):
                if self._similar(done[a.id].pattern_name, done[b.id].pattern_name):
                    loser, other = (b, a) if b.size <= a.size else (a, b)
                    if loser.id in self.copied_ and other.id not in self.copied_:
                        loser, other = other, loser  # a copied card has no prompt to re-ask
                    clashes.setdefault(loser.id, []).append(done[other.id].pattern_name)
            for parent in named:
                children = [c for c in h.children(parent) if c.id in done and done[c.id].ok]
                if len(h.children(parent)) < 2 or parent.id in self.copied_:
                    continue
                name = done[parent.id].pattern_name
                taken = [done[c.id].pattern_name for c in children]
                if any(self._similar(name, child) for child in taken):
                    clashes.setdefault(parent.id, []).extend(taken)
        return clashes

    def _rename_jobs(
        self, h: ClusterTree, level: int, jobs: list[_Job], done: Mapping[int, Card]
    ) -> list[_Job]:
        """Follow-up jobs for the smaller of two siblings whose names nearly coincide."""
        by_id = {job.node.id: job for job in jobs}
        renames = []
        for cluster_id, taken in self._clashes(h, level, done).items():
            job = by_id.get(cluster_id)
            if job is None:
                continue
            previous = json.dumps(
                {k: getattr(done[cluster_id], k) for k in _ANSWER_FIELDS}, ensure_ascii=False
            )
            messages = [
                *job.messages,
                {"role": "assistant", "content": previous},
                rename_message(taken),
            ]
            renames.append(self._job(h, job.node, messages, rename=True))
        if renames:
            log.debug("level %d: %d sibling name clash(es); re-asking", level, len(renames))
        return renames

    def _rename_children(
        self,
        h: ClusterTree,
        level: int,
        reasked: set[int],
        asked: Mapping[int, _Job],
        done: dict[int, Card],
        resolve: Callable[[list[_Job], dict[int, Card]], None],
    ) -> None:
        """A parent that still repeats a child's name after its re-ask: ask the child instead.

        The parent saw all its children and its name covers them, so the child that
        shares it is the one named too broadly: it is asked once for what sets it apart.
        The child's new card is kept only when it is valid and repeats neither the parent
        nor a sibling; otherwise it keeps its card and the parent fails as before.
        """
        jobs = []
        for parent_id in self._clashes(h, level, done):
            if parent_id not in reasked:
                continue
            parent_name = done[parent_id].pattern_name
            for child in h.children(h.node(parent_id)):
                card, job = done.get(child.id), asked.get(child.id)
                if job is None or card is None or not card.ok:
                    continue
                if not self._similar(parent_name, card.pattern_name):
                    continue
                previous = json.dumps(
                    {k: getattr(card, k) for k in _ANSWER_FIELDS}, ensure_ascii=False
                )
                messages = [
                    *job.messages,
                    {"role": "assistant", "content": previous},
                    narrower_message(parent_name, _sibling_names(h, child, done)),
                ]
                jobs.append(self._job(h, child, messages, rename=True))
        if not jobs or self.stopped_ is not None:
            return
        before = {job.node.id: done[job.node.id] for job in jobs}
        resolve(jobs, done)
        for job in jobs:
            child = job.node
            new = done.get(child.id)
            parent_name = done[child.parent_id].pattern_name if child.parent_id is not None else ""
            taken = [parent_name, *_sibling_names(h, child, done)]
            if new is None or not new.ok or any(self._similar(new.pattern_name, t) for t in taken):
                done[child.id] = before[child.id]
            else:
                log.info(
                    "cluster %s renamed %r -> %r (its parent is %r)",
                    child.name, before[child.id].pattern_name, new.pattern_name, parent_name,
                )  # fmt: skip

    def _fail_repeated_names(
        self, h: ClusterTree, level: int, asked: set[int], done: dict[int, Card]
    ) -> None:
        """A cluster re-asked for a distinct name that still repeats one: its failure."""
        for cluster_id, taken in self._clashes(h, level, done).items():
            if cluster_id in asked:
                card = done[cluster_id]
                done[cluster_id] = replace(
                    card,
                    pattern_name="",
                    summary="",
                    category="",
                    strength=None,
                    failure="invalid output: pattern_name repeats a sibling's (or, for a "
                    f"parent, a child's) name ({'; '.join(taken)}) after a re-ask",
                )
        for cluster_id in asked:  # a rename that failed outright: that is the failure
            if cluster_id in done and not done[cluster_id].ok:
                log.warning("cluster %s: %s", h.node(cluster_id).name, done[cluster_id].failure)

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

        def estimate(jobs: list[_Job], done: dict[int, Card]) -> None:
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

            def resolve(jobs: list[_Job], done: dict[int, Card]) -> None:
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
            "LLM cards: %d written, %d copied from an only child, %d failed, %d requests, "
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

                def ask(job: _Job = job) -> tuple[Any, Usage]:
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

    def _settle(self, job: _Job, future: Future[Any], budget: Budget) -> Card | None:
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

    def _failed(self, job: _Job, err: CallFailed, usage: Usage, cost: float) -> Card | None:
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


def _sibling_names(h: ClusterTree, node: ClusterNode, done: Mapping[int, Card]) -> list[str]:
    """The names of ``node``'s siblings that have a valid card so far."""
    return [
        done[s.id].pattern_name
        for s in h.siblings(node)
        if s.id != node.id and s.id in done and done[s.id].ok
    ]
