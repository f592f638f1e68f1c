"""The one dependency list (environment.yml) and the pip lock never drift apart."""

from __future__ import annotations

from pathlib import Path

from thememap.environment import canonical_name, direct_requirements, lock_pins, parse_pins


def test_every_direct_dependency_is_pinned_and_locked_at_that_version(project_root: Path):
    direct = direct_requirements(project_root / "environment.yml")
    pins = parse_pins(direct)
    assert len(pins) == len(direct), "every pip entry in environment.yml must be pinned with =="
    locked = lock_pins(project_root / "requirements.lock")
    drift = {name: (v, locked.get(name)) for name, v in pins.items() if locked.get(name) != v}
    assert not drift, f"environment.yml and requirements.lock disagree (run make lock): {drift}"


def test_no_torch_in_the_default_install(project_root: Path):
    locked = lock_pins(project_root / "requirements.lock")
    heavy = {"torch", "sentence-transformers", "tensorflow", "jax"} & set(locked)
    assert not heavy, f"heavy ML frameworks slipped into the default install: {heavy}"


def test_user_named_packages_are_all_there(project_root: Path):
    pins = parse_pins(direct_requirements(project_root / "environment.yml"))
    named = [
        "jupyterlab",
        "papermill",
        "openai",
        "instructor",
        "hdbscan",
        "umap-learn",
        "scikit-learn",
        "numpy",
        "pandas",
        "matplotlib",
        "pydantic",
    ]
    assert [n for n in named if canonical_name(n) not in pins] == []
