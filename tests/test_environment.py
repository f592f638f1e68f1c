"""The one dependency list (pyproject.toml, ranges and extras) and the pip lock agree."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement

from thememap.environment import declared_requirements, lock_pins, requirement_name


def test_every_declared_dependency_is_locked_inside_its_range(project_root: Path):
    locked = lock_pins(project_root / "requirements.lock")
    problems = {}
    for extra, requirements in declared_requirements(project_root / "pyproject.toml").items():
        for line in requirements:
            req = Requirement(line)
            name = requirement_name(line)
            assert str(req.specifier), f"{line!r} ({extra or 'runtime'}): give a version range"
            if name not in locked or locked[name] not in req.specifier:
                problems[name] = (str(req.specifier), locked.get(name))
    assert not problems, f"pyproject.toml and requirements.lock disagree (make lock): {problems}"


def test_extras_and_python_range(project_root: Path):
    import tomllib

    project = tomllib.loads((project_root / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    declared = declared_requirements(project_root / "pyproject.toml")
    assert set(declared) == {"", "lab", "llm", "dev", "bench", "dask"}
    runtime = {requirement_name(r) for r in declared[""]}
    # what only notebooks, LLM cards, tests or benchmarks need stays out of the default install
    optional = {"jupyterlab", "instructor", "pytest", "playwright", "ruff", "mypy", "hdbscan"}
    assert not runtime & optional, runtime & optional
    assert {"jupyterlab"} <= {requirement_name(r) for r in declared["lab"]}
    assert {"instructor"} <= {requirement_name(r) for r in declared["llm"]}
    assert {"hdbscan", "evoc"} <= {requirement_name(r) for r in declared["bench"]}
    assert {"pytest", "ruff", "mypy"} <= {requirement_name(r) for r in declared["dev"]}


def test_no_torch_in_the_install(project_root: Path):
    locked = lock_pins(project_root / "requirements.lock")
    heavy = {"torch", "sentence-transformers", "tensorflow", "jax"} & set(locked)
    assert not heavy, f"heavy ML frameworks slipped into the install: {heavy}"


def test_user_named_packages_are_all_there(project_root: Path):
    declared = {
        requirement_name(r)
        for reqs in declared_requirements(project_root / "pyproject.toml").values()
        for r in reqs
    }
    named = [
        "jupyterlab", "papermill", "openai", "instructor", "hdbscan", "umap-learn",
        "scikit-learn", "numpy", "pandas", "matplotlib", "pydantic",
    ]  # fmt: skip
    assert [n for n in named if n not in declared] == []
