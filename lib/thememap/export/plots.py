"""Charts of the 04_export notebook (matplotlib): themes over time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def plot_theme_volume(
    volume: pd.DataFrame, *, top: int = 8, ax: Any = None, title: str | None = None
) -> Figure | None:
    """Stacked areas of the ``top`` themes' volume over time (the rest as "other")."""
    import matplotlib.pyplot as plt

    if volume.empty:
        return None
    shown = volume.iloc[:, :top].copy()
    if volume.shape[1] > top:
        shown["other"] = volume.iloc[:, top:].sum(axis=1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.5))
    else:
        fig = ax.figure
    colours = [plt.get_cmap("tab20")(i % 20) for i in range(shown.shape[1])]
    if "other" in shown.columns:
        colours[-1] = (0.8, 0.8, 0.8, 1.0)
    ax.stackplot(
        shown.index,
        shown.T.to_numpy(),
        labels=[str(c)[:40] for c in shown.columns],
        colors=colours,
        alpha=0.9,
    )
    ax.set_ylabel(f"items per {volume.attrs.get('freq', 'period')}")
    ax.set_title(title or f"Themes over time ({volume.columns.name})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.margins(x=0)
    fig.tight_layout()
    return fig
