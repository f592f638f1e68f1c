"""The 03_describe step as functions the notebook calls, each reading/writing the store.

h = load_hierarchy(conn, params)                       # clusters of the latest 02_cluster run
offline = describe_offline(conn, h, params.describe, embedder=embedder)
plan = plan_llm(conn, h, offline, params.describe)     # shown before any call
llm = describe_llm(conn, h, offline, params.describe)  # only when source: llm
report = measure_quality(conn, h, cards, embedder, source=...)
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from thememap.describe.budget import CostPlan
from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterNode, Hierarchy
from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.offline import OfflineDescriber
from thememap.describe.params import DescribeParams
from thememap.describe.quality import LabelReport, label_quality
from thememap.embed.base import Embedder
from thememap.errors import BackendError, ParamsError, StepOrderError
from thememap.store.cards import (
    SqliteCache,
    fill_reference_columns,
    put_cards,
    put_quality,
    put_retrieval_ranks,
)
from thememap.store.clusters import latest_cluster_run, read_clusters, read_memberships
from thememap.store.vectors import load_item_vectors

if TYPE_CHECKING:
    from thememap.params import InputParams, Params

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
    """A cluster run's hierarchy as the describe step uses it."""

    cluster_run_id: str
    hierarchy: Hierarchy


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
    for item_id, content, metadata in conn.execute("SELECT id, content, metadata FROM items"):
        row = row_of.get(int(item_id))
        if row is not None:
            meta = json.loads(metadata or "{}")
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
    return LoadedHierarchy(run_id, Hierarchy(item_ids, vectors, texts, nodes, titles=titles))


def _check_same_space(loaded: LoadedHierarchy, embedder: Embedder) -> None:
    """Card texts and categories must be embedded by the model that made the item vectors."""
    dim = loaded.hierarchy.vectors.shape[1]
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
    put_cards(conn, cards.values())
    if params.source == "offline":
        fill_reference_columns(conn, cards, cards)
    log.info("offline cards: %d clusters in %.2f s", len(cards), time.perf_counter() - started)
    return cards


def plan_llm(
    conn: sqlite3.Connection,
    loaded: LoadedHierarchy,
    offline: Mapping[int, Card],
    params: DescribeParams,
) -> CostPlan:
    """What LLM cards would cost now (cached answers are free); makes no call."""
    return LLMDescriber(params, cache=SqliteCache(conn), progress=False).plan(
        loaded.hierarchy, offline
    )


def describe_llm(
    conn: sqlite3.Connection,
    loaded: LoadedHierarchy,
    offline: Mapping[int, Card],
    params: DescribeParams,
    *,
    describer: LLMDescriber | None = None,
) -> LLMDescriber:
    """LLM cards for every cluster (cached, budgeted), stored; failures stored as failures.

    The reference columns get the LLM card, or the offline card where the LLM card
    failed, its level is not in ``llm_levels``, or the run stopped first. The plan
    (calls, time) is logged before any call. When the circuit breaker trips (every
    call failing), what was done is stored, then :class:`BackendError` is raised
    unless ``llm_fallback: offline``.
    """
    describer = describer or LLMDescriber(params, cache=SqliteCache(conn))
    plan = describer.plan(loaded.hierarchy, offline)
    log.info(
        "LLM cards for level(s) %s: %d call(s) to make, %d in the cache, %d copied from an "
        "only child; about %.0f min at %.1f s a call (%s)",
        ", ".join(map(str, plan.levels)),
        plan.calls,
        plan.cached,
        plan.copied,
        plan.seconds / 60,
        plan.seconds_per_call,
        plan.seconds_basis,
    )
    describer.fit(loaded.hierarchy, offline)
    put_cards(conn, describer.cards_.values())
    fill_reference_columns(conn, describer.cards_, offline)
    if describer.breaker_ is not None and params.llm_fallback != "offline":
        failed = sum(not c.ok for c in describer.cards_.values())
        raise BackendError(
            f"LLM cards stopped by the {describer.breaker_} ({failed} cluster(s) failed; done "
            "cards are stored and a re-run resumes). Fix the server or the params, or set "
            "describe.llm_fallback: offline to keep offline cards for the rest"
        )
    return describer


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
    put_quality(conn, loaded.cluster_run_id, source, report.levels)
    put_retrieval_ranks(conn, source, report.ranks)
    return report
