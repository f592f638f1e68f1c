"""The runs table: params, package versions and step timings of every run."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from thememap.store.connection import transaction

# Packages whose versions are recorded with every run (results depend on them).
RECORDED_PACKAGES = (
    "thememap",
    "numpy",
    "pandas",
    "scikit-learn",
    "umap-learn",
    "hdbscan",
    "pynndescent",
    "onnxruntime",
    "tokenizers",
    "openai",
    "instructor",
    "papermill",
    "nbconvert",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def now_iso() -> str:
    """UTC now as ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def start_run(
    conn: sqlite3.Connection, run_id: str, params: dict[str, Any], params_file: str | None
) -> None:
    """Record (or re-open) a run with its params and package versions."""
    with transaction(conn):
        conn.execute(
            """
            INSERT INTO runs(id, params_file, params, versions, status) VALUES (?, ?, ?, ?, 'running')
            ON CONFLICT(id) DO UPDATE SET status = 'running', finished_at = NULL
            """,
            (run_id, params_file, json.dumps(params, default=str), json.dumps(package_versions())),
        )


def record_step(
    conn: sqlite3.Connection,
    run_id: str,
    step: str,
    *,
    started_at: str,
    seconds: float,
    status: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one step's timing and outcome (a re-run of the step replaces it)."""
    with transaction(conn):
        conn.execute(
            "INSERT OR REPLACE INTO run_steps(run_id, step, started_at, seconds, status, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, step, started_at, seconds, status, json.dumps(detail or {}, default=str)),
        )


def finish_run(conn: sqlite3.Connection, run_id: str, status: str) -> None:
    """Mark a run finished ('ok' or 'failed')."""
    with transaction(conn):
        conn.execute(
            "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, now_iso(), run_id)
        )


def run_steps(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """The steps recorded for a run, in the order they started."""
    rows = conn.execute(
        "SELECT step, started_at, seconds, status, detail FROM run_steps WHERE run_id = ?"
        " ORDER BY started_at",
        (run_id,),
    )
    return [{**dict(row), "detail": json.loads(row["detail"] or "{}")} for row in rows]
