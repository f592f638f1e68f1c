"""How lib results show in a notebook and its report: notes, not Python reprs.

An empty table renders as the one-line note its maker attached (``with_empty_note``)
instead of pandas' "Empty DataFrame / Columns: [...]", a Series as a table (not
"Name: count, dtype: int64"), and a :class:`Note` (a ``str``) as its text instead of a
quoted repr. :func:`install_formatters` is called by
:func:`thememap.runner.notebook.start_step`, in the notebook's kernel only.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

EMPTY_NOTE = "thememap_empty_note"  # the DataFrame.attrs key (attrs survive head, sort, ...)


class Note(str):
    """A one-line message shown as text (not ``'quoted'``) when a cell ends with it."""

    __slots__ = ()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(str(self))}</p>"


def with_empty_note(frame: pd.DataFrame, note: str) -> pd.DataFrame:
    """``frame``, which shows as ``note`` when it has no rows."""
    frame.attrs[EMPTY_NOTE] = note
    return frame


def empty_note(frame: pd.DataFrame) -> str:
    """What an empty ``frame`` shows instead of its repr."""
    return str(frame.attrs.get(EMPTY_NOTE) or "(nothing to show)")


def _as_frame(data: pd.DataFrame | pd.Series) -> pd.DataFrame:
    return data.to_frame() if isinstance(data, pd.Series) else data


def _frame_html(data: pd.DataFrame | pd.Series) -> str | None:
    frame = _as_frame(data)
    if frame.empty:
        return f"<p>{html.escape(empty_note(frame))}</p>"
    return frame._repr_html_()  # type: ignore[operator]  # pandas' own, with its options


def _frame_text(data: pd.DataFrame | pd.Series, printer: Any, cycle: bool) -> None:
    frame = _as_frame(data)
    printer.text(empty_note(frame) if frame.empty else repr(frame))


def install_formatters(shell: Any) -> None:
    """Register the DataFrame and Series formatters with an IPython shell (idempotent)."""
    formatters = shell.display_formatter.formatters
    for kind in (pd.DataFrame, pd.Series):
        formatters["text/html"].for_type(kind, _frame_html)
        formatters["text/plain"].for_type(kind, _frame_text)
