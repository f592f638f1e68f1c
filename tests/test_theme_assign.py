"""Issue 13 part 2: ``thememap assign`` places new items in a fitted hierarchy, no refit.

On arrays: nearest fine centroid, nesting by construction, the fit's own outlier
score, map positions among the nearest fitted items, the refit suggestion. On a real
store (1,200 real MiniLM vectors, 800 fitted, 400 added): every item placed exactly
once, sizes updated, exports accept the clustering, and a kill mid-way loses nothing.
End to end: the CLI with the real local model on the bundled demo corpus.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
import yaml
from cluster_fixture import debian_vectors
from test_cluster_store import make_store
from theme_checks import check_change_table, store_copy

import thememap
from thememap.cluster import assign_step, plots
from thememap.cluster.assign import FittedHierarchy, place_items, summarise
from thememap.cluster.continuity import assign_themes
from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.edit_run import add_edit
from thememap.cluster.params import ClusterParams
from thememap.cluster.refit_or_assign import cluster_or_assign
from thememap.cluster.scores import parents_of, score_levels
from thememap.cluster.step import cluster_store
from thememap.errors import StoreError
from thememap.export.source import load_export_data
from thememap.params import packaged
from thememap.runner.run import run_chain
from thememap.store import assignments, open_store, transaction
from thememap.store.assignments import read_assignments
from thememap.store.clusters import read_layout, read_memberships
from thememap.store.themes import run_theme_ids
from thememap.store.vectors import put_vectors
from thememap.store.view import bump_items_version, check_clustering_current

FITTED = 800
LIB = Path(thememap.__file__).resolve().parents[1]


def synthetic_fit(seed: int = 0) -> tuple[FittedHierarchy, np.ndarray]:
    """2 coarse x 3 fine clusters of 40 noisy unit vectors around 6 directions in 32-d,
    the fine clusters laid out as blobs on a 2D map; returns the fit and the directions."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(6, 32))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    fine = np.repeat(np.arange(6), 40)
    x = directions[fine] + rng.normal(scale=0.15, size=(len(fine), 32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.vstack([fine // 3, fine])
    scores = score_levels(x.astype(np.float32), labels)
    blobs = np.array([[0, 0], [10, 0], [0, 10], [30, 30], [40, 30], [30, 40]], float)
    coords = blobs[fine] + rng.normal(scale=0.5, size=(len(fine), 2))
    fit = FittedHierarchy(
        centroids=scores.centroids,
        parents=parents_of(labels),
        vectors=x.astype(np.float32),
        labels=labels,
        coords=coords,
    )
    return fit, directions


def test_each_item_goes_to_its_nearest_fine_centroid_and_nests() -> None:
    fit, directions = synthetic_fit()
    rng = np.random.default_rng(1)
    new = directions[rng.integers(0, 6, 50)] + rng.normal(scale=0.3, size=(50, 32))
    placed = place_items(new, fit, noise_threshold=3.0)
    unit = new / np.linalg.norm(new, axis=1, keepdims=True)
    assert np.array_equal(placed.labels[1], (unit @ fit.centroids[1].T).argmax(1))
    assert np.array_equal(placed.labels[0], fit.parents[1][placed.labels[1]])  # nested
    assert np.allclose(placed.strength[1], np.sum(unit * fit.centroids[1][placed.labels[1]], 1))


def test_the_outlier_score_is_the_fits_own() -> None:
    """Placing the fitted items again gives them the scores the fit gave them."""
    fit, _ = synthetic_fit()
    fitted = score_levels(fit.vectors, fit.labels)
    again = place_items(fit.vectors, fit, noise_threshold=3.0)
    assert np.array_equal(again.labels, fit.labels)
    assert np.allclose(again.outlier_score, fitted.outlier_score, atol=1e-5)
    assert np.allclose(again.strength, fitted.strength, atol=1e-5)


def test_a_new_item_lands_among_its_nearest_fitted_items_on_the_map() -> None:
    fit, directions = synthetic_fit()
    rng = np.random.default_rng(2)
    new = directions[[0, 4, 4, 2]] + rng.normal(scale=0.1, size=(4, 32))
    placed = place_items(new, fit, noise_threshold=3.0, n_neighbors=10)
    assert placed.coords is not None
    for item, cluster in enumerate([0, 4, 4, 2]):
        members = fit.coords[fit.labels[1] == cluster]  # type: ignore[index]
        low, high = members.min(0), members.max(0)
        assert np.all(placed.coords[item] >= low) and np.all(placed.coords[item] <= high)


def test_items_unlike_the_fit_are_outliers_and_call_for_a_refit() -> None:
    fit, directions = synthetic_fit()
    rng = np.random.default_rng(3)
    like = directions[rng.integers(0, 6, 40)] + rng.normal(scale=0.15, size=(40, 32))
    unlike = rng.normal(size=(40, 32))  # random directions: far from every centroid
    near = place_items(like, fit, noise_threshold=3.0)
    far = place_items(unlike, fit, noise_threshold=3.0)
    good = summarise(near.is_outlier[-1], refit_outlier_share=0.2)
    bad = summarise(far.is_outlier[-1], refit_outlier_share=0.2)
    assert good.outlier_share < 0.1 and not good.refit_suggested
    assert bad.outlier_share > 0.9 and bad.refit_suggested
    assert "refit suggested: outlier share" in bad.lines()[1]
    assert "> threshold 20%" in bad.lines()[1]
    kept = place_items(unlike, fit, noise_threshold=3.0, keep_noise=True)
    assert np.array_equal(kept.labels[-1] == -1, far.is_outlier[-1]) and (kept.nearest >= 0).all()


# -- on a real store ------------------------------------------------------------------------


def fitted_store(path: Path) -> sqlite3.Connection:
    """800 real vectors fitted (run "fit"), then 400 more items added with their vectors."""
    x, sections = debian_vectors()
    conn = make_store(path)  # items 1..800 with their vectors (model "test-model")
    cluster_store(conn, ClusterParams(restarts=3, layout="pca", check_runs=0), run_id="fit")
    with transaction(conn):
        conn.executemany(
            "INSERT INTO items(id, external_id, content, metadata, content_hash) VALUES (?,?,?,?,?)",
            [
                (i + 1, f"ext-{i}", f"item {i} about {sections[i]}", "{}", f"h{i}")
                for i in range(FITTED, len(x))
            ],
        )
        bump_items_version(conn)
    put_vectors(conn, "test-model", [f"h{i}" for i in range(FITTED, len(x))], x[FITTED:])
    return conn


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("assign") / "items.db"
    fitted_store(path).close()
    return path


@pytest.fixture
def conn(base_store: Path, tmp_path: Path):
    with store_copy(base_store, tmp_path) as connection:
        yield connection


def members_per_item(conn: sqlite3.Connection) -> dict[int, int]:
    rows = conn.execute(
        "SELECT item_id, COUNT(*) FROM memberships WHERE run_id = 'fit' GROUP BY item_id"
    )
    return {int(i): int(n) for i, n in rows}


def check_placed_once(conn: sqlite3.Connection, levels: int, fitted: int = FITTED) -> None:
    n = int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])
    assert members_per_item(conn) == {i: levels for i in range(1, n + 1)}
    assigned = read_assignments(conn, "fit")
    assert sorted(assigned["item_id"]) == list(range(fitted + 1, n + 1))
    assert len(read_layout(conn, "fit")) == n
    # sizes: every cluster's comment_count is its members now, old and new
    counted = conn.execute(
        "SELECT c.id, c.comment_count, COUNT(m.item_id) FROM clusters AS c"
        " LEFT JOIN memberships AS m ON m.cluster_id = c.id WHERE c.run_id = 'fit' GROUP BY c.id"
    ).fetchall()
    assert all(int(size) == int(members) for _, size, members in counted)
    check_clustering_current(conn, "fit")  # 03/04 take the clustering again


def test_assign_places_every_new_item_once_and_updates_sizes(conn) -> None:
    levels = int(conn.execute("SELECT MAX(level) FROM clusters").fetchone()[0])
    sizes_before = int(
        conn.execute("SELECT SUM(comment_count) FROM clusters WHERE level = 1").fetchone()[0]
    )
    result = assign_step.assign_store(
        conn, ClusterParams(), ContinuityParams(assign_batch_size=150), progress=False
    )
    assert result.placed_now == 400 and result.summary.placed == 400
    check_placed_once(conn, levels)
    sizes_after = conn.execute("SELECT SUM(comment_count) FROM clusters WHERE level = 1")
    assert int(sizes_after.fetchone()[0]) == sizes_before + 400
    # the new items are real items of the same corpus: they fit, no refit needed
    assert result.summary.outlier_share < 0.2 and not result.summary.refit_suggested
    # the reference columns show them like fitted items
    row = conn.execute(
        "SELECT COUNT(*) FROM items WHERE umap_x IS NULL OR embedding_cluster_l1 IS NULL"
    ).fetchone()
    assert int(row[0]) == 0
    # the export reads them like fitted items: a map position and a cluster at every level
    exported = load_export_data(conn).items.set_index("id").loc[FITTED + 1 :]
    assert len(exported) == 400
    assert exported[["x", "y", "cluster_id_l1", f"cluster_id_l{levels}"]].notna().all().all()
    again = assign_step.assign_store(conn, ClusterParams(), ContinuityParams(), progress=False)
    assert again.placed_now == 0 and again.summary.placed == 400


def test_a_kill_mid_batch_loses_nothing_and_a_rerun_finishes(conn, monkeypatch) -> None:
    """Killed inside the second batch, after its memberships were written: that batch
    rolls back whole, the first stays, and a re-run places the rest exactly once."""
    levels = int(conn.execute("SELECT MAX(level) FROM clusters").fetchone()[0])
    real = assignments.add_run_members
    calls = []

    def killed_in_second_batch(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(assignments, "add_run_members", killed_in_second_batch)
    with pytest.raises(KeyboardInterrupt):
        assign_step.assign_store(
            conn, ClusterParams(), ContinuityParams(assign_batch_size=150), progress=False
        )
    assert len(read_assignments(conn, "fit")) == 150  # the first batch whole, nothing else
    assert len(members_per_item(conn)) == FITTED + 150
    assert len(read_layout(conn, "fit")) == FITTED + 150
    monkeypatch.setattr(assignments, "add_run_members", real)
    result = assign_step.assign_store(
        conn, ClusterParams(), ContinuityParams(assign_batch_size=150), progress=False
    )
    assert result.placed_now == 250 and result.summary.placed == 400
    check_placed_once(conn, levels)
    assert sorted(set(read_assignments(conn, "fit")["batch"])) == [0, 1, 2]


def test_02_cluster_assigns_instead_of_refitting_when_asked(conn) -> None:
    """``continuity.assign_new_items``: notebook 02's call places the new items in the last
    clustering, and hands the notebook that clustering, new items included."""
    levels = int(conn.execute("SELECT MAX(level) FROM clusters").fetchone()[0])
    switch = ContinuityParams(assign_new_items=True)
    result = cluster_or_assign(conn, ClusterParams(), switch, run_id="second")
    assert result.run_id == "fit"
    assert conn.execute("SELECT 1 FROM clusters WHERE run_id = 'second'").fetchone() is None
    check_placed_once(conn, levels)
    assert result.hierarchy.labels.shape == (levels, FITTED + 400)
    assert (result.hierarchy.labels >= 0).all() and result.coords is not None
    sizes = result.clusters.groupby("level")["comment_count"].sum()
    assert sizes.tolist() == [FITTED + 400] * levels
    for figure in (plots.plot_map(result, level=1), plots.plot_outliers(result)):
        assert figure.axes
    assert len(plots.cluster_overview(result, level=1)) == len(result.hierarchy.parents[0])


@pytest.mark.slow
def test_the_02_notebook_assigns_when_asked(base_store: Path, tmp_path: Path, write_params) -> None:
    """The real notebook in the real chain: run 02 with the switch on places the 400 new
    items in run "fit", writes no clusters of its own, and records its figures."""
    with sqlite3.connect(base_store) as source, sqlite3.connect(tmp_path / "items.db") as target:
        source.backup(target)
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    shutil.copy(packaged("notebooks") / "02_cluster.ipynb", nbs)
    params = write_params(
        {
            "store": "items.db",
            "cluster": {"layout": "pca"},
            "continuity": {"assign_new_items": True},
            "notebooks": ["02_cluster"],
        }
    )
    result = run_chain(params, run_id="nb-assign", notebooks_dir=nbs)
    assert result.ok, [nb.error for nb in result.notebooks]
    with closing(open_store(tmp_path / "items.db")) as conn:
        levels = int(conn.execute("SELECT MAX(level) FROM clusters").fetchone()[0])
        check_placed_once(conn, levels)
        assert conn.execute("SELECT 1 FROM clusters WHERE run_id = 'nb-assign'").fetchone() is None
        detail = conn.execute(
            "SELECT detail FROM run_steps WHERE run_id = 'nb-assign' AND step = '02_cluster'"
        ).fetchone()[0]
    assert json.loads(detail)["items"] == FITTED + 400


def test_a_store_without_a_clustering_is_one_clear_error(tmp_path: Path) -> None:
    conn = make_store(tmp_path / "bare.db")
    with pytest.raises(StoreError, match="no clusters yet: run 02_cluster first"):
        assign_step.assign_store(conn, ClusterParams(), ContinuityParams(), progress=False)


# -- the command line, real model --------------------------------------------------------------


def demo_rows(start: int, stop: int) -> list[dict[str, str]]:
    with gzip.open(packaged("data") / "demo.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(stop), handle, strict=False)]
    return rows[start:stop]


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def thememap_cli(params: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(LIB), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "thememap.runner.cli", *args, str(params)],
        cwd=params.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_cli_loads_embeds_and_assigns_new_items(tmp_path: Path, write_params) -> None:
    from thememap.embed.base import make_embedder
    from thememap.embed.step import embed_store
    from thememap.ingest.load import load_items
    from thememap.params import load_params

    old = write_jsonl(tmp_path / "old.jsonl", demo_rows(0, 300))
    new = write_jsonl(tmp_path / "new.jsonl", demo_rows(300, 360))
    data = {
        "store": "items.db",
        "input": {"path": "old.jsonl", "text_field": "text", "id_field": "package"},
        "embed": {"backend": "local", "cache_dir": str(tmp_path / "model-cache")},
        "cluster": {"restarts": 2, "layout": "pca", "check_runs": 0},
    }
    params_file = write_params(data)
    params = load_params(params_file)

    missing = thememap_cli(params_file, "assign", "--input", "nowhere.jsonl")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "nowhere.jsonl" in missing.stderr

    conn = open_store(params.store_path)
    load_items(conn, params.input, path=old, progress=False)
    embed_store(conn, make_embedder(params.embed), params.input, progress=False)
    unfitted = thememap_cli(params_file, "assign", "--input", str(new))
    assert unfitted.returncode == 2 and "no clusters yet" in unfitted.stderr
    assert int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]) == 300  # untouched
    cluster_store(conn, params.cluster, run_id="fit")
    assign_themes(conn, "fit")
    add_edit(conn, "rename", theme="T1-0001", name="Renamed by a person")
    conn.close()

    done = thememap_cli(params_file, "assign", "-q", "--input", str(new))
    assert done.returncode == 0, done.stderr
    assert "placed now: 60" in done.stdout
    assert "placed: 60 new item(s)" in done.stdout
    assert "outlier share" in done.stdout
    conn = open_store(params.store_path)
    assert int(conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]) == 360  # not mirrored
    levels = int(conn.execute("SELECT MAX(level) FROM clusters").fetchone()[0])
    check_placed_once(conn, levels, fitted=300)
    # the edit is applied again: the renamed theme's size counts its new items
    edited = conn.execute(
        "SELECT name, edited, comment_count FROM edited_themes WHERE theme_id = 'T1-0001'"
    ).fetchone()
    size = conn.execute(
        "SELECT comment_count FROM clusters AS c JOIN cluster_themes AS t ON t.cluster_id = c.id"
        " WHERE t.theme_id = 'T1-0001' AND c.run_id = 'fit'"
    ).fetchone()
    assert tuple(edited) == ("Renamed by a person", 1, size[0])
    conn.close()
    assert yaml.safe_load(params_file.read_text())["input"]["path"] == "old.jsonl"


def test_fit_then_assign_then_refit_keeps_the_themes_and_reports_the_changes(conn) -> None:
    """Issue 13's acceptance on real vectors: fit on 800 items, add 400 with ``assign``
    (every one placed), refit all 1,200 with another seed: most level-1 themes (by items)
    keep their id, and the change table agrees with both runs' memberships."""
    assign_themes(conn, "fit")
    result = assign_step.assign_store(conn, ClusterParams(), ContinuityParams(), progress=False)
    assert result.summary.placed == 400
    check_placed_once(conn, int(conn.execute("SELECT MAX(level) FROM clusters").fetchone()[0]))
    cluster_store(
        conn, ClusterParams(restarts=3, layout="pca", check_runs=0, seed=7), run_id="refit"
    )
    assign_themes(conn, "refit")
    before = set(run_theme_ids(conn, "fit").values())
    members = read_memberships(conn, "refit").dropna(subset=["cluster_id"])
    level_1 = members[members["level"] == 1]
    theme = level_1["cluster_id"].astype(int).map(run_theme_ids(conn, "refit"))
    kept_by_items = float(theme.isin(before).mean())
    assert len(level_1) == 1_200 and kept_by_items >= 0.8, f"{kept_by_items:.0%} kept"
    changes = check_change_table(conn, "fit", "refit")
    assert changes.shared_items == 1_200
