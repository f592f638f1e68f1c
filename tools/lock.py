"""Compile requirements.lock from the pip list in environment.yml.

    .venv/bin/python tools/lock.py

Uses ``uv pip compile`` (pip-compile compatible output) for Python 3.11 on
Linux x86_64. Re-run after editing environment.yml; the environment test fails
until the lock agrees with the list again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from thememap.environment import direct_requirements  # noqa: E402


def main() -> int:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "requirements.in"
        spec.write_text("\n".join(direct_requirements(ROOT / "environment.yml")) + "\n")
        subprocess.run(
            [
                uv,
                "pip",
                "compile",
                str(spec),
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
        "# Compiled from environment.yml by tools/lock.py; do not edit by hand.\n"
        "# torch must never appear here (tests/test_environment.py checks).\n"
    )
    (ROOT / "requirements.lock").write_text(header + body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
