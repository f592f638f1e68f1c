"""Matplotlib figures for the notebooks: each takes its data (and an optional Axes) and draws.

No data is read here: the tables come from lib functions (for the corpus,
:mod:`thememap.ingest.overview`), so every plot can be re-drawn from saved numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def plot_text_lengths(
    lengths: pd.DataFrame,
    *,
    column: str = "words",
    max_chars: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of text lengths (``text_lengths(conn)[column]``), log-scaled counts.

    With ``column="chars"`` and ``max_chars``, a line marks where texts are cut.
    """
    import numpy as np

    ax = _axes(ax, (7, 3))
    values = lengths[column].to_numpy()
    if values.size == 0:
        ax.set_title("no items")
        return ax
    top = max(int(np.percentile(values, 99.5)), 1)
    ax.hist(np.clip(values, 0, top), bins=60, color="#4c72b0")
    ax.set_yscale("log")
    ax.set(
        xlabel=f"{column} per item (last bar: {top:,} or more)",
        ylabel="items",
        title=f"Text length, {values.size:,} items (median {int(np.median(values)):,} {column})",
    )
    if max_chars is not None and column == "chars" and max_chars <= top:
        ax.axvline(max_chars, color="#c44e52", linestyle="--", label=f"cut at {max_chars:,}")
        ax.legend()
    return ax


def plot_items_over_time(counts: pd.Series, *, ax: Axes | None = None) -> Axes:
    """Items per period (``items_over_time(conn)``) as a step line."""
    ax = _axes(ax, (7, 3))
    ax.fill_between(counts.index, counts.to_numpy(), step="post", alpha=0.3, color="#4c72b0")
    ax.step(counts.index, counts.to_numpy(), where="post", color="#4c72b0")
    ax.set(xlabel="created_at", ylabel="items", title=f"Items over time ({int(counts.sum()):,})")
    ax.set_ylim(bottom=0)
    return ax
