"""The runs table: params, package versions and step timings of every run."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from thememap.store.connection import transaction

log = logging.getLogger(__name__)

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
    conn: sqlite3.Connection,
    run_id: str,
    params: dict[str, Any],
    params_file: str | None,
    *,
    owner: bool = False,
) -> None:
    """Record (or re-open) a run with its params and package versions.

    ``owner=True`` (the runner, or a notebook run by hand) records this process
    as the run's owner; runs whose owner died without finishing are marked
    failed first (see :func:`fail_abandoned_runs`).
    """
    if owner:
        fail_abandoned_runs(conn)
    pid, host = (os.getpid(), socket.gethostname()) if owner else (None, None)
    with transaction(conn):
        conn.execute(
            """
            INSERT INTO runs(id, params_file, params, versions, status, pid, host)
            VALUES (?, ?, ?, ?, 'running', ?, ?)
            ON CONFLICT(id) DO UPDATE SET status = 'running', finished_at = NULL,
                pid = COALESCE(excluded.pid, pid), host = COALESCE(excluded.host, host)
            """,
            (
                run_id,
                params_file,
                json.dumps(params, default=str),
                json.dumps(package_versions()),
                pid,
                host,
            ),
        )


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def fail_abandoned_runs(conn: sqlite3.Connection) -> list[str]:
    """Mark failed the runs still 'running' whose owner process on this host is gone (kill -9)."""
    rows = conn.execute(
        "SELECT id, pid FROM runs WHERE status = 'running' AND pid IS NOT NULL AND host = ?",
        (socket.gethostname(),),
    ).fetchall()
    dead = [str(row[0]) for row in rows if not pid_alive(int(row[1]))]
    if dead:
        with transaction(conn):
            conn.executemany(
                "UPDATE runs SET status = 'failed', finished_at = ? "
                "WHERE id = ? AND status = 'running'",
                [(now_iso(), run_id) for run_id in dead],
            )
        log.warning(
            "run(s) %s were left 'running' by a process that no longer exists; marked failed",
            ", ".join(dead),
        )
    return dead


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


def run_record(conn: sqlite3.Connection, run_id: str) -> dict[str, Any] | None:
    """A run's ``versions`` (JSON text), ``started_at``, ``finished_at``, ``status`` and
    ``params_file``; None when there is no such run."""
    row = conn.execute(
        "SELECT versions, started_at, finished_at, status, params_file FROM runs WHERE id = ?",
        (run_id,),
    ).fetchone()
    return None if row is None else dict(row)


def run_steps(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
    """The steps recorded for a run, in the order they started."""
    rows = conn.execute(
        "SELECT step, started_at, seconds, status, detail FROM run_steps WHERE run_id = ?"
        " ORDER BY started_at",
        (run_id,),
    )
    return [{**dict(row), "detail": json.loads(row["detail"] or "{}")} for row in rows]
