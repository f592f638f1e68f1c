"""Plots of the 03_describe notebook (matplotlib; each returns its Figure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from thememap.describe.report import category_mix

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def plot_category_mix(cards: pd.DataFrame) -> Figure:
    """Stacked bars: share of items per category at each level."""
    import matplotlib.pyplot as plt

    mix = category_mix(cards)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bottom = np.zeros(mix.shape[1])
    for category, row in mix.iterrows():
        ax.bar([f"L{c}" for c in mix.columns], row.to_numpy(), bottom=bottom, label=str(category))
        bottom += row.to_numpy()
    ax.set_ylabel("share of items")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    ax.set_title("Category mix per level")
    fig.tight_layout()
    return fig


def plot_strength_vs_size(cards: pd.DataFrame) -> Figure:
    """Strength (1-10) against cluster size (log), one colour per level."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    rng = np.random.default_rng(0)  # jitter only so equal strengths do not hide each other
    for level, group in cards[cards["failure"].isna()].groupby("level"):
        jitter = rng.uniform(-0.15, 0.15, len(group))
        ax.scatter(group["comment_count"], group["strength"] + jitter, s=14, label=f"L{level}")
    ax.set_xscale("log")
    ax.set_xlabel("items in cluster")
    ax.set_ylabel("strength (1-10)")
    ax.set_yticks(range(1, 11))
    ax.legend(fontsize=8)
    ax.set_title("Strength against size")
    fig.tight_layout()
    return fig
