"""What is in the store: counts, duplicates, text lengths, items over time (tables, no plots).

The counts come from :mod:`thememap.store.item_stats` (SQL, or one column at a
time), so they stay cheap at a million items. The plots for these live in
:mod:`thememap.ingest.plots`.
"""

from __future__ import annotations

import sqlite3

import pandas as pd

from thememap.notebook_display import with_empty_note
from thememap.store.item_stats import corpus_counts, created_at_values, shared_texts
from thememap.store.item_stats import text_lengths as text_lengths  # the notebooks' name

# Period for items_over_time, by the span the dates cover (days): about 30-250 bins.
_FREQS = ((60, "D"), (730, "W"), (25 * 365, "MS"))


def corpus_overview(conn: sqlite3.Connection, *, max_chars: int | None = None) -> pd.Series:
    """Headline counts of the items in the store, as a Series for ``display``.

    ``duplicate items`` counts items whose embedded text (content hash) another
    item already has: they are kept as items but embedded once. With
    ``max_chars`` (``params.input.max_chars``), also how many texts are longer
    and will be cut before embedding.
    """
    row = corpus_counts(conn, max_chars=max_chars)
    distinct = row["distinct"]
    items = int(row["items"])
    overview: dict[str, object] = {
        "items": items,
        "distinct texts (embedded)": int(distinct),
        "duplicate items (share a text)": items - int(distinct),
        "items with created_at": int(row["dated"]),
        "first created_at": row["first_date"],
        "last created_at": row["last_date"],
        "mean length (chars)": round(float(row["mean_chars"] or 0.0), 1),
    }
    if max_chars is not None:
        overview[f"contents over max_chars={max_chars}"] = int(row["cut"] or 0)
    return pd.Series(overview, name="corpus", dtype=object)


def length_summary(lengths: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of :func:`text_lengths` (count, mean, min, 5/25/50/75/95/99 %, max)."""
    return lengths.describe(percentiles=[0.05, 0.25, 0.5, 0.75, 0.95, 0.99]).T.round(1)


def items_over_time(conn: sqlite3.Connection, *, freq: str | None = None) -> pd.Series | None:
    """Items per period by ``created_at``; None when no item has one.

    ``freq`` is a pandas offset alias ("D", "W", "MS", "YS"); by default it
    is picked from the span. Dates stored at month or year precision
    ("2024-05") count at the start of their month or year.
    """
    values = created_at_values(conn)
    if values.empty:
        return None
    stamps = pd.to_datetime(values, format="ISO8601", utc=True).dt.tz_localize(None)
    if freq is None:
        span = (stamps.max() - stamps.min()).days
        freq = next((alias for limit, alias in _FREQS if span <= limit), "YS")
    periods = stamps.dt.to_period(_period_alias(freq))
    counts = periods.value_counts()
    # every period from first to last, empty ones as 0, so gaps show in the plot
    full = pd.period_range(periods.min(), periods.max(), freq=_period_alias(freq))
    counts = counts.reindex(full, fill_value=0)
    return pd.Series(
        counts.to_numpy(), index=pd.Index(full.to_timestamp(), name="period"), name="items"
    )


def _period_alias(freq: str) -> str:
    # offset aliases that mark period starts map to plain period aliases
    return {"MS": "M", "YS": "Y", "QS": "Q"}.get(freq, freq)


def top_duplicates(conn: sqlite3.Connection, *, n: int = 10, width: int = 80) -> pd.DataFrame:
    """The ``n`` texts shared by the most items (count and a shortened sample content)."""
    rows = shared_texts(conn, n=n)
    rows["content"] = rows["content"].map(
        lambda text: text if len(text) <= width else text[: width - 3] + "..."
    )
    return with_empty_note(rows, "no duplicate texts: every item's text is its own")
