"""The papermill runner on small real notebooks: order, report folder, failure message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import nbformat
import pytest

from thememap.errors import NotebookError, ParamsError
from thememap.runner.run import discover_notebooks, run_chain

pytestmark = pytest.mark.slow


def _notebook(path: Path, *cells: str) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_file = ""\nrun_id = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "thememap", "language": "python", "display_name": "tm"}
    nbformat.write(nb, path)


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "nbs"
    folder.mkdir()
    _notebook(
        folder / "01_first.ipynb",
        "import pathlib\nprint('first', pathlib.Path(params_file).name, run_id)",
    )
    _notebook(folder / "02_second.ipynb", "x = 1", "raise ValueError('boom <b>')")
    _notebook(folder / "03_never.ipynb", "print('never')")
    (folder / "scratch.ipynb").write_text("{}")  # not numbered: ignored
    return folder


def test_discovery_orders_numbered_notebooks_only(notebooks: Path):
    assert [p.name for p in discover_notebooks(notebooks)] == [
        "01_first.ipynb",
        "02_second.ipynb",
        "03_never.ipynb",
    ]
    with pytest.raises(ParamsError, match="unknown notebook"):
        discover_notebooks(notebooks, ["04_nope"])


def test_chain_stops_at_first_failure_naming_notebook_and_cell(notebooks, write_params, tmp_path):
    params = write_params({"store": "s.db"})
    with pytest.raises(NotebookError) as err:
        run_chain(params, run_id="t1", notebooks_dir=notebooks)
    message = str(err.value)
    assert "02_second.ipynb, cell 3 (raise ValueError('boom <b>')): ValueError: boom <b>" in message
    run_dir = tmp_path / "reports" / "t1"
    assert (run_dir / "01_first.html").exists() and (run_dir / "02_second.html").exists()
    assert not (run_dir / "03_never.ipynb").exists()
    executed = nbformat.read(run_dir / "01_first.ipynb", as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "first params.yaml t1" in outputs
    index = (run_dir / "index.html").read_text()
    assert "failed" in index and "boom &lt;b&gt;" in index  # escaped
    status = sqlite3.connect(tmp_path / "s.db").execute("SELECT status FROM runs").fetchone()[0]
    assert status == "failed"


def test_html_reports_open_offline_and_hide_code_by_default(notebooks, write_params, tmp_path):
    params = write_params({"store": "s.db", "notebooks": ["01_first"]})
    result = run_chain(params, run_id="t2", notebooks_dir=notebooks)
    assert result.ok and [nb.name for nb in result.notebooks] == ["01_first"]
    html = (tmp_path / "reports" / "t2" / "01_first.html").read_text()
    assert '<script src="http' not in html and "cdnjs" not in html
    assert "print(&#39;first&#39;" not in html and "print('first'" not in html  # code hidden
    shown = write_params(
        {"store": "s.db", "notebooks": ["01_first"], "report": {"show_code": True}}
    )
    run_chain(shown, run_id="t3", notebooks_dir=notebooks)
    assert "first" in (tmp_path / "reports" / "t3" / "01_first.html").read_text()


def test_bad_params_stop_before_any_notebook_runs(notebooks, write_params, tmp_path):
    params = write_params({"store": "s.db", "embed": {"batch_size": -1}})
    with pytest.raises(ParamsError, match=r"embed\.batch_size"):
        run_chain(params, run_id="t4", notebooks_dir=notebooks)
    assert not (tmp_path / "reports").exists()


def test_a_user_error_in_a_notebook_is_one_line_not_a_traceback(write_params, tmp_path):
    folder = tmp_path / "user_error"
    folder.mkdir()
    _notebook(
        folder / "01_bad_input.ipynb",
        "from thememap.runner.notebook import start_step\n"
        "step = start_step('01', params_file, run_id)",
        "from thememap.errors import InputError\nraise InputError('items.csv:3: empty text')",
    )
    params = write_params({"store": "s.db"})
    with pytest.raises(NotebookError, match=r"cell 3 .*InputError: items.csv:3: empty text"):
        run_chain(params, run_id="t5", notebooks_dir=folder)
    executed = nbformat.read(tmp_path / "reports" / "t5" / "01_bad_input.ipynb", as_version=4)
    shown = [o for o in executed.cells[-1].outputs]
    assert [o.output_type for o in shown] == ["stream"]
    assert shown[0].text.strip() == "InputError: items.csv:3: empty text"
