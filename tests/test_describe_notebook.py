"""The 03_describe notebook, executed for real by the papermill runner on a real store."""

from __future__ import annotations

import json
import shutil
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from describe_fixture import corpus, store_with_clusters

from thememap.describe.hierarchy import ClusterTree
from thememap.embed.base import make_embedder
from thememap.embed.params import EmbedParams
from thememap.runner.run import run_chain
from thememap.store import open_store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = {
    "games": "computer games: chess, arcade shooters, board games",
    "science": "science software: astronomy, telescopes, chemistry, molecules",
    "mail": "e-mail software: mail clients, mail servers, spam filters",
}


def test_03_describe_notebook_runs_offline_and_records_its_figures(
    tmp_path: Path, write_params
) -> None:
    texts, labels = corpus(items_per_leaf=10)
    vectors = make_embedder(EmbedParams()).embed(texts)  # the model the notebook uses
    h = ClusterTree.from_labels(np.arange(100, 100 + len(texts)), vectors, texts, labels)
    store_with_clusters(tmp_path / "items.db", h, texts)
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    shutil.copy(ROOT / "notebooks" / "03_describe.ipynb", nbs)
    params = write_params(
        {
            "store": "items.db",
            "describe": {"categories": CATEGORIES, "context": "software package descriptions"},
            "notebooks": ["03_describe"],
        }
    )
    result = run_chain(params, run_id="nb-test", notebooks_dir=nbs)
    assert result.ok, [nb.error for nb in result.notebooks]
    html = (tmp_path / "reports" / "nb-test" / "03_describe.html").read_text()
    assert html.count('class="tm-cards"') >= 2 and html.count("<img") >= 2
    assert "calls to make" in html  # the cost plan is shown, even offline
    with closing(open_store(tmp_path / "items.db")) as conn:
        detail = json.loads(
            conn.execute(
                "SELECT detail FROM run_steps WHERE run_id = 'nb-test' AND step = '03_describe'"
            ).fetchone()[0]
        )
        assert detail["source"] == "offline" and detail["clusters_per_level"] == [3, 6]
        assert detail["retrieval_top1"]["offline"]["1"] == 1.0
        assert detail["planned_calls"] == 9 and detail["llm_requests"] == 0
        categories = {r[0] for r in conn.execute("SELECT llm_category FROM clusters WHERE level=1")}
        assert categories == set(CATEGORIES)
