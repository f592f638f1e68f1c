"""The describe step: its call order lives here, once, for the library and notebook 03.

:func:`describe_hierarchy` runs the step on an in-memory :class:`ClusterTree`
(offline cards, the LLM plan and cards when ``source: llm``, the one rule for
which card wins, label quality), handing each result to a *sink* as soon as it
exists; :func:`describe_store` is the same call with the store as the sink::

    loaded = load_hierarchy(conn, params)          # clusters of the latest 02_cluster run
    done = describe_store(conn, loaded, params.describe, embedder=embedder)

The single pieces (``describe_offline``, ``plan_llm``, ``describe_llm``,
``measure_quality``) stay callable alone on a store.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from thememap.describe.budget import CostPlan
from thememap.describe.cards import Card, choose_cards
from thememap.describe.carry import carried_cards
from thememap.describe.hierarchy import ClusterNode, ClusterTree
from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams
from thememap.describe.pins import pin_cards, run_pins
from thememap.describe.quality import LabelReport, label_quality
from thememap.describe.sinks import DescribeSink, NoSink, StoreSink
from thememap.embed.base import Embedder
from thememap.errors import BackendError, ParamsError, StepOrderError
from thememap.store.cards import (
    SqliteCache,
)
from thememap.store.clusters import latest_cluster_run, read_clusters, read_memberships
from thememap.store.items import item_rows
from thememap.store.vectors import load_item_vectors

if TYPE_CHECKING:
    from thememap.ingest.params import InputParams
    from thememap.params import Params

log = logging.getLogger(__name__)


def describe_text(content: str, metadata: Mapping[str, Any], params: InputParams | None) -> str:
    """The text key phrases and summaries are made from: the title (if any), then the content."""
    title = ""
    if params is not None and params.title_field:
        value = metadata.get(params.title_field)
        title = "" if value in (None, "") else str(value).strip()
    body = content.strip()
    if title and not body.lower().startswith(title.lower()):
        return f"{title}. {body}" if not title.endswith((".", "!", "?")) else f"{title} {body}"
    return body or title


@dataclass
class LoadedHierarchy:
    """A cluster run's hierarchy as the describe step uses it (``carried``: LLM cards kept
    from the previous run for themes that did not change, see :mod:`thememap.describe.carry`)."""

    cluster_run_id: str
    hierarchy: ClusterTree
    carried: dict[int, Card] = field(default_factory=dict)
    pinned: dict[int, dict[str, str]] = field(default_factory=dict)  # describe/pins.py


def load_hierarchy(
    conn: sqlite3.Connection, params: Params, *, cluster_run_id: str | None = None
) -> LoadedHierarchy:
    """The clusters of ``cluster_run_id`` (default: the latest clustering) with texts and vectors.

    Items a clustering left unplaced (noise kept opt-in) are in no node.
    """
    run_id = cluster_run_id or latest_cluster_run(conn)
    if run_id is None:
        raise StepOrderError("the store has no clusters yet: run 02_cluster first")
    clusters = read_clusters(conn, run_id)
    memberships = read_memberships(conn, run_id)
    item_ids, vectors = load_item_vectors(conn)
    row_of = {int(item_id): row for row, item_id in enumerate(item_ids)}
    texts = [""] * len(item_ids)
    title_field = params.input.title_field
    titles: list[str] | None = [""] * len(item_ids) if title_field else None
    for item_id, content, meta, _ in item_rows(conn):
        row = row_of.get(item_id)
        if row is not None:
            texts[row] = describe_text(content, meta, params.input)
            if titles is not None and title_field:
                value = meta.get(title_field)
                titles[row] = "" if value is None else str(value).strip()
    placed = memberships.dropna(subset=["cluster_id"])
    members: dict[int, list[int]] = {}
    for item_id, cluster_id in zip(
        placed["item_id"].to_numpy(), placed["cluster_id"].to_numpy(), strict=True
    ):
        members.setdefault(int(cluster_id), []).append(row_of[int(item_id)])
    nodes = []
    for cid, level, name, parent in zip(
        clusters["id"].to_numpy(dtype=np.int64),
        clusters["level"].to_numpy(dtype=np.int64),
        clusters["name"].astype(str),
        clusters["parent_id"].to_numpy(dtype=float),
        strict=True,
    ):
        rows = np.asarray(sorted(members.get(int(cid), [])), dtype=np.int64)
        parent_id = None if np.isnan(parent) else int(parent)
        nodes.append(ClusterNode(int(cid), int(level), name, parent_id, rows))
    nodes = [n for n in nodes if n.size > 0]
    carried = {}
    if params.describe.source == "llm":
        carried = carried_cards(
            conn,
            run_id,
            model=params.describe.model,
            min_jaccard=params.continuity.card_reuse_jaccard,
        )
    tree = ClusterTree(item_ids, vectors, texts, nodes, titles=titles)
    return LoadedHierarchy(run_id, tree, carried, run_pins(conn, run_id))


def _check_same_space(loaded: LoadedHierarchy, embedder: Embedder) -> None:
    """Card texts and categories must be embedded by the model that made the item vectors."""
    _check_dim(loaded.hierarchy, embedder)


def _check_dim(hierarchy: ClusterTree, embedder: Embedder) -> None:
    dim = hierarchy.vectors.shape[1]
    if embedder.dim != dim:
        raise ParamsError(
            f"embed: model {embedder.model_id!r} makes {embedder.dim}-d vectors but the store's "
            f"item vectors are {dim}-d: 03_describe must use the embed params 01_embed used"
        )


def describe_offline(
    conn: sqlite3.Connection,
    loaded: LoadedHierarchy,
    params: DescribeParams,
    *,
    embedder: Embedder | None,
) -> dict[int, Card]:
    """Offline cards for every cluster, stored (and written to the reference columns)."""
    started = time.perf_counter()
    if embedder is not None:
        _check_same_space(loaded, embedder)
    cards = OfflineDescriber(params, embedder=embedder).fit(loaded.hierarchy).cards_
    StoreSink(conn, loaded.cluster_run_id).offline(cards, final=params.source == "offline")
    log.info("offline cards: %d clusters in %.2f s", len(cards), time.perf_counter() - started)
    return cards


def plan_llm(
    conn: sqlite3.Connection,
    loaded: LoadedHierarchy,
    offline: Mapping[int, Card],
    params: DescribeParams,
    *,
    embedder: Embedder | None = None,
    common_words: Sequence[str] | None = None,
) -> CostPlan:
    """What LLM cards would cost now (cached answers are free); makes no call.

    Pass the ``embedder`` the cards will be made with: it picks among proposed names,
    so the later prompts (and their cache keys) depend on it. ``common_words`` (None =
    the corpus's own, as the notebook's prompts list them) go into every prompt."""
    return LLMDescriber(
        params,
        cache=SqliteCache(conn),
        progress=False,
        embedder=embedder,
        common_words=_common_words(loaded, params, common_words),
        carried=loaded.carried,
    ).plan(loaded.hierarchy, offline)


def _common_words(
    loaded: LoadedHierarchy, params: DescribeParams, given: Sequence[str] | None
) -> Sequence[str]:
    """The prompts' corpus-common words: ``given``, or the corpus's own (the same list
    :func:`describe_hierarchy` passes, so both paths ask the same prompts)."""
    if given is not None:
        return given
    return OfflineDescriber(params).fit_vocabulary(loaded.hierarchy).common_words_


def describe_llm(
    conn: sqlite3.Connection,
    loaded: LoadedHierarchy,
    offline: Mapping[int, Card],
    params: DescribeParams,
    *,
    describer: LLMDescriber | None = None,
    embedder: Embedder | None = None,
    common_words: Sequence[str] | None = None,
) -> LLMDescriber:
    """LLM cards for every cluster (cached, budgeted), stored; failures stored as failures.

    ``embedder`` (the items' model) picks among each answer's proposed names;
    ``common_words`` as in :func:`plan_llm`.

    The reference columns get the LLM card, or the offline card where the LLM card
    failed, its level is not in ``llm_levels``, or the run stopped first. The plan
    (calls, time) is logged before any call. When the circuit breaker trips (every
    call failing), what was done is stored, then :class:`BackendError` is raised
    unless ``llm_fallback: offline``.
    """
    describer = _run_llm(
        loaded.hierarchy,
        offline,
        params,
        describer
        or LLMDescriber(
            params,
            cache=SqliteCache(conn),
            embedder=embedder,
            common_words=_common_words(loaded, params, common_words),
            carried=loaded.carried,
        ),
    )
    StoreSink(conn, loaded.cluster_run_id).llm(describer.cards_, offline)
    _raise_if_tripped(describer, params)
    return describer


def _run_llm(
    hierarchy: ClusterTree,
    offline: Mapping[int, Card],
    params: DescribeParams,
    describer: LLMDescriber,
) -> LLMDescriber:
    """Log the plan (calls, time) before any call, then make the LLM cards."""
    plan = describer.plan(hierarchy, offline)
    log.info(
        "LLM cards for level(s) %s: %d call(s) to make, %d in the cache, %d copied (an only "
        "child's or a kept theme's card); about %.0f min at %.1f s a call (%s)",
        ", ".join(map(str, plan.levels)),
        plan.calls,
        plan.cached,
        plan.copied,
        plan.seconds / 60,
        plan.seconds_per_call,
        plan.seconds_basis,
    )
    return describer.fit(hierarchy, offline)


def _raise_if_tripped(describer: LLMDescriber, params: DescribeParams) -> None:
    """What was done is stored by now; a tripped circuit breaker is an error unless the
    params fall back to offline cards."""
    if describer.breaker_ is not None and params.llm_fallback != "offline":
        failed = sum(not c.ok for c in describer.cards_.values())
        raise BackendError(
            f"LLM cards stopped by the {describer.breaker_} ({failed} cluster(s) failed; done "
            "cards are stored and a re-run resumes). Fix the server or the params, or set "
            "describe.llm_fallback: offline to keep offline cards for the rest"
        )


def measure_quality(
    conn: sqlite3.Connection,
    loaded: LoadedHierarchy,
    cards: Mapping[int, Card],
    embedder: Embedder,
    *,
    source: str,
) -> LabelReport:
    """Label quality of ``cards`` (stored per level, and each card's retrieval rank)."""
    _check_same_space(loaded, embedder)
    report = label_quality(loaded.hierarchy, cards, embedder)
    StoreSink(conn, loaded.cluster_run_id).quality(source, report)
    return report


def tree_from_levels(
    item_ids: np.ndarray,
    vectors: np.ndarray,
    texts: list[str],
    labels: np.ndarray,
    parents: list[np.ndarray],
    cluster_ids: list[np.ndarray],
    *,
    titles: list[str] | None = None,
) -> ClusterTree:
    """The describe step's tree from a cluster step's arrays (as :func:`load_hierarchy` builds
    it from the store: cluster ``c`` of level ``d`` is ``cluster_ids[d-1][c]``, named ``Ld_c``;
    unplaced items are in no node, empty clusters are left out)."""
    nodes = []
    for depth, (level_labels, ids) in enumerate(zip(labels, cluster_ids, strict=True), start=1):
        order = np.argsort(level_labels, kind="stable")
        sorted_labels = level_labels[order]
        for c, cid in enumerate(ids.tolist()):
            lo, hi = np.searchsorted(sorted_labels, [c, c + 1])
            members = np.sort(order[lo:hi]).astype(np.int64)
            if len(members) == 0:
                continue
            parent = int(parents[depth - 1][c])
            parent_id = None if parent < 0 else int(cluster_ids[depth - 2][parent])
            nodes.append(ClusterNode(int(cid), depth, f"L{depth}_{c}", parent_id, members))
    return ClusterTree(np.asarray(item_ids), vectors, texts, nodes, titles=titles)


@dataclass
class Described:
    """What the describe step made (cards by cluster id)."""

    offline: dict[int, Card]
    cards: dict[int, Card]  # the card each cluster shows (see describe.cards.choose_card)
    source: str  # "offline" or the LLM's model id
    plan: CostPlan | None = None
    llm: LLMDescriber | None = None
    reports: dict[str, LabelReport] = field(default_factory=dict)
    offline_seconds: float = 0.0


def describe_hierarchy(
    hierarchy: ClusterTree,
    params: DescribeParams,
    *,
    embedder: Embedder | None,
    sink: DescribeSink | None = None,
    cache: Any = None,
    describer: LLMDescriber | None = None,
    quality: bool = True,
    carried: Mapping[int, Card] | None = None,
    pinned: Mapping[int, Mapping[str, str]] | None = None,
) -> Described:
    """The describe step in its one order: offline cards; with ``source: llm`` the plan (logged
    before any call) and the LLM cards (``cache``: a card cache, e.g. the store's; ``carried``:
    cards kept from the previous run, no call); the chosen card per cluster; label quality of
    each source (needs ``embedder``). ``pinned``: cluster id -> card fields a person pinned
    (:mod:`thememap.describe.pins`), set on every card made."""
    sink = sink or NoSink()
    if embedder is not None:
        _check_dim(hierarchy, embedder)
    started = time.perf_counter()
    offline_describer = OfflineDescriber(params, embedder=embedder).fit(hierarchy)
    offline = pin_cards(offline_describer.cards_, pinned)
    seconds = time.perf_counter() - started
    log.info("offline cards: %d clusters in %.2f s", len(offline), seconds)
    sink.offline(offline, final=params.source == "offline")
    llm, llm_cards = None, None
    common = offline_describer.common_words_
    plan = LLMDescriber(
        params,
        cache=cache,
        progress=False,
        embedder=embedder,
        common_words=common,
        carried=carried,
    ).plan(hierarchy, offline)
    if params.source == "llm":
        describer = describer or LLMDescriber(
            params, cache=cache, embedder=embedder, common_words=common, carried=carried
        )
        llm = _run_llm(hierarchy, offline, params, describer)
        llm_cards = pin_cards(llm.cards_, pinned)
        sink.llm(llm_cards, offline)
        _raise_if_tripped(llm, params)
    done = Described(
        offline=offline,
        cards=choose_cards(llm_cards, offline),
        source=llm.params.model if llm is not None else "offline",
        plan=plan,
        llm=llm,
        offline_seconds=seconds,
    )
    if quality and embedder is not None:
        for source, cards in (("offline", offline), (done.source, llm_cards)):
            if cards is not None:
                done.reports[source] = label_quality(hierarchy, cards, embedder)
                sink.quality(source, done.reports[source])
    return done


def describe_store(
    conn: sqlite3.Connection,
    loaded: LoadedHierarchy,
    params: DescribeParams,
    *,
    embedder: Embedder | None,
    describer: LLMDescriber | None = None,
) -> Described:
    """:func:`describe_hierarchy` with the store as the sink and the LLM answer cache."""
    return describe_hierarchy(
        loaded.hierarchy,
        params,
        embedder=embedder,
        sink=StoreSink(conn, loaded.cluster_run_id),
        cache=SqliteCache(conn),
        describer=describer,
        carried=loaded.carried,
        pinned=loaded.pinned,
    )
