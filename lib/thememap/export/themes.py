"""Tables about themes: the biggest ones, and their volume over time (the chart of it:
:mod:`thememap.export.plots`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from thememap.export.edited_view import shown_view
from thememap.export.source import ExportData, card_value, theme_names, theme_title
from thememap.notebook_display import with_empty_note

_DAYS = {"D": 1, "W": 7, "M": 30.4, "Q": 91.3, "Y": 365.25}


def top_themes(data: ExportData, *, level: int = 1, n: int = 15) -> pd.DataFrame:
    """The ``n`` largest clusters of ``level`` with their card fields and share of all items
    (``theme``: the name a person's edit gave it, marked ``edited``, else the card's), as the
    run's edits show them (merged themes as one, a split theme as its pieces)."""
    data = shown_view(data)
    at_level = data.clusters[data.clusters["level"] == level].sort_values(
        "comment_count", ascending=False
    )
    total = max(len(data.items), 1)
    rows = []
    for _, row in at_level.head(n).iterrows():
        keywords = card_value(row, "keywords") or []
        rows.append(
            {
                "name": row["name"],
                "theme": theme_title(data, row),
                "edited": int(row["id"]) in data.edited_names,
                "category": card_value(row, "category"),
                "strength": card_value(row, "strength"),
                "items": int(row["comment_count"]),
                "share": round(int(row["comment_count"]) / total, 4),
                "key phrases": ", ".join(str(k) for k in keywords[:6]),
            }
        )
    return pd.DataFrame(rows)


def pick_freq(dates: pd.Series, *, max_bins: int = 60) -> str:
    """The finest of D/W/M/Q/Y that gives at most ``max_bins`` bins over the dates' span."""
    span = (dates.max() - dates.min()).days if len(dates) else 0
    for freq in ("D", "W", "M", "Q"):
        if span / _DAYS[freq] <= max_bins:
            return freq
    return "Y"


def theme_volume(data: ExportData, *, level: int = 1, freq: str = "auto") -> pd.DataFrame:
    """Items per period (rows) and cluster of ``level`` (columns, by theme title), largest first.

    Items without a usable ``created_at`` are left out; an empty frame means no
    item has one. ``freq`` is one of D, W, M, Q, Y or "auto". Clusters as the run's edits
    show them (:func:`~thememap.export.edited_view.shown_view`).
    """
    data = shown_view(data)
    items = data.items
    when = pd.to_datetime(items["created_at"], errors="coerce", utc=True, format="mixed")
    keep = when.notna() & items[f"cluster_id_l{level}"].notna()
    if not keep.any():
        return pd.DataFrame()
    when = when[keep].dt.tz_localize(None)
    freq = pick_freq(when) if freq == "auto" else freq
    titles = theme_names(data)
    theme = items.loc[keep, f"cluster_id_l{level}"].astype(int).map(titles)
    period = when.dt.to_period(freq).dt.start_time
    table = pd.crosstab(period, theme)
    table = table[table.sum().sort_values(ascending=False).index]
    table.index.name = "period"
    table.columns.name = f"level {level} theme"
    table.attrs["freq"] = freq
    return table


def theme_trends(volume: pd.DataFrame) -> pd.DataFrame:
    """Per theme: total and the slope of its share of items per period (which grow, which fade)."""
    if volume.empty:
        return with_empty_note(
            pd.DataFrame(columns=["theme", "items", "share_slope"]),
            "no trends: no item has a date (input.created_at_field)",
        )
    share = volume.div(volume.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    steps = np.arange(len(share), dtype=float)
    slopes = [
        float(np.polyfit(steps, share[col].to_numpy(), 1)[0]) if len(share) > 1 else 0.0
        for col in share.columns
    ]
    out = pd.DataFrame(
        {"theme": share.columns, "items": volume.sum().to_numpy(), "share_slope": slopes}
    )
    return out.sort_values("share_slope", ascending=False, ignore_index=True)
