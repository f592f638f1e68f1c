"""thememap as a library: fit in memory, the same result as the notebook chain, init + run.

Real parts throughout: the local model, the real clustering, the real notebooks.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from thememap.params import packaged

pytestmark = pytest.mark.slow

DEMO = packaged("data") / "demo.jsonl.gz"


def demo_rows(n: int) -> list[dict]:
    with gzip.open(DEMO, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for _, line in zip(range(n), handle, strict=False)]


def partition(ids: pd.Series, clusters: pd.Series) -> set[frozenset[str]]:
    """A level's clusters as sets of the users' item ids (cluster numbering plays no part)."""
    groups: dict[int, set[str]] = {}
    for item_id, cluster in zip(ids, clusters, strict=True):
        groups.setdefault(int(cluster), set()).add(str(item_id))
    return {frozenset(g) for g in groups.values()}


def test_fit_gives_the_same_clusters_and_cards_as_the_notebook_chain(tmp_path: Path) -> None:
    import thememap
    from thememap.runner.run import run_chain
    from thememap.store import open_store
    from thememap.store.cards import read_effective_cards
    from thememap.store.clusters import latest_cluster_run, read_memberships

    rows = demo_rows(300)
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    settings = {
        "input": {"path": "items.jsonl", "text_field": "text", "id_field": "package",
                  "title_field": "title"},
        "cluster": {"check_runs": 0},
        "store": "store.db",
        "notebooks": ["01_embed", "02_cluster", "03_describe"],
    }  # fmt: skip
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(settings), encoding="utf-8")

    run_chain(params_file, run_id="chain")
    fitted = thememap.fit(source, params=params_file, progress=False)

    conn = open_store(tmp_path / "store.db")
    run = latest_cluster_run(conn)
    assert run is not None
    members = read_memberships(conn, run)
    external = dict(conn.execute("SELECT id, external_id FROM items").fetchall())
    chain_cards = read_effective_cards(conn, run, "offline")
    conn.close()

    items = fitted.items
    for level in (1, 2, 3):
        at = members[members["level"] == level]
        chain = partition(at["item_id"].map(external), at["cluster_id"])
        assert partition(items["id"], items[f"cluster_l{level}"]) == chain, f"level {level}"

    # the cards: the same name and summary for the cluster with the same members
    chain_by_members = {}
    for card in chain_cards.itertuples():
        ids = members[members["cluster_id"] == card.cluster_id]["item_id"].map(external)
        chain_by_members[frozenset(ids)] = (card.pattern_name, card.summary, card.category)
    fit_by_members = {}
    for cluster in fitted.clusters.itertuples():
        level_column = items[f"cluster_l{cluster.level}"]
        ids = items["id"][level_column == cluster.id]
        fit_by_members[frozenset(ids)] = (cluster.pattern_name, cluster.summary, cluster.category)
    assert fit_by_members == chain_by_members


def test_fit_on_a_list_of_strings_and_the_steps_alone() -> None:
    import thememap
    from thememap.cluster.estimator import ThemeHierarchy

    texts = [r["title"] + ". " + r["text"] for r in demo_rows(120)]
    fitted = thememap.fit(texts, params={"cluster": {"check_runs": 0}}, progress=False)
    assert fitted.items["id"].tolist() == [str(i) for i in range(120)]
    assert fitted.coords is not None and np.isfinite(fitted.coords).all()
    html = fitted.map()._repr_html_()
    assert "<iframe" in html and "plotly" in html.lower()
    # the cluster step alone, scikit-learn style, on the fitted vectors
    model = ThemeHierarchy().fit(fitted.vectors)
    assert model.labels_.shape == (3, 120) and model.get_params()["params"].levels == 3


def test_init_then_run_the_demo_anywhere(tmp_path: Path) -> None:
    project = tmp_path / "somewhere" / "my project"
    cli = [sys.executable, "-m", "thememap.runner.cli"]
    subprocess.run([*cli, "init", str(project)], check=True, cwd=tmp_path)
    assert sorted(p.name for p in (project / "notebooks").glob("*.ipynb"))[0] == "01_embed.ipynb"
    params = project / "params" / "demo.yaml"
    # a smaller demo keeps the test short: the first 400 items of the shipped corpus
    small = project / "data" / "small.jsonl"
    small.write_text("".join(json.dumps(r) + "\n" for r in demo_rows(400)), encoding="utf-8")
    text = params.read_text().replace("../data/demo.jsonl.gz", "../data/small.jsonl")
    params.write_text(text + "\ncluster:\n  check_runs: 0\n  eval_label_field: section\n")
    done = subprocess.run(
        [*cli, "run", str(params), "--run-name", "first", "-q"],
        cwd="/",  # the working folder plays no part
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = project / "reports" / "first"
    assert (report / "index.html").is_file() and (report / "04_export.html").is_file()
    assert (project / "data" / "items.db").is_file()
    exported = json.loads((project / "exports" / "items.json").read_text())
    assert {item["external_id"] for item in exported} == {r["package"] for r in demo_rows(400)}


FRESH_SNIPPET = """
import gzip, json, numpy as np, pandas as pd, thememap
from thememap.params import packaged
with gzip.open(packaged("data") / "demo.jsonl.gz", "rt") as f:
    rows = [json.loads(line) for _, line in zip(range(500), f)]
df = pd.DataFrame({"ticket": [r["package"] for r in rows], "body": [r["text"] for r in rows]})
themes = thememap.fit(df, text="body", id="ticket", progress=False)
items, clusters = themes.items, themes.clusters
assert len(items) == 500 and items["id"].tolist() == df["ticket"].tolist()
parent = dict(zip(clusters["id"], clusters["parent_id"]))
for level in (1, 2, 3):
    assert items[f"cluster_l{level}"].notna().all(), level
for l1, l2, l3 in zip(items["cluster_l1"], items["cluster_l2"], items["cluster_l3"]):
    assert parent[l3] == l2 and parent[l2] == l1
assert clusters["pattern_name"].str.len().gt(0).all() and len(themes.cards) >= len(clusters)
assert themes.coords.shape == (500, 2) and np.isfinite(themes.coords).all()
print("FIT-OK", clusters.groupby("level").size().to_dict())
"""


def test_pip_install_in_a_fresh_venv_then_fit_a_dataframe(tmp_path: Path, project_root: Path):
    """``pip install <checkout>`` outside the repo; the lock as constraints keeps pip on the
    versions its cache already holds (no network needed once they are cached)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c",
         str(project_root / "requirements.lock"), str(project_root)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "thememap" in names and not names & {"torch", "pytest", "jupyterlab", "hdbscan"}
    ran = subprocess.run(
        [str(python), "-c", FRESH_SNIPPET],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "FIT-OK" in ran.stdout
