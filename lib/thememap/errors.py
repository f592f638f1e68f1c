"""The one place thememap's errors are defined.

Tree (every class derives from :class:`ThememapError`)::

    ThememapError                 a user-facing problem: one clear message, no traceback
    ├── ParamsError               a params file or value is wrong (names the file and key)
    ├── InputError                an input file or row is wrong (names the file and line)
    │   └── BadRowsError          rows were rejected while ``on_bad_row: fail``
    ├── StoreError                the SQLite store is missing, locked, or newer than this code
    ├── BackendError              an embedding / LLM backend failed after its retries
    │   └── BudgetExceeded        a cost / call limit was reached; stopped cleanly
    ├── NotebookError             a notebook failed under the runner (names notebook and cell)
    └── StepOrderError            a step needs an earlier one that has not run (e.g. no vectors)

Anything that is *not* a ThememapError is a bug in thememap and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ThememapError(Exception):
    """Base class: a problem the user can fix; ``str(err)`` is the whole message."""


class ParamsError(ThememapError):
    """A params file is missing, malformed, or has an unknown key or a bad value."""


class InputError(ThememapError):
    """An input file cannot be read at all (missing, unknown format, wrong columns)."""


@dataclass(frozen=True)
class BadRow:
    """One rejected input row: where it is and why."""

    file: str
    line: int
    reason: str
    item_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        who = f" (id {self.item_id})" if self.item_id is not None else ""
        return f"{where}{who}: {self.reason}"


class BadRowsError(InputError):
    """Rows were rejected and params say ``on_bad_row: fail``; the store was not changed."""

    def __init__(self, bad_rows: Sequence[BadRow], *, shown: int = 10) -> None:
        self.bad_rows = list(bad_rows)
        lines = [str(row) for row in self.bad_rows[:shown]]
        more = len(self.bad_rows) - shown
        if more > 0:
            lines.append(f"... and {more} more")
        super().__init__(
            f"{len(self.bad_rows)} bad row(s); nothing was loaded "
            "(set input.on_bad_row: skip to load the good rows and report the rest):\n  "
            + "\n  ".join(lines)
        )


class StoreError(ThememapError):
    """The SQLite store cannot be used (missing, locked, or from a newer thememap)."""


class BackendError(ThememapError):
    """An external backend (embedding API, LLM) failed after its retries."""


class BudgetExceeded(BackendError):
    """A configured cost or call budget was reached; work done so far is kept."""


class NotebookError(ThememapError):
    """A notebook failed while the runner executed it."""


class StepOrderError(ThememapError):
    """A step was asked for before the step it needs (say, clustering with no vectors)."""
