"""The cluster tree as the describe step sees it: nodes, members, texts, vectors.

Pure data, independent of how it was stored: built from the store by
:func:`thememap.describe.step.load_hierarchy`, or directly in tests and benchmarks
with :meth:`ClusterTree.from_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from thememap.vectors import unit_rows


@dataclass(frozen=True)
class ClusterNode:
    """One cluster: its id, level (1 = coarsest), display name, parent and member rows."""

    id: int
    level: int
    name: str
    parent_id: int | None
    members: np.ndarray  # row indices into ClusterTree.vectors / texts / item_ids

    @property
    def size(self) -> int:
        """Number of member items."""
        return len(self.members)


@dataclass
class ClusterTree:
    """Nested clusters over one set of items (``vectors`` unit rows aligned with ``texts``)."""

    item_ids: np.ndarray
    vectors: np.ndarray
    texts: list[str]
    nodes: list[ClusterNode]
    titles: list[str] | None = None  # item titles (``input.title_field``), aligned with texts
    _by_id: dict[int, ClusterNode] = field(init=False, repr=False)
    _children: dict[int | None, list[ClusterNode]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not (len(self.item_ids) == len(self.vectors) == len(self.texts)):
            raise ValueError("item_ids, vectors and texts must be aligned")
        if self.titles is not None and len(self.titles) != len(self.texts):
            raise ValueError("titles must be aligned with texts")
        self._by_id = {node.id: node for node in self.nodes}
        self._children = {}
        for node in sorted(self.nodes, key=lambda n: n.id):
            self._children.setdefault(node.parent_id, []).append(node)

    def node(self, cluster_id: int) -> ClusterNode:
        """The node with this id."""
        return self._by_id[cluster_id]

    @property
    def levels(self) -> list[int]:
        """Levels present, coarse to fine."""
        return sorted({node.level for node in self.nodes})

    def level(self, level: int) -> list[ClusterNode]:
        """Nodes of one level, by id."""
        return sorted((n for n in self.nodes if n.level == level), key=lambda n: n.id)

    def children(self, node: ClusterNode) -> list[ClusterNode]:
        """Direct children of ``node``."""
        return list(self._children.get(node.id, []))

    def siblings(self, node: ClusterNode) -> list[ClusterNode]:
        """Nodes sharing ``node``'s parent (top level: all top-level nodes), ``node`` included."""
        if node.parent_id is None:
            return [n for n in self._children.get(None, []) if n.level == node.level]
        return list(self._children.get(node.parent_id, []))

    def sibling_groups(self, level: int) -> list[list[ClusterNode]]:
        """The nodes of ``level`` grouped by parent."""
        groups: dict[int | None, list[ClusterNode]] = {}
        for node in self.level(level):
            groups.setdefault(node.parent_id, []).append(node)
        return list(groups.values())

    def centroid(self, node: ClusterNode) -> np.ndarray:
        """Unit-length mean of the members' vectors."""
        return unit_rows(self.vectors[node.members].mean(axis=0, keepdims=True), tolerance=0)[0]

    def centroids(self, nodes: Sequence[ClusterNode]) -> np.ndarray:
        """Unit centroids of ``nodes``, one row each."""
        return np.vstack([self.centroid(n) for n in nodes]).astype(np.float32)

    @classmethod
    def from_labels(
        cls,
        item_ids: np.ndarray,
        vectors: np.ndarray,
        texts: Sequence[str],
        labels: Sequence[np.ndarray],
        *,
        titles: Sequence[str] | None = None,
    ) -> ClusterTree:
        """Build from one label array per level (coarse first, nested, every item labelled).

        Cluster ids are numbered level by level; names are ``L{level}_{label}`` as in
        the reference design.
        """
        nodes: list[ClusterNode] = []
        next_id = 1
        parent_of_label: dict[int, int] = {}
        previous: np.ndarray | None = None
        for depth, level_labels in enumerate(labels, start=1):
            level_labels = np.asarray(level_labels)
            ids_here: dict[int, int] = {}
            for label in np.unique(level_labels):
                members = np.flatnonzero(level_labels == label)
                parent_id = None
                if previous is not None:
                    parents = np.unique(previous[members])
                    if len(parents) != 1:
                        raise ValueError(f"level {depth} label {label} straddles parents")
                    parent_id = parent_of_label[int(parents[0])]
                nodes.append(ClusterNode(next_id, depth, f"L{depth}_{label}", parent_id, members))
                ids_here[int(label)] = next_id
                next_id += 1
            parent_of_label, previous = ids_here, level_labels
        return cls(
            np.asarray(item_ids),
            np.asarray(vectors, np.float32),
            list(texts),
            nodes,
            titles=None if titles is None else [str(t) for t in titles],
        )
