"""Params validation: unknown keys and bad values are rejected, naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from thememap.errors import ParamsError
from thememap.params import load_params


def test_defaults_and_relative_paths_resolve_against_the_project_root(write_params, tmp_path):
    params = load_params(write_params({"store": "data/x.db"}))
    assert params.store_path == (tmp_path / "data" / "x.db").resolve()
    assert params.embed.backend == "local"
    assert params.cluster.levels == 3


def test_a_params_file_works_from_anywhere(tmp_path: Path, monkeypatch):
    """Written paths are relative to the params file; defaults go to the project folder."""
    project = tmp_path / "elsewhere" / "proj"
    (project / "params").mkdir(parents=True)
    file = project / "params" / "mine.yaml"
    file.write_text("input:\n  path: ../in/items.csv\nexport:\n  out_dir: out\n")
    monkeypatch.chdir(tmp_path)  # the working folder plays no part
    params = load_params(file.relative_to(tmp_path))
    assert params.root == project
    assert params.resolve(params.input.path) == project / "in" / "items.csv"
    assert params.resolve(params.export.out_dir) == project / "params" / "out"
    assert params.store_path == project / "data" / "items.db"  # a default: project folder
    assert params.notebooks_dir.name == "notebooks"  # none in the project: the package's
    assert sorted(p.name for p in params.notebooks_dir.glob("0*.ipynb"))[0] == "01_embed.ipynb"


def test_unknown_key_is_named_with_its_path(write_params):
    path = write_params({"embed": {"batchsize": 10}})
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert str(path) in str(err.value)
    assert "embed.batchsize: unknown key" in str(err.value)


def test_bad_value_is_named_with_the_value(write_params):
    with pytest.raises(ParamsError, match=r"embed\.batch_size: .*greater than 0.*got 0"):
        load_params(write_params({"embed": {"batch_size": 0}}))


def test_unknown_backend_lists_the_valid_ones(write_params):
    with pytest.raises(ParamsError, match=r"embed\.backend: .*'local' or 'openai'"):
        load_params(write_params({"embed": {"backend": "bert"}}))


def test_api_key_pasted_instead_of_variable_name_is_refused(write_params):
    with pytest.raises(ParamsError, match="NAME of an environment variable") as err:
        load_params(write_params({"embed": {"api_key_env": "sk-abc123secret"}}))
    assert "abc123secret" not in str(err.value)  # never echo a secret back


def test_missing_file_and_broken_yaml(tmp_path: Path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("embed: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)


def test_shipped_params_files_are_valid(project_root: Path):
    for path in sorted((project_root / "params").glob("*.yaml")):
        load_params(path)  # raises on any problem


def test_overrides_win(write_params):
    params = load_params(write_params({"embed": {"batch_size": 8}}), {"embed": {"batch_size": 4}})
    assert params.embed.batch_size == 4


def test_default_yaml_documents_every_key_with_its_real_default(project_root: Path):
    import yaml

    from thememap.params import Params

    path = project_root / "params" / "default.yaml"
    written = yaml.safe_load(path.read_text())
    defaults = Params().model_dump(mode="json", exclude={"root"})
    for section, value in defaults.items():
        assert section in written, f"default.yaml lacks the section {section!r}"
        if isinstance(value, dict):
            missing = set(value) - set(written[section] or {})
            assert not missing, f"default.yaml lacks {section}.{sorted(missing)}"
    params = load_params(path)
    # paths are written relative to the params file and land where the defaults do
    reference = Params(root=params.root)
    assert params.store_path == reference.store_path
    assert params.resolve(params.report.dir) == reference.resolve(reference.report.dir)
    assert params.resolve(params.export.out_dir) == reference.resolve(reference.export.out_dir)
    paths = {"store": None, "report": {"dir"}, "export": {"out_dir"}}
    loaded = params.model_dump(mode="json", exclude={"root", *paths})
    defaults = {k: v for k, v in defaults.items() if k not in paths}
    assert loaded == defaults, "default.yaml must show the real defaults"
    for section in ("report", "export"):
        rest = {k: v for k, v in getattr(params, section).model_dump(mode="json").items()}
        expected = getattr(reference, section).model_dump(mode="json")
        for key in paths[section] or ():
            rest.pop(key), expected.pop(key)
        assert rest == expected, f"default.yaml must show the real {section} defaults"
