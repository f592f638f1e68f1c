"""Compile requirements.lock from pyproject.toml (runtime dependencies and every extra).

    .venv/bin/python tools/lock.py      # or: make lock

Uses ``uv pip compile`` (pip-compile compatible output; ``pip install uv`` if
it is missing) for Python 3.11 on Linux x86_64. Re-run after editing the
dependencies; the environment test fails while a pin is outside its range.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    with tempfile.TemporaryDirectory() as tmp:
        # the project itself is installed from the checkout (-e .), never from the lock
        spec = Path(tmp) / "pyproject.toml"
        shutil.copyfile(ROOT / "pyproject.toml", spec)
        subprocess.run(
            [
                uv,
                "pip",
                "compile",
                str(spec),
                "--all-extras",
                "--python-version",
                "3.11",
                "--python-platform",
                "x86_64-unknown-linux-gnu",
                "--no-header",
                "--no-annotate",
                "-o",
                str(ROOT / "requirements.lock"),
            ],
            check=True,
        )
    body = (ROOT / "requirements.lock").read_text()
    header = (
        "# Compiled from pyproject.toml (all extras) by tools/lock.py; do not edit by hand.\n"
        "# torch must never appear here (tests/test_environment.py checks).\n"
    )
    (ROOT / "requirements.lock").write_text(header + body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
