"""Plots of the 02_cluster notebook (matplotlib; each returns its Figure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from thememap.cluster.step import ClusterResult
from thememap.notebook_display import Note


def _palette(n: int) -> np.ndarray:
    base = np.vstack([colormaps["tab20"](np.arange(20)), colormaps["tab20b"](np.arange(20))])
    return base[np.arange(n) % len(base)]


def plot_map(
    result: ClusterResult, *, level: int = 1, labels: str = "keywords", max_points: int = 200_000
) -> Figure:
    """The 2D map coloured by the clusters of ``level`` with each cluster's label at its centre.

    ``labels``: "keywords" (top terms), "name" (``L1_3``) or "none". Above
    ``max_points`` items a seeded subsample is drawn (the anchors use all items).
    """
    fig = Figure(figsize=(11, 9))
    ax = fig.subplots()
    if result.coords is None:
        ax.text(0.5, 0.5, "no map (cluster.layout: none)", ha="center", transform=ax.transAxes)
        return fig
    lab = result.hierarchy.labels[level - 1]
    k = len(result.hierarchy.parents[level - 1])
    rows = np.arange(len(lab))
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(0).choice(rows, max_points, replace=False))
    colours = _palette(k)
    point_colours = np.where(
        (lab[rows] >= 0)[:, None], colours[lab[rows].clip(0)], (0.8, 0.8, 0.8, 1)
    )
    size = max(0.5, min(6.0, 20_000 / len(rows)))
    ax.scatter(
        result.coords[rows][:, 0],
        result.coords[rows][:, 1],
        c=point_colours,
        s=size,
        linewidths=0,
        alpha=0.7,
    )
    table = result.clusters[result.clusters["level"] == level].reset_index(drop=True)
    for _, row in table.iterrows():
        if pd.isna(row["x"]):
            continue
        text = row["name"]
        if labels == "keywords" and row["keywords"]:
            text = f"{row['name']}: " + ", ".join(row["keywords"][:3])
        if labels != "none":
            ax.annotate(
                text, (row["x"], row["y"]), fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.75, "lw": 0},
            )  # fmt: skip
    ax.set_title(f"2D map, coloured by level {level} ({k} clusters)")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def plot_level_sizes(result: ClusterResult) -> Figure:
    """Cluster sizes per level, largest first (log scale), one panel per level."""
    levels = result.hierarchy.n_levels
    fig = Figure(figsize=(4 * levels, 3.2))
    axes = np.atleast_1d(fig.subplots(1, levels))
    for lvl, ax in enumerate(axes, start=1):
        sizes = np.sort(result.clusters.loc[result.clusters["level"] == lvl, "comment_count"])[::-1]
        ax.bar(np.arange(len(sizes)), sizes, width=1.0, color=_palette(1)[0])
        ax.set_yscale("log")
        ax.set_title(f"L{lvl}: {len(sizes)} clusters, median {int(np.median(sizes))} items")
        ax.set_xlabel("cluster (largest first)")
    axes[0].set_ylabel("items")
    fig.tight_layout()
    return fig


def plot_icicle(result: ClusterResult, *, label_min_share: float = 0.03) -> Figure:
    """The hierarchy as an icicle: one row per level, each cluster as wide as its size,
    children directly under their parent (nesting is exact, so the rows line up)."""
    clusters = result.clusters
    levels = int(clusters["level"].max())
    total = float(clusters.loc[clusters["level"] == 1, "comment_count"].sum())
    fig = Figure(figsize=(13, 1.1 * levels + 1))
    ax = fig.subplots()
    children = {
        pid: grp.sort_values("comment_count", ascending=False)
        for pid, grp in clusters.groupby("parent_id")
    }
    top = clusters[clusters["level"] == 1].sort_values("comment_count", ascending=False)
    colours = _palette(len(top))

    def draw(row: pd.Series, x0: float, colour: np.ndarray) -> None:
        width = row["comment_count"] / total
        lvl = int(row["level"])
        ax.barh(-lvl, width, left=x0, height=0.9, color=colour, edgecolor="white", linewidth=0.3,
                alpha=1.0 - 0.18 * (lvl - 1))  # fmt: skip
        if width >= label_min_share:
            words = ", ".join(row["keywords"][:2]) if row["keywords"] else ""
            ax.text(
                x0 + width / 2,
                -lvl,
                f"{row['name']}\n{words}",
                ha="center",
                va="center",
                fontsize=6,
            )
        x = x0
        for _, child in children.get(row["id"], pd.DataFrame()).iterrows():
            draw(child, x, colour)
            x += child["comment_count"] / total

    x = 0.0
    for (_, row), colour in zip(top.iterrows(), colours, strict=True):
        draw(row, x, colour)
        x += row["comment_count"] / total
    ax.set_yticks([-lv for lv in range(1, levels + 1)], [f"L{lv}" for lv in range(1, levels + 1)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of items")
    ax.set_title("hierarchy (icicle): every cluster sits inside exactly one parent")
    fig.tight_layout()
    return fig


def plot_outliers(result: ClusterResult, *, level: int | None = None) -> Figure:
    """Where the outliers sit on the map: grey items, outliers of ``level`` (default finest) in red."""
    fig = Figure(figsize=(9, 7.5))
    ax = fig.subplots()
    lvl = (level or result.hierarchy.n_levels) - 1
    if result.coords is None:
        ax.text(0.5, 0.5, "no map (cluster.layout: none)", ha="center", transform=ax.transAxes)
        return fig
    out = result.hierarchy.is_outlier[lvl]
    placed = out & (result.hierarchy.labels[lvl] >= 0)
    size = max(0.5, min(6.0, 20_000 / len(out)))
    ax.scatter(result.coords[~out][:, 0], result.coords[~out][:, 1], c="0.82", s=size, linewidths=0)
    xy = result.coords
    ax.scatter(
        xy[placed, 0], xy[placed, 1], c="tab:red", s=size * 2, linewidths=0, label="outlier, placed"
    )
    ax.scatter(
        xy[out & ~placed, 0],
        xy[out & ~placed, 1],
        c="black",
        s=size * 2,
        linewidths=0,
        label="outlier, unplaced",
    )
    ax.legend(loc="best", fontsize=8)
    ax.set_title(
        f"L{lvl + 1} outliers: {out.mean():.1%} of items ({placed.mean():.1%} placed in their nearest cluster)"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def cluster_overview(result: ClusterResult, *, level: int = 1) -> pd.DataFrame:
    """One row per cluster of ``level``: size, share, coherence, stability, keywords."""
    table = result.clusters[result.clusters["level"] == level]
    frame = pd.DataFrame(
        {
            "name": table["name"],
            "items": table["comment_count"],
            "share": (table["comment_count"] / table["comment_count"].sum()).round(3),
            "coherence": table["coherence"].round(3),
            "stability": table["stability"].round(2),
            "keywords": table["keywords"].map(lambda k: ", ".join(k[:6])),
        }
    )
    return frame.sort_values("items", ascending=False).reset_index(drop=True)


def reproducibility_summary(result: ClusterResult) -> pd.DataFrame | str:
    """Per level: median ARI of the refits with the main fit, and how many clusters are unstable."""
    if result.checks is None:
        return Note("reproducibility not measured (cluster.check_runs: 0)")
    return result.checks.summary().round(3)


def unstable_clusters(result: ClusterResult, *, threshold: float = 0.5) -> pd.DataFrame | str:
    """Clusters whose mean best Jaccard with the refits is below ``threshold`` (least stable first)."""
    if result.checks is None:
        return Note("reproducibility not measured (cluster.check_runs: 0)")
    table = result.clusters[result.clusters["stability"] < threshold]
    if table.empty:
        return Note(f"every cluster came back in the refits (best Jaccard >= {threshold})")
    cols = [c for c in ("level", "id", "comment_count", "stability", "keywords") if c in table]
    return table.sort_values("stability")[cols].reset_index(drop=True)
