"""What every numbered notebook does first and last: params, store, logging, timing.

A notebook's first code cell after the ``parameters`` cell is::

    step = start_step("02_cluster", params_file, run_id)
    params, conn = step.params, step.conn

and its last is ``step.done(clusters=..., ...)``, which records the step's
timing and headline figures in the store's ``run_steps`` table (the run report
reads them from there).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from thememap.errors import ThememapError
from thememap.ingest.load import check_input_file
from thememap.notebook_display import Note, install_formatters
from thememap.params import Params, load_params
from thememap.params_base import mask_url_credentials
from thememap.runner.stages import EMBED, check_stage_inputs
from thememap.store import open_store
from thememap.store.lock import HELD_ENV, StoreLock, acquire_store_lock
from thememap.store.runs import now_iso, record_step, start_run


def configure_logging(level: int = logging.INFO) -> None:
    """Send thememap's log records to stderr (shown under the cell) once per process."""
    logger = logging.getLogger("thememap")
    if not any(getattr(h, "_thememap", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler._thememap = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
    # libraries may configure the root logger too; one copy of each record is enough
    logger.propagate = False


def _configure_ipython() -> None:
    """In IPython: figures inline (also those made without pyplot), user errors as one line."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is always there under Jupyter
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(
        shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
    ) -> None:
        print(f"{etype.__name__}: {mask_url_credentials(str(value))}", file=sys.stderr)

    shell.set_custom_exc((ThememapError,), handler)
    # empty tables as one-line notes, not "Empty DataFrame" (thememap.notebook_display)
    install_formatters(shell)
    # matplotlib Figures returned by lib/ functions render as PNG, in JupyterLab and in reports
    shell.run_line_magic("matplotlib", "inline")


@dataclass
class Step:
    """One notebook's step within a run: validated params, an open store, a timer."""

    name: str
    params: Params
    conn: sqlite3.Connection
    run_id: str
    lock: StoreLock | None = None
    started_at: str = field(default_factory=now_iso)
    _t0: float = field(default_factory=time.perf_counter)

    @property
    def seconds(self) -> float:
        """Seconds since the step started."""
        return time.perf_counter() - self._t0

    def done(self, **detail: Any) -> None:
        """Record the step as finished with its headline figures (JSON-able values)."""
        record_step(
            self.conn,
            self.run_id,
            self.name,
            started_at=self.started_at,
            seconds=self.seconds,
            status="ok",
            detail=detail,
        )
        logging.getLogger("thememap").info("%s done in %.1f s", self.name, self.seconds)
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def start_step(name: str, params_file: str, run_id: str = "") -> Step:
    """Validate the params, open the store and record the step's start.

    ``run_id`` comes from the runner; a notebook run by hand in JupyterLab gets
    an ``interactive-<time>`` run of its own.
    """
    configure_logging()
    _configure_ipython()
    params = load_params(params_file)
    run_id = run_id or "interactive-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if name.startswith("01_") and params.input.path is not None:
        # before the store is opened: a missing input must not leave an empty store behind
        check_input_file(params.resolve(params.input.path))
    if name == EMBED:  # no input and an empty store: an error, not a step "done" with 0 items
        check_stage_inputs(params, [EMBED])
    lock = None
    if os.environ.get(HELD_ENV) != str(params.store_path.resolve()):
        # run by hand: this step locks the store until step.done() (or the kernel ends)
        lock = acquire_store_lock(params.store_path, run_id=run_id)
    conn = open_store(params.store_path)
    start_run(conn, run_id, params.public_dump(), str(params_file))
    return Step(name=name, params=params, conn=conn, run_id=run_id, lock=lock)


def settings_note(params: Params, section: str) -> Note:
    """One line for a report: the values of a params section that differ from the defaults.

    E.g. ``cluster: check_runs 0, eval_label_field "section" (the rest as in
    params/default.yaml)``, where printing the section would dump every field.
    """
    current = getattr(params, section)
    defaults = type(current)().model_dump(mode="json")
    changed = [
        f"{key} {_short(value)}"
        for key, value in current.model_dump(mode="json").items()
        if value != defaults.get(key)
    ]
    if not changed:
        return Note(f"{section}: every value as in params/default.yaml")
    return Note(f"{section}: {', '.join(changed)} (the rest as in params/default.yaml)")


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"
