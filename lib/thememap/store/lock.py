"""One run at a time per store: an exclusive lock on ``<store>.lock`` beside the store.

Two runs on one store would both embed every missing text (a paid API bills
twice) and interleave their clusterings. The runner takes the lock for the
whole chain and tells its kernels so (:data:`HELD_ENV`); a notebook run by
hand takes it in ``start_step`` and drops it in ``step.done()``.

The lock is ``flock(2)``: the operating system drops it when its process dies,
so a ``kill -9`` never leaves a stale lock behind. The file also holds the
owner's pid, run and start time, which the refusal message shows. A second
run does not wait: it stops at once with :class:`~thememap.errors.StoreError`.
(On systems without ``fcntl`` the lock is skipped with a warning.)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import IO, Any

from thememap.errors import StoreError
from thememap.store.connection import check_writable
from thememap.store.runs import now_iso

log = logging.getLogger(__name__)

HELD_ENV = "THEMEMAP_STORE_LOCK_HELD"
"""Set by the runner to the store path it holds locked, for the kernels it starts."""

_held: dict[Path, StoreLock] = {}  # this process's locks: re-running a step re-uses its own


def lock_path(store: Path) -> Path:
    """The lock file of ``store``."""
    return store.with_name(store.name + ".lock")


class StoreLock:
    """An exclusive lock on one store; ``release()`` (or process exit) frees it."""

    def __init__(self, store: Path, handle: IO[str] | None) -> None:
        self.store = store
        self._handle = handle

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        _held.pop(self.store, None)
        if self._handle is not None:
            try:
                import fcntl

                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            finally:
                self._handle.close()
                self._handle = None

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire_store_lock(store: Path | str, *, run_id: str) -> StoreLock:
    """Lock ``store`` for this process or raise :class:`StoreError` naming the holder."""
    store = Path(store).resolve()
    if store in _held:
        return _held[store]
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        log.warning("no file locking on this system: do not run two runs on %s at once", store)
        return StoreLock(store, None)
    check_writable(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(store)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = _describe(handle.read())
        handle.close()
        raise StoreError(
            f"{store}: in use by another thememap run ({holder}); wait for it to finish, "
            "or give this run another store"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "run_id": run_id, "since": now_iso()}))
    handle.flush()
    lock = StoreLock(store, handle)
    _held[store] = lock
    return lock


def _describe(text: str) -> str:
    try:
        info: dict[str, Any] = json.loads(text)
        return f"pid {info['pid']}, run {info['run_id']}, since {info['since']}"
    except (ValueError, KeyError, TypeError):
        return "owner unknown"
