"""The map, top themes and theme volume show a person's merges and splits.

A real store (:func:`export_fixture.make_export_store`: 5 level-1 themes of 3 sub-themes
each), its clusters given theme ids, edits stored and applied as 02_cluster does.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from export_fixture import make_export_store

from thememap.cluster.continuity import assign_themes
from thememap.cluster.edit_run import add_edit, apply_edits
from thememap.export import load_export_data, map_payload, theme_volume, top_themes
from thememap.export.source import ExportData
from thememap.store.theme_edits import delete_edit

RUN = "fixture-run"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = make_export_store(tmp_path / "store.db", n=240, run_id=RUN)
    assign_themes(connection, RUN)
    yield connection
    connection.close()


def edited(conn: sqlite3.Connection, kind: str, **fields: Any) -> ExportData:
    add_edit(conn, kind, **fields)
    apply_edits(conn, RUN)
    return load_export_data(conn, run_id=RUN)


def cards_at(payload: dict[str, Any], level: int) -> list[dict[str, Any]]:
    return [c for c in payload["clusters"] if c["level"] == level]


def test_merged_themes_are_one_cluster_on_the_map(conn) -> None:
    before = load_export_data(conn, run_id=RUN)
    raw = before.clusters.set_index("theme_id")
    old = map_payload(before)
    data = edited(conn, "merge", themes=["T1-0001", "T1-0002"])
    payload = map_payload(data)
    assert len(cards_at(payload, 1)) == len(cards_at(old, 1)) - 1
    # every item of either theme carries the keeper's cluster at level 1
    items = before.items
    merged = items["theme_id_l1"].isin(["T1-0001", "T1-0002"]).to_numpy()
    assert merged.sum() > 0
    index = {i for i, m in zip(payload["items"]["c"]["1"], merged, strict=True) if m}
    assert len(index) == 1
    card = payload["clusters"][index.pop()]
    assert card["size"] == raw.at["T1-0001", "comment_count"] + raw.at["T1-0002", "comment_count"]
    assert card["size"] == merged.sum()
    assert card["title"] == old["clusters"][_position(before, "T1-0001")]["title"]  # the keeper's
    # the absorbed theme's sub-themes hang under the keeper now
    keeper = payload["clusters"].index(card)
    under = [c["title"] for c in cards_at(payload, 2) if c["parent"] == keeper]
    assert len(under) == 6
    # the other outputs read the same view: one row, one column for the merged theme
    top = top_themes(data, level=1, n=50).set_index("theme")
    assert top.loc[card["title"], "items"] == card["size"]
    assert len(top) == len(cards_at(payload, 1))
    assert theme_volume(data, level=1).sum().sum() == theme_volume(before, level=1).sum().sum()
    assert len(theme_volume(data, level=1).columns) == len(cards_at(payload, 1))


def test_a_split_theme_shows_its_sub_themes_at_its_level(conn) -> None:
    before = load_export_data(conn, run_id=RUN)
    old = map_payload(before)
    split_title = old["clusters"][_position(before, "T1-0003")]["title"]
    data = edited(conn, "split", theme="T1-0003")
    payload = map_payload(data)
    tops = cards_at(payload, 1)
    assert len(tops) == len(cards_at(old, 1)) + 2  # one theme became its three sub-themes
    assert split_title not in {c["title"] for c in tops}
    # each item of the split theme carries, at level 1, the piece of its own sub-theme
    at1, at2 = payload["items"]["c"]["1"], payload["items"]["c"]["2"]
    split = (before.items["theme_id_l1"] == "T1-0003").to_numpy()
    pieces = set()
    for one, two, was_split in zip(at1, at2, split, strict=True):
        if not was_split:
            continue
        piece, child = payload["clusters"][one], payload["clusters"][two]
        assert piece["level"] == 1 and piece["title"] == child["title"]
        assert piece["size"] == child["size"] and piece["summary"] == child["summary"]
        assert child["parent"] == one  # the sub-theme hangs under its piece
        pieces.add(one)
    assert len(pieces) == 3
    assert sum(payload["clusters"][p]["size"] for p in pieces) == split.sum()
    assert len({payload["clusters"][p]["color"] for p in pieces}) == 3  # a colour each
    top = top_themes(data, level=1, n=50)
    assert len(top) == len(tops) and split_title not in set(top["theme"])


def test_without_merges_or_splits_the_map_is_unchanged_byte_for_byte(conn) -> None:
    plain = json.dumps(map_payload(load_export_data(conn, run_id=RUN)))
    edit = add_edit(conn, "merge", themes=["T1-0001", "T1-0002"])
    apply_edits(conn, RUN)
    assert json.dumps(map_payload(load_export_data(conn, run_id=RUN))) != plain
    delete_edit(conn, edit)  # the run's shown themes are stored again, none merged
    apply_edits(conn, RUN)
    data = load_export_data(conn, run_id=RUN)
    assert not data.edited_themes.empty
    assert json.dumps(map_payload(data)) == plain


def test_merges_and_splits_at_two_levels_keep_the_map_whole(conn) -> None:
    add_edit(conn, "merge", themes=["T2-0007", "T2-0008"])  # two sub-themes of T1-0003
    add_edit(conn, "split", theme="T1-0003")  # its pieces: the merged pair, and T2-0009
    add_edit(conn, "merge", themes=["T1-0001", "T1-0002"])
    add_edit(conn, "merge", themes=["T2-0001", "T2-0004"])  # now under the one T1-0001
    add_edit(conn, "split", theme="T2-0010")  # a level-2 theme into its level-3 ones
    apply_edits(conn, RUN)
    data = load_export_data(conn, run_id=RUN)
    payload = map_payload(data)
    shown = data.edited_themes
    for level in data.levels:
        cards = cards_at(payload, level)
        assert len(cards) == int((shown["level"] == level).sum())
        column = payload["items"]["c"][str(level)]
        assert -1 not in column  # every item keeps a cluster at every level
        for index, card in enumerate(payload["clusters"]):
            if card["level"] == level:  # a card's size is the items that carry it
                assert card["size"] == column.count(index), card["title"]
        if level > 1:  # an item's cluster hangs under the cluster it carries a level up
            above = payload["items"]["c"][str(level - 1)]
            assert all(
                payload["clusters"][c]["parent"] == a for c, a in zip(column, above, strict=True)
            )
    assert len(set(payload["items"]["c"]["1"])) == 5  # 5 themes, one merge, a split in three


def _position(data: ExportData, theme: str) -> int:
    """The card index of ``theme``'s cluster in a payload of ``data`` without edits."""
    return data.clusters["theme_id"].tolist().index(theme)
