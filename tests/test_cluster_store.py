"""02_cluster against a real SQLite store: tables consistent, re-runs replace cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cluster_fixture import debian_vectors

from thememap.cluster.params import ClusterParams
from thememap.cluster.step import cluster_store
from thememap.store import open_store, transaction
from thememap.store.clusters import read_clusters, read_memberships
from thememap.store.vectors import put_vectors

N = 800


def make_store(path: Path) -> object:
    x, sections = debian_vectors()
    x, sections = x[:N], sections[:N]
    conn = open_store(path)
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(id, external_id, content, metadata, content_hash) VALUES (?,?,?,?,?)",
            [
                (
                    i + 1,
                    f"ext-{i}",
                    f"item {i} about {s} things",
                    json.dumps({"section": s}),
                    f"h{i}",
                )
                for i, s in enumerate(sections)
            ],
        )
    put_vectors(conn, "test-model", [f"h{i}" for i in range(N)], x)
    return conn


def check_consistent(conn, run_id: str, levels: int) -> None:
    clusters = read_clusters(conn, run_id)
    members = read_memberships(conn, run_id)
    assert sorted(clusters["level"].unique()) == list(range(1, levels + 1))
    assert len(members) == N * levels  # every item, every level
    by_id = clusters.set_index("id")
    for _, row in clusters.iterrows():
        if row["level"] == 1:
            assert pd_isna(row["parent_id"])
        else:
            parent = by_id.loc[int(row["parent_id"])]
            assert parent["level"] == row["level"] - 1 and parent["run_id"] == run_id
        assert len(row["representatives"]) > 0
    # comment_count = placed memberships; an item's clusters form a chain of parents
    counts = members.dropna(subset=["cluster_id"]).groupby("cluster_id").size()
    assert (counts.reindex(by_id.index).fillna(0).astype(int) == by_id["comment_count"]).all()
    wide = members.pivot(index="item_id", columns="level", values="cluster_id")
    for lvl in range(2, levels + 1):
        ok = wide[lvl].notna() & wide[lvl - 1].notna()
        parents = by_id.loc[wide.loc[ok, lvl].astype(int), "parent_id"].to_numpy()
        assert (parents == wide.loc[ok, lvl - 1].to_numpy()).all()


def pd_isna(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


@pytest.fixture
def store(tmp_path: Path):
    conn = make_store(tmp_path / "items.db")
    yield conn
    conn.close()


def test_cluster_store_writes_consistent_tables(store) -> None:
    result = cluster_store(store, ClusterParams(restarts=3, layout="pca"), run_id="run-a")
    check_consistent(store, "run-a", 3)
    assert result.counts == sorted(result.counts)
    assert result.unplaced_share == [0.0, 0.0, 0.0]
    rows = store.execute(
        "SELECT COUNT(*), COUNT(embedding_cluster_l1), COUNT(embedding_cluster_l3), COUNT(umap_x)"
        " FROM items"
    ).fetchone()
    assert tuple(rows) == (N, N, N, N)
    # the reference columns hold the label number of the cluster named L<level>_<label>
    name = store.execute(
        "SELECT c.name FROM items AS i JOIN memberships AS m ON m.item_id = i.id AND m.level = 2"
        " JOIN clusters AS c ON c.id = m.cluster_id WHERE i.id = 1"
    ).fetchone()[0]
    assert name == "L2_" + str(
        store.execute("SELECT embedding_cluster_l2 FROM items WHERE id = 1").fetchone()[0]
    )
    assert store.execute("SELECT COUNT(*) FROM layouts WHERE run_id = 'run-a'").fetchone()[0] == N
    card = store.execute("SELECT llm_description, strength_score FROM clusters LIMIT 1").fetchone()
    assert tuple(card) == (None, None)  # left for 03_describe


def test_rerun_replaces_the_run_and_leaves_other_runs(store) -> None:
    cluster_store(store, ClusterParams(restarts=3, layout="none"), run_id="other")
    cluster_store(store, ClusterParams(restarts=3, layout="pca"), run_id="run-a")
    before_other = len(read_clusters(store, "other"))
    cluster_store(
        store, ClusterParams(restarts=3, layout="pca", levels=2, keep_noise=True), run_id="run-a"
    )
    check_consistent(store, "run-a", 2)
    assert (
        store.execute("SELECT COUNT(*) FROM clusters WHERE run_id='run-a' AND level=3").fetchone()[
            0
        ]
        == 0
    )
    assert len(read_clusters(store, "other")) == before_other
    unplaced = store.execute(
        "SELECT COUNT(*) FROM memberships WHERE run_id='run-a' AND cluster_id IS NULL"
    ).fetchone()[0]
    assert unplaced > 0
    # latest run's reference columns: level 3 is gone, unplaced items have NULL
    assert store.execute("SELECT COUNT(embedding_cluster_l3) FROM items").fetchone()[0] == 0
    assert store.execute("SELECT COUNT(embedding_cluster_l2) FROM items").fetchone()[0] < N


def test_failed_write_leaves_previous_run_intact(store, monkeypatch) -> None:
    cluster_store(store, ClusterParams(restarts=3, layout="none"), run_id="run-a")
    before = len(read_memberships(store, "run-a"))
    import thememap.store.clusters as sc

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sc, "_fill_reference_columns", boom)
    with pytest.raises(RuntimeError):
        cluster_store(store, ClusterParams(restarts=3, layout="none", levels=2), run_id="run-a")
    assert len(read_memberships(store, "run-a")) == before
    check_consistent(store, "run-a", 3)
