"""Distinct names for LLM cards: proposals chosen, clashes re-asked, repeats recorded.

Mixed into :class:`~thememap.describe.llm_runner.LLMDescriber`. After a level is
answered: each cluster shows the best of its proposed names
(:mod:`thememap.describe.proposed_names`); a sibling whose name still nearly repeats
another's (or a parent that repeats a child's) is re-asked once; a parent that insists
has the child asked for a narrower name; what still repeats is that cluster's failure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import combinations

from thememap.describe.cards import Card
from thememap.describe.hierarchy import ClusterNode, ClusterTree
from thememap.describe.llm_cache import Job
from thememap.describe.params import DescribeParams
from thememap.describe.prompts import narrower_message, rename_message
from thememap.describe.proposed_names import choose_names, rank_proposals
from thememap.describe.quality import jaccard
from thememap.embed.base import Embedder

log = logging.getLogger(__name__)

ANSWER_FIELDS = ("summary", "pattern_name", "category", "strength")


class DistinctNames:
    """The naming half of the LLM describer (state it reads is set by the describer)."""

    params: DescribeParams
    embedder: Embedder | None
    stopped_: str | None
    copied_: list[int]
    _proposals: dict[int, list[str]]

    _job: Callable[..., Job]  # the describer's request builder (rename=True for a re-ask)

    def _choose_names(
        self, h: ClusterTree, level: int, jobs: list[Job], done: dict[int, Card]
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
        self, h: ClusterTree, level: int, jobs: list[Job], done: Mapping[int, Card]
    ) -> list[Job]:
        """Follow-up jobs for the smaller of two siblings whose names nearly coincide."""
        by_id = {job.node.id: job for job in jobs}
        renames = []
        for cluster_id, taken in self._clashes(h, level, done).items():
            job = by_id.get(cluster_id)
            if job is None:
                continue
            previous = json.dumps(
                {k: getattr(done[cluster_id], k) for k in ANSWER_FIELDS}, ensure_ascii=False
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
        asked: Mapping[int, Job],
        done: dict[int, Card],
        resolve: Callable[[list[Job], dict[int, Card]], None],
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
                    {k: getattr(card, k) for k in ANSWER_FIELDS}, ensure_ascii=False
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


def _sibling_names(h: ClusterTree, node: ClusterNode, done: Mapping[int, Card]) -> list[str]:
    """The names of ``node``'s siblings that have a valid card so far."""
    return [
        done[s.id].pattern_name
        for s in h.siblings(node)
        if s.id != node.id and s.id in done and done[s.id].ok
    ]
