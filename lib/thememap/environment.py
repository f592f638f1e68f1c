"""Read the project's one dependency list (environment.yml) and its pip lock.

Used by ``tools/lock.py`` to compile ``requirements.lock`` and by the tests that
keep the two in step.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def canonical_name(name: str) -> str:
    """Normalise a distribution name as PEP 503 does (case, ``-``/``_``/``.``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_requirements(environment_yml: Path) -> list[str]:
    """The pip requirement lines of ``environment.yml`` (editable installs left out)."""
    spec = yaml.safe_load(environment_yml.read_text(encoding="utf-8"))
    lines: list[str] = []
    for dep in spec.get("dependencies", []):
        if isinstance(dep, dict) and "pip" in dep:
            lines.extend(str(x) for x in dep["pip"] if not str(x).startswith("-e"))
    return lines


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
