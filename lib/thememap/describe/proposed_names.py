"""Which of an LLM's proposed names a card shows: the model proposes, the embedding chooses.

A small model asked for one name often gives the obvious one: a child's name for a
parent, the same "X Tools" as a sibling, a word from one item. Asked for three, it
usually has a better one among them. Each cluster's proposals are ranked the way
offline names are scored (:func:`~thememap.describe.naming.contrast_relevance`: near
the cluster's centre, far from the other clusters of its level; a parent's name near
every one of its children); then, within each
group of siblings, larger clusters first, a cluster takes its best proposal that
repeats neither a sibling's name already taken nor, for a parent, a child's. Without
an embedder the model's own order stands and only the repeats are avoided. What is
still a repeat afterwards goes to the runner's re-ask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from thememap.describe.hierarchy import ClusterTree
from thememap.describe.naming import contrast_relevance, name_centres
from thememap.embed.base import Embedder


def rank_proposals(
    hierarchy: ClusterTree,
    level: int,
    proposals: Mapping[int, Sequence[str]],
    *,
    embedder: Embedder | None,
    contrast: float,
) -> dict[int, list[str]]:
    """Each cluster's proposals (cluster id -> names, the model's pick first), best first.

    With an embedder: by contrastive relevance to the cluster's name centre among the
    level's clusters (ties keep the model's order); for a parent of several children its
    own similarity is the least of its similarity to each child's centre, so a name that
    fits one child (a sub-theme) ranks below one that fits them all. Without an embedder:
    the model's order.
    """
    ranked = {cid: list(dict.fromkeys(names)) for cid, names in proposals.items() if names}
    if embedder is None or not ranked:
        return ranked
    nodes = hierarchy.level(level)
    centres = name_centres(hierarchy)
    level_centres = np.vstack([centres[n.id] for n in nodes])
    column = {n.id: i for i, n in enumerate(nodes)}
    phrases = sorted({name for names in ranked.values() for name in names})
    vectors = np.asarray(embedder.embed(phrases), dtype=np.float32)
    row_of = {p: i for i, p in enumerate(phrases)}
    for cid, names in ranked.items():
        rows = vectors[[row_of[n] for n in names]]
        sims = rows @ level_centres.T
        children = hierarchy.children(hierarchy.node(cid))
        if len(children) >= 2:
            # a parent's name must fit every child, not its best one ("Fonts: Thai" over fonts)
            fit_all = (rows @ np.vstack([centres[c.id] for c in children]).T).min(axis=1)
            sims[:, column[cid]] = np.minimum(sims[:, column[cid]], fit_all)
        relevance = contrast_relevance(sims, column[cid], contrast)
        ranked[cid] = [names[i] for i in np.argsort(-relevance, kind="stable")]
    return ranked


def choose_names(
    hierarchy: ClusterTree,
    level: int,
    ranked: Mapping[int, Sequence[str]],
    fixed: Mapping[int, str],
    similar: Callable[[str, str], bool],
) -> dict[int, str]:
    """The name each cluster in ``ranked`` shows: its best that repeats no sibling or child.

    ``fixed`` holds the names that are not up for choice (clusters of this level without
    proposals, and the children below). A cluster whose every proposal repeats one keeps
    its best (the re-ask deals with it).
    """
    chosen: dict[int, str] = {}
    for group in hierarchy.sibling_groups(level):
        taken = [fixed[n.id] for n in group if n.id not in ranked and n.id in fixed]
        for node in sorted(group, key=lambda n: -n.size):
            names = ranked.get(node.id)
            if not names:
                continue
            children = hierarchy.children(node)
            avoid = list(taken)
            if len(children) >= 2:  # a parent's name covers its children, it is not one of them
                avoid += [fixed[c.id] for c in children if c.id in fixed]
            fresh = [n for n in names if not any(similar(n, t) for t in avoid)]
            chosen[node.id] = (fresh or list(names))[0]
            taken.append(chosen[node.id])
    return chosen
