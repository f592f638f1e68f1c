"""The 02_cluster notebook, executed for real by the papermill runner on a real store."""

from __future__ import annotations

import json
import shutil
from contextlib import closing
from pathlib import Path

import pytest
from test_cluster_store import N, make_store

from thememap.runner.run import run_chain
from thememap.store import open_store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_02_cluster_notebook_runs_and_records_its_figures(tmp_path: Path, write_params) -> None:
    make_store(tmp_path / "items.db").close()
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    shutil.copy(ROOT / "notebooks" / "02_cluster.ipynb", nbs)
    params = write_params(
        {
            "store": "items.db",
            "cluster": {"layout": "pca", "eval_label_field": "section"},
            "notebooks": ["02_cluster"],
        }
    )
    result = run_chain(params, run_id="nb-test", notebooks_dir=nbs)
    assert result.ok, [nb.error for nb in result.notebooks]
    html = (tmp_path / "reports" / "nb-test" / "02_cluster.html").read_text()
    assert html.count("<img") >= 4  # map, sizes, icicle, outliers
    with closing(open_store(tmp_path / "items.db")) as conn:
        detail = json.loads(
            conn.execute(
                "SELECT detail FROM run_steps WHERE run_id = 'nb-test' AND step = '02_cluster'"
            ).fetchone()[0]
        )
        assert detail["items"] == N
        assert len(detail["clusters_per_level"]) == 3
        assert detail["unplaced_share"] == [0.0, 0.0, 0.0]
        assert set(detail["quality"]) == {"1", "2", "3"}
        assert (
            conn.execute("SELECT COUNT(*) FROM memberships WHERE run_id='nb-test'").fetchone()[0]
            == 3 * N
        )
