"""The params file: one YAML per run, validated before anything runs.

Every notebook reads the same validated :class:`Params`, so a run behaves the
same from a terminal, papermill, JupyterLab or :func:`thememap.fit`. A params
file works from anywhere:

* a relative path written in the file (``store``, ``input.path``, ``report.dir``,
  ``export.out_dir``, ``embed.cache_dir``) is relative to **the params file's folder**;
* a path the file leaves out takes its default inside **the project folder**: the folder
  above the params file's folder when that one is called ``params`` (the layout
  ``thememap init`` writes), else the params file's own folder;
* the notebooks are the project folder's ``notebooks/`` when it has numbered ones,
  else those shipped inside the package.

Each section's model lives with its step (``thememap.ingest.params`` for ``input``,
``thememap.embed.params``, ``thememap.cluster.params``, ...); this module composes them.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.params import ClusterParams
from thememap.describe.params import DescribeParams
from thememap.embed.params import EmbedParams
from thememap.engine.params import EngineParams
from thememap.errors import ParamsError
from thememap.export.params import ExportParams
from thememap.ingest.params import InputParams
from thememap.params_base import StrictModel, mask_secrets


class ReportParams(StrictModel):
    """Where run reports go and how they look."""

    dir: Path = Path("reports")
    show_code: bool = Field(False, description="show code cells in the HTML reports")


class Params(StrictModel):
    """A whole run's params (one YAML file)."""

    store: Path = Field(Path("data/items.db"), description="the SQLite store")
    input: InputParams = Field(default_factory=InputParams)
    embed: EmbedParams = Field(default_factory=EmbedParams)
    cluster: ClusterParams = Field(default_factory=ClusterParams)
    continuity: ContinuityParams = Field(default_factory=ContinuityParams)
    describe: DescribeParams = Field(default_factory=DescribeParams)
    export: ExportParams = Field(default_factory=ExportParams)
    report: ReportParams = Field(default_factory=ReportParams)
    engine: EngineParams = Field(default_factory=EngineParams)
    notebooks: list[str] | None = Field(
        None, description="run only these notebooks (stems like '01_embed'); all when empty"
    )
    root: Path = Field(Path("."), description="project folder; set by load_params")

    def resolve(self, path: Path | str) -> Path:
        """An absolute path for a path from the params (a default: inside the project folder)."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else _absolute(self.root / candidate)

    @property
    def notebooks_dir(self) -> Path:
        """The project folder's ``notebooks/`` when it has numbered notebooks, else the package's."""
        own = self.root / "notebooks"
        if any(own.glob("[0-9][0-9]_*.ipynb")):
            return _absolute(own)
        return packaged("notebooks")

    def public_dump(self) -> dict[str, Any]:
        """The params as JSON-able data with URL credentials masked (for runs and reports)."""
        dumped: dict[str, Any] = mask_secrets(self.model_dump(mode="json"))
        return dumped

    @property
    def store_path(self) -> Path:
        """Absolute path of the SQLite store."""
        return self.resolve(self.store)


# keys whose values are paths: relative ones are taken relative to the params file
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("store",),
    ("input", "path"),
    ("embed", "cache_dir"),
    ("report", "dir"),
    ("export", "out_dir"),
    ("continuity", "edits_file"),
)


def _absolute(path: Path) -> Path:
    """``path`` made absolute and normalised *without* following symlinks."""
    return Path(os.path.abspath(path))


def packaged(name: str) -> Path:
    """A folder of the project template shipped in the package: notebooks, params or data."""
    return Path(str(resources.files("thememap").joinpath("project", name)))


def project_root(params_file: Path) -> Path:
    """The project folder of ``params_file`` (see the module docstring)."""
    folder = _absolute(params_file).parent
    return folder.parent if folder.name == "params" else folder


def _anchor_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` with the relative paths it sets made absolute against ``base``."""
    out = dict(data)
    for keys in PATH_KEYS:
        holder: Any = out
        for key in keys[:-1]:
            if not isinstance(holder.get(key), dict):
                break
            section = dict(holder[key])
            holder[key] = section
            holder = section
        else:
            value = holder.get(keys[-1]) if isinstance(holder, dict) else None
            if isinstance(value, str | Path) and str(value).strip():
                candidate = Path(value).expanduser()
                if not candidate.is_absolute():
                    holder[keys[-1]] = str(_absolute(base / candidate))
    return out


def _format_validation_error(source: str, err: ValidationError) -> str:
    lines = []
    for problem in err.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key")
        elif "key" in key:  # never echo what may be a secret
            lines.append(f"{key}: {problem['msg']}")
        else:
            lines.append(f"{key}: {problem['msg']} (got {problem.get('input')!r})")
    return f"{source}: invalid params:\n  " + "\n  ".join(lines)


def params_from_dict(data: dict[str, Any], *, source: str, root: Path) -> Params:
    """Validate a params mapping; errors name ``source`` and the key at fault."""
    if not isinstance(data, dict):
        raise ParamsError(f"{source}: expected a mapping of keys at the top level")
    if "root" in data:
        raise ParamsError(f"{source}: root: is set by thememap, not in the params file")
    try:
        return Params.model_validate({**data, "root": root})
    except ValidationError as err:
        raise ParamsError(_format_validation_error(source, err)) from None


def load_params(path: Path | str, overrides: dict[str, Any] | None = None) -> Params:
    """Read and validate a params YAML; ``overrides`` (nested dict) win over the file."""
    path = _absolute(Path(path).expanduser())
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    if overrides:
        data = _deep_merge(data, overrides)
    if isinstance(data, dict):
        data = _anchor_paths(data, path.parent)
    return params_from_dict(data, source=str(path), root=project_root(path))


def _deep_merge(base: Any, extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
