"""Invariants of the nested hierarchy on 1,500 real Debian vectors."""

from __future__ import annotations

import numpy as np
import pytest
from cluster_fixture import debian_vectors
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from thememap.cluster.estimator import ThemeHierarchy
from thememap.cluster.hierarchy import Hierarchy, build_hierarchy
from thememap.cluster.merge import cut_tree, modularity_tree, ward_tree
from thememap.cluster.params import ClusterParams
from thememap.errors import ParamsError


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return debian_vectors()


@pytest.fixture(scope="module")
def default(data: tuple[np.ndarray, np.ndarray]) -> Hierarchy:
    return build_hierarchy(data[0], ClusterParams())


def assert_nested(h: Hierarchy) -> None:
    for lvl in range(1, h.n_levels):
        placed = h.labels[lvl] >= 0
        # the cluster tree: every child has exactly one parent, and items agree with it
        assert h.parents[lvl].shape == (h.counts[lvl],)
        assert ((h.parents[lvl] >= 0) & (h.parents[lvl] < h.counts[lvl - 1])).all()
        both = placed & (h.labels[lvl - 1] >= 0)
        assert (h.parents[lvl][h.labels[lvl][both]] == h.labels[lvl - 1][both]).all()


def test_default_is_nested_placed_and_ordered(default: Hierarchy, data) -> None:
    x, _ = data
    assert default.labels.shape == (3, len(x))
    assert_nested(default)
    assert (default.labels >= 0).all()  # every item placed at every level
    assert default.counts == sorted(default.counts)
    assert 4 <= default.counts[0] <= 40
    assert default.counts[0] < default.counts[-1]
    for lvl in range(3):  # every cluster has members; labels are 0..k-1
        assert set(default.labels[lvl].tolist()) == set(range(default.counts[lvl]))
    assert ((default.strength > 0) & (default.strength <= 1.0001)).all()
    assert (default.outlier_score >= 0).all()


def test_same_seed_same_result(default: Hierarchy, data) -> None:
    again = build_hierarchy(data[0], ClusterParams())
    assert np.array_equal(again.labels, default.labels)
    assert np.allclose(again.strength, default.strength)


def test_other_seed_similar_result(default: Hierarchy, data) -> None:
    other = build_hierarchy(data[0], ClusterParams(seed=7))
    for lvl in range(3):
        assert adjusted_rand_score(default.labels[lvl], other.labels[lvl]) > 0.6


def test_level_one_finds_sections_without_being_told_k(default: Hierarchy, data) -> None:
    _, sections = data
    assert normalized_mutual_info_score(sections, default.labels[0]) > 0.5


def test_keep_noise_leaves_outliers_unplaced(data) -> None:
    params = ClusterParams(keep_noise=True, noise_threshold=2.0, restarts=3)
    h = build_hierarchy(data[0], params)
    assert ((h.labels < 0) == h.is_outlier).all()
    assert 0 < (h.labels < 0).mean() < 0.3
    assert_nested(h)


def test_counts_and_min_sizes_from_params(data) -> None:
    params = ClusterParams(level_counts=[5, None, 60], min_sizes=[None, 20, None], restarts=3)
    h = build_hierarchy(data[0], params)
    assert h.counts[0] == 5 and h.counts[2] <= 60
    assert np.bincount(h.labels[1]).min() >= 20
    assert_nested(h)


@pytest.mark.parametrize("levels", [1, 2, 5])
def test_any_number_of_levels(data, levels: int) -> None:
    h = build_hierarchy(data[0][:600], ClusterParams(levels=levels, restarts=3))
    assert h.n_levels == levels
    assert h.counts == sorted(h.counts)
    assert_nested(h)


def test_sampled_fit_places_every_item_and_keeps_quality(default: Hierarchy, data) -> None:
    x, sections = data
    params = ClusterParams(sample_threshold=1000, sample_size=1000, restarts=3)
    h = build_hierarchy(x, params)
    assert h.fit_rows is not None and len(h.fit_rows) == 1000
    assert (h.labels >= 0).all()
    assert_nested(h)
    assert normalized_mutual_info_score(sections, h.labels[0]) > 0.45


def test_estimator_contract(data) -> None:
    params = ClusterParams(levels=2, restarts=2)
    est = ThemeHierarchy(params)
    assert est.fit(data[0][:500]) is est
    assert est.labels_.shape == (2, 500)
    assert est.params is params and params.levels == 2  # fit does not touch its params


def test_ward_tree_matches_naive_weighted_ward() -> None:
    rng = np.random.default_rng(0)
    c, w = rng.normal(size=(25, 4)), rng.integers(1, 30, 25).astype(float)
    merges = ward_tree(c, w)
    # naive: recompute all pairwise costs at every step
    cc, ww, active, costs = c.copy(), w.copy(), list(range(25)), []
    while len(active) > 1:
        pairs = [(a, b) for i, a in enumerate(active) for b in active[i + 1 :]]
        cost = [ww[a] * ww[b] / (ww[a] + ww[b]) * ((cc[a] - cc[b]) ** 2).sum() for a, b in pairs]
        a, b = pairs[int(np.argmin(cost))]
        costs.append(min(cost))
        cc[a] = (ww[a] * cc[a] + ww[b] * cc[b]) / (ww[a] + ww[b])
        ww[a] += ww[b]
        active.remove(b)
    assert np.allclose(merges[:, 2], costs)
    assert np.diff(merges[:, 2]).min() >= -1e-9  # Ward costs never decrease
    for k in (1, 5, 25):
        assert len(set(cut_tree(merges, 25, k).tolist())) == k


def test_bad_level_lists_are_params_errors() -> None:
    with pytest.raises(ValueError, match="one entry per level"):
        ClusterParams(levels=3, level_counts=[4, 10])
    with pytest.raises(ValueError, match="must not decrease"):
        ClusterParams(levels=2, level_counts=[10, 4])
    assert issubclass(ParamsError, Exception)


def test_modularity_tree_merges_each_node_once() -> None:
    rng = np.random.default_rng(1)
    g = rng.random((30, 30)) * (rng.random((30, 30)) < 0.2)
    g = g + g.T
    merges = modularity_tree(g)
    for k in range(1, 31):
        assert len(set(cut_tree(merges, 30, k).tolist())) == k
    # two disconnected cliques come apart at two clusters
    blocks = np.zeros((6, 6))
    blocks[:3, :3] = blocks[3:, 3:] = 1.0
    np.fill_diagonal(blocks, 0.0)
    assert cut_tree(modularity_tree(blocks), 6, 2).tolist() == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize(
    ("embedding", "merge"),
    [("raw", "ward"), ("spectral", "ward"), ("raw", "modularity"), ("umap", "leiden")],
)
def test_other_designs_are_nested_too(data, embedding: str, merge: str) -> None:
    params = ClusterParams(embedding=embedding, merge=merge, restarts=2)
    h = build_hierarchy(data[0][:600], params)
    assert (h.labels >= 0).all()
    assert h.counts == sorted(h.counts)
    assert_nested(h)


def test_cluster_params_are_the_one_list_of_cluster_settings() -> None:
    """A new cluster setting is one edit (a ClusterParams field): build_hierarchy reads the
    params object, it does not list the settings again as keywords."""
    import inspect

    assert list(inspect.signature(build_hierarchy).parameters) == ["x", "params", "knn"]
