"""Committed notebooks: numbered, no outputs, one `parameters` cell with the runner's names."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_embed", "02_cluster", "03_describe", "04_export"]


def test_the_four_numbered_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count)
    ]
    assert dirty == [], f"{path.name}: clear the outputs of cells {dirty} before committing"
    assert nb.metadata["kernelspec"]["name"] == "thememap"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_with_the_runner_names(path: Path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell must be tagged 'parameters'"
    names = {
        t.id
        for node in ast.parse(tagged[0].source).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert names == {"params_file", "run_id"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_stay_short_logic_lives_in_lib(path: Path):
    nb = nbformat.read(path, as_version=4)
    long_cells = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and len(c.source.strip().splitlines()) > 20
    ]
    assert long_cells == [], f"{path.name}: cells {long_cells} are long: move the logic to lib/"
    assert all("def " not in c.source for c in nb.cells if c.cell_type == "code"), (
        f"{path.name}: functions belong in lib/, not in notebook cells"
    )
