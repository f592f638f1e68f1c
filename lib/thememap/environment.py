"""Read the project's one dependency list (pyproject.toml) and its pip lock.

Used by ``tools/lock.py`` to compile ``requirements.lock`` and by the tests that
keep the two in step: every direct dependency (and every extra's) must be locked
at a version inside its range.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical_name(name: str) -> str:
    """Normalise a distribution name as PEP 503 does (case, ``-``/``_``/``.``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements(pyproject: Path) -> dict[str, list[str]]:
    """Requirement strings of pyproject.toml: ``""`` -> the runtime ones, else per extra."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared = {"": list(project.get("dependencies", []))}
    declared.update(project.get("optional-dependencies", {}))
    return declared


def requirement_name(requirement: str) -> str:
    """The canonical distribution name of a requirement string."""
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return canonical_name(match.group(1))


def parse_pins(lines: list[str]) -> dict[str, str]:
    """Map canonical name -> pinned version for every ``name==version`` line."""
    pins: dict[str, str] = {}
    for line in lines:
        match = _PIN.match(line)
        if match:
            pins[canonical_name(match.group(1))] = match.group(2)
    return pins


def lock_pins(lock_file: Path) -> dict[str, str]:
    """Pins of a pip-compile style lock file."""
    return parse_pins(lock_file.read_text(encoding="utf-8").splitlines())
