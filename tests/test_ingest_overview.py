"""Corpus overview tables and their plots, on a real store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import matplotlib
import pytest

from thememap.ingest import load_items
from thememap.ingest.overview import (
    corpus_overview,
    items_over_time,
    length_summary,
    text_lengths,
    top_duplicates,
)
from thememap.ingest.params import InputParams
from thememap.ingest.plots import plot_items_over_time, plot_text_lengths
from thememap.store import open_store

matplotlib.use("Agg")


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = open_store(tmp_path / "store.db")
    rows = [
        {"id": 1, "text": "same text", "at": "2024-01-15"},
        {"id": 2, "text": "same text", "at": "2024-03"},
        {"id": 3, "text": "same text", "at": "2024-03-02T10:00:00Z"},
        {"id": 4, "text": "one two three four", "at": ""},
        {"id": 5, "text": "x" * 50, "at": "2024-06-30"},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    params = InputParams(text_field="text", id_field="id", created_at_field="at")
    load_items(conn, params, path=path, progress=False)
    return conn


def test_corpus_overview(conn: sqlite3.Connection) -> None:
    overview = corpus_overview(conn, max_chars=20)
    assert overview["items"] == 5
    assert overview["distinct texts (embedded)"] == 3
    assert overview["duplicate items (share a text)"] == 2
    assert overview["items with created_at"] == 4
    assert overview["first created_at"] == "2024-01-15"
    assert overview["last created_at"] == "2024-06-30"
    assert overview["contents over max_chars=20"] == 1


def test_text_lengths(conn: sqlite3.Connection) -> None:
    lengths = text_lengths(conn)
    assert lengths.loc[4].tolist() == [18, 4]
    assert lengths["chars"].tolist() == [9, 9, 9, 18, 50]
    assert length_summary(lengths).loc["words", "max"] == 4


def test_items_over_time_fills_empty_periods(conn: sqlite3.Connection) -> None:
    monthly = items_over_time(conn, freq="MS")
    assert monthly is not None
    assert [str(d.date()) for d in monthly.index] == [
        "2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01",
    ]  # fmt: skip
    assert monthly.tolist() == [1, 0, 2, 0, 0, 1]
    auto = items_over_time(conn)  # 167 days: weekly
    assert auto is not None and auto.sum() == 4 and auto.index.freqstr.startswith("W")


def test_items_over_time_none_without_dates(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "plain.db")
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    load_items(conn, InputParams(), path=tmp_path / "a.txt", progress=False)
    assert items_over_time(conn) is None


def test_top_duplicates(conn: sqlite3.Connection) -> None:
    top = top_duplicates(conn)
    assert top.to_dict("records") == [{"items": 3, "content": "same text"}]


def test_plots_draw(conn: sqlite3.Connection) -> None:
    ax = plot_text_lengths(text_lengths(conn), column="chars", max_chars=20)
    assert ax.get_legend() is not None
    assert "5 items" in ax.get_title()
    monthly = items_over_time(conn, freq="MS")
    assert monthly is not None
    ax = plot_items_over_time(monthly)
    assert ax.get_title() == "Items over time (4)"
