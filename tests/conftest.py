"""Shared fixtures: real SQLite stores and params files in tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture
def write_params(tmp_path: Path):
    """Write a params YAML into tmp_path (so relative paths resolve inside tmp_path)."""

    def write(data: dict[str, Any], name: str = "params.yaml") -> Path:
        (tmp_path / "pyproject.toml").touch()  # marks tmp_path as the project root
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write
