"""The method key, the reference recipe, corpus-size checks, reproducibility and the map."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from cluster_fixture import debian_vectors
from sklearn.metrics import adjusted_rand_score

from thememap.cluster.estimator import clamp_to_corpus, fit_hierarchy
from thememap.cluster.evaluate import map_agreement
from thememap.cluster.hierarchy import Hierarchy
from thememap.cluster.leiden import leiden_groups
from thememap.cluster.merge import cut_tree, modularity_tree
from thememap.cluster.params import ClusterParams
from thememap.cluster.partition import best_jaccard
from thememap.cluster.reproducibility import reproducibility
from thememap.errors import ParamsError
from thememap.params import load_params


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return debian_vectors()


def assert_nested(h: Hierarchy) -> None:
    """Every placed item's cluster lies inside its parent's cluster, at every level."""
    for lvl in range(1, h.n_levels):
        both = (h.labels[lvl] >= 0) & (h.labels[lvl - 1] >= 0)
        assert (h.parents[lvl][h.labels[lvl][both]] == h.labels[lvl - 1][both]).all()
        # an item unplaced above is unplaced below (noise never comes back lower down)
        assert (h.labels[lvl][h.labels[lvl - 1] < 0] < 0).all()


def reference_recipe_as_written(x: np.ndarray) -> list[np.ndarray]:
    """The reference design's clustering code, transcribed step by step (the test's oracle)."""
    import hdbscan

    def level(data: np.ndarray, mcs: int, ms: int) -> np.ndarray:
        return hdbscan.HDBSCAN(
            min_cluster_size=mcs, min_samples=ms, metric="euclidean",
            cluster_selection_method="eom",
        ).fit_predict(data)  # fmt: skip

    def subcluster(parent: np.ndarray, fn, ms: int, min_points: int) -> np.ndarray:
        labels = np.full_like(parent, -1)
        offset = 0
        for p in set(parent.tolist()) - {-1}:
            mask = parent == p
            if mask.sum() < min_points:
                continue
            sub = level(x[mask], fn(int(mask.sum())), ms)
            shifted = sub.copy()
            shifted[sub >= 0] += offset
            labels[mask] = shifted
            offset = labels.max() + 1 if labels.max() >= 0 else 0
        return labels

    l1 = level(x, max(50, len(x) // 100), 10)
    l2 = subcluster(l1, lambda n: max(15, n // 10), 5, 30)
    l3 = subcluster(l2, lambda n: min(50, max(5, n // 5)), 3, 15)
    return [l1, l2, l3]


def test_hdbscan_method_matches_the_reference_recipe(data) -> None:
    x = data[0][:800]
    ours = fit_hierarchy(x, ClusterParams(method="hdbscan"))
    theirs = reference_recipe_as_written(x)
    for lvl in range(3):
        assert np.array_equal(ours.labels[lvl] < 0, theirs[lvl] < 0)  # the same noise
        placed = ours.labels[lvl] >= 0
        if placed.any():
            assert adjusted_rand_score(ours.labels[lvl][placed], theirs[lvl][placed]) == 1.0
    assert (ours.labels[0] < 0).any()  # the reference leaves items unplaced
    assert_nested(ours)
    assert (ours.is_outlier == (ours.labels < 0)).all()
    assert np.isfinite(ours.strength).all() and np.isfinite(ours.outlier_score).all()


@pytest.mark.parametrize(
    "overrides",
    [{}, {"merge": "modularity"}, {"merge": "ward"}, {"method": "hdbscan"}, {"levels": 4}],
    ids=["graph-leiden", "graph-modularity", "graph-ward", "hdbscan", "leiden-4-levels"],
)
def test_every_method_nests(data, overrides: dict) -> None:
    h = fit_hierarchy(data[0][:900], ClusterParams(restarts=2, check_runs=0, **overrides))
    assert_nested(h)
    if overrides.get("method") != "hdbscan":
        assert (h.labels >= 0).all()
        assert h.counts == sorted(h.counts)


def test_leiden_level_one_count_comes_from_the_data(data) -> None:
    x, sections = data
    h = fit_hierarchy(x, ClusterParams(check_runs=0))
    assert 4 <= h.counts[0] <= 40
    assert adjusted_rand_score(sections, h.labels[0]) > 0.35


def test_leiden_groups_split_disconnected_blocks_and_respect_bounds() -> None:
    blocks = np.zeros((9, 9))
    for b in range(3):
        blocks[3 * b : 3 * b + 3, 3 * b : 3 * b + 3] = 4.0
    groups = leiden_groups(blocks, resolution=1.0, seed=0)
    assert groups.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # bounds: the resolution is halved until at most 2 groups remain (two blocks join)
    blocks[2, 3] = blocks[3, 2] = 1.0
    assert leiden_groups(blocks, resolution=1.0, seed=0, bounds=(1, 2)).max() + 1 <= 2


def test_constrained_modularity_tree_never_merges_across_groups() -> None:
    rng = np.random.default_rng(3)
    g = rng.random((12, 12))
    g = g + g.T
    groups = np.repeat([0, 1, 2], 4)
    merges = modularity_tree(g, groups=groups)
    assert len(merges) == 12 - 3
    for count in range(3, 13):
        cut = cut_tree(merges, 12, count)
        for c in np.unique(cut):
            assert len(set(groups[cut == c].tolist())) == 1


def test_fewer_items_than_clusters_asked_is_clamped_with_the_key_named(data, caplog) -> None:
    x = data[0][:60]
    with caplog.at_level(logging.WARNING):
        h = fit_hierarchy(x, ClusterParams(level_counts=[50, 100, 500], restarts=2, check_runs=0))
    for i, asked in enumerate([50, 100, 500]):
        assert f"cluster.level_counts[{i}]: {asked} clusters asked" in caplog.text
    assert max(h.counts) <= 20 and h.counts[-1] > 1  # was 1/1/1 unclamped
    assert_nested(h)


def test_min_sizes_larger_than_the_corpus_are_clamped_with_the_key_named(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        params = clamp_to_corpus(ClusterParams(min_sizes=[None, None, 1000]), 100)
    assert params.min_sizes == [None, None, 50]
    assert "cluster.min_sizes[2]: 1000 is more than half of the 100 items" in caplog.text


def test_identical_texts_form_one_theme(caplog) -> None:
    x = np.tile(np.random.default_rng(0).normal(size=384), (200, 1))
    with caplog.at_level(logging.WARNING):
        h = fit_hierarchy(x, ClusterParams())
    assert h.counts == [1, 1, 1]
    assert (h.labels == 0).all()
    assert "all 200 items have the same text" in caplog.text


def test_near_duplicate_vectors_are_one_theme_each(caplog) -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 384))
    x = np.repeat(base, 50, axis=0) + rng.normal(scale=1e-7, size=(150, 384))
    with caplog.at_level(logging.WARNING):
        h = fit_hierarchy(x, ClusterParams())
    assert h.counts == [3, 3, 3]
    assert "only 3 distinct texts" in caplog.text


def test_unknown_method_is_one_params_error_naming_the_key(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("input:\n  path: x.csv\ncluster:\n  method: kmeans\n")
    with pytest.raises(ParamsError, match=r"cluster\.method"):
        load_params(path)


def test_reproducibility_flags_what_does_not_come_back(data) -> None:
    x = data[0][:700]
    params = ClusterParams(restarts=2, check_runs=1)
    main = fit_hierarchy(x, params)
    checks = reproducibility(x, params, main, runs=1)
    assert set(checks.table["refit"]) == {"other seed", "80% of items"}
    assert len(checks.table) == 2 * main.n_levels
    assert [len(s) for s in checks.cluster_stability] == main.counts
    for s in checks.cluster_stability:
        assert ((s >= 0) & (s <= 1)).all()
    assert checks.table.query("level == 1")["ARI"].min() > 0.3
    summary = checks.summary()
    assert list(summary.index) == [1, 2, 3]


def test_best_jaccard_ignores_unplaced() -> None:
    a = np.array([0, 0, 1, 1, -1])
    b = np.array([5, 5, 2, -1, 2])
    assert best_jaccard(a, b, 2).tolist() == [1.0, 1 / 3]


def test_map_agreement_is_one_for_separate_regions_and_low_when_mixed() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 100)
    apart = rng.normal(size=(300, 2)) * 0.1 + labels[:, None] * 10
    assert map_agreement(apart, labels) == 1.0
    assert map_agreement(rng.normal(size=(300, 2)), labels) < 0.5
