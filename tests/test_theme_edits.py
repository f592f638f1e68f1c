"""A person's theme edits: checked whole, applied on tables, stored, and kept across a refit.

The store tests use a real store of 800 Debian items clustered by 02_cluster (run ``a``);
a refit (run ``c``, another seed) is clustered and matched inside the test that needs it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_cluster_store import make_store
from theme_checks import cluster_params, store_copy

import thememap
from thememap.cluster.continuity import assign_themes
from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.edit_run import (
    add_edit,
    apply_edits,
    apply_run_edits,
    list_edits,
    read_edits_file,
)
from thememap.cluster.edits import ENDED, Edit, EditError, edit_themes, shown_item_themes
from thememap.cluster.step import cluster_store
from thememap.describe.step import describe_store, load_hierarchy
from thememap.errors import ThememapError
from thememap.export import load_export_data, top_themes
from thememap.export.changes import theme_changes
from thememap.export.source import theme_names
from thememap.params import Params, load_params
from thememap.store.theme_edits import read_edit_outcomes, read_edited_themes
from thememap.store.themes import run_themes

# two level-1 themes, each with two sub-themes, and a third level-1 theme with one
THEMES = pd.DataFrame(
    {
        "level": [1, 1, 1, 2, 2, 2, 2, 2],
        "theme_id": ["T1-0001", "T1-0002", "T1-0003"] + [f"T2-000{i}" for i in range(1, 6)],
        "parent_theme_id": [None, None, None, "T1-0001", "T1-0001", "T1-0002", "T1-0002", "T1-0003"],
        "comment_count": [10, 20, 3, 4, 6, 5, 15, 3],
        "name": ["a", "b", "c", "a1", "a2", "b1", "b2", "c1"],
    }
)  # fmt: skip


def rows(table: pd.DataFrame) -> dict[str, dict[str, object]]:
    return table.set_index("theme_id").to_dict("index")


def test_rename_merge_split_and_pins_apply_on_a_table() -> None:
    edits = [
        Edit("merge", 1, themes=("T1-0001", "T1-0003")),
        Edit("rename", 2, theme="T1-0001", name="Big"),
        Edit("split", 3, theme="T1-0002"),
        Edit("pin_card", 4, theme="T2-0003", card={"pattern_name": "Pinned", "summary": "s"}),
        Edit("pin_name", 5, theme="T2-0001", name="Kept name"),
    ]
    edited = edit_themes(edits, THEMES)
    shown = rows(edited.themes)
    assert shown["T1-0001"]["comment_count"] == 13 and shown["T1-0001"]["name"] == "Big"
    assert shown["T1-0001"]["sources"] == ["T1-0001", "T1-0003"] and shown["T1-0001"]["edited"]
    assert "T1-0003" not in shown and "T1-0002" not in shown
    # the split theme's sub-themes are promoted: one level-1 piece each, and they hang under it
    assert shown["T1-0002/T2-0003"]["comment_count"] == 5
    assert shown["T2-0003"]["parent_theme_id"] == "T1-0002/T2-0003"
    assert shown["T2-0005"]["parent_theme_id"] == "T1-0001"  # re-parented by the merge
    assert shown["T2-0003"]["card"] == {"pattern_name": "Pinned", "summary": "s"}
    assert shown["T2-0003"]["name"] == "Pinned"
    assert shown["T2-0001"]["pinned_name"] and not shown["T2-0002"]["edited"]
    # nesting stays true: every level-1 theme's count is its sub-themes' sum
    table = edited.themes
    below = table[table["level"] == 2].groupby("parent_theme_id")["comment_count"].sum()
    top = table[table["level"] == 1].set_index("theme_id")["comment_count"]
    assert below.to_dict() == top.to_dict()
    items = pd.DataFrame(
        {"item_id": [1, 2, 1, 2], "level": [1, 1, 2, 2],
         "theme_id": ["T1-0003", "T1-0002", "T2-0005", "T2-0004"]}
    )  # fmt: skip
    assert shown_item_themes(items, edited)["theme_id"].tolist() == [
        "T1-0001", "T1-0002/T2-0004", "T2-0005", "T2-0004"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([Edit("rename", 7, theme="T1-0077", name="x")], "edit 7 (rename T1-0077): no theme T1-0077"),
        ([Edit("merge", 2, themes=("T1-0001", "T2-0001"))], "edit 2 (merge T1-0001, T2-0001): cannot merge themes of different levels"),
        ([Edit("merge", 1, themes=("T1-0001", "T1-0002")), Edit("merge", 2, themes=("T1-0002", "T1-0001"))], "edit 2 (merge T1-0002, T1-0001): circular merge"),
        ([Edit("merge", 1, themes=("T1-0001", "T1-0002")), Edit("merge", 2, themes=("T1-0002", "T1-0003")), Edit("merge", 3, themes=("T1-0003", "T1-0001"))], "edit 3 (merge T1-0003, T1-0001): circular merge"),
        ([Edit("merge", 1, themes=("T1-0001", "T1-0002")), Edit("split", 2, theme="T1-0002")], "edit 2 (split T1-0002): the theme is also merged by edit 1"),
        ([Edit("merge", 1, themes=("T1-0001", "T1-0002")), Edit("merge", 2, themes=("T1-0003", "T1-0002"))], "edit 2 (merge T1-0003, T1-0002): T1-0002 is also merged by edit 1"),
        ([Edit("split", 3, theme="T2-0001")], "edit 3 (split T2-0001): the theme has 0 sub-theme(s)"),
        ([Edit("split", 3, theme="T1-0003")], "edit 3 (split T1-0003): the theme has 1 sub-theme(s)"),
        ([Edit("merge", 4, themes=("T2-0002", "T2-0003"))], "edit 4 (merge T2-0002, T2-0003): the themes sit under different parents"),
        ([Edit("rename", 5, theme="T1-0001")], "edit 5 (rename T1-0001): missing 'name'"),
        ([Edit("merge", 6, themes=("T1-0001",))], "edit 6 (merge T1-0001): a merge needs 'themes'"),
        ([Edit("recolour", 8, theme="T1-0001")], "edit 8 (recolour T1-0001): unknown kind"),
        ([Edit("pin_card", 9, theme="T1-0001", card={"colour": "red"})], "unknown: colour"),
    ],
)  # fmt: skip
def test_a_bad_edit_is_one_clear_error_naming_it(edits: list[Edit], message: str) -> None:
    good = [Edit("rename", 1, theme="T1-0002", name="fine")]
    pattern = "^" + re.escape(message) if message.startswith("edit ") else re.escape(message)
    with pytest.raises(ThememapError, match=pattern):
        edit_themes(good + edits, THEMES)


def test_an_edit_of_an_ended_theme_is_reported_not_an_error() -> None:
    edited = edit_themes(
        [Edit("rename", 1, theme="T1-0009", name="gone"), Edit("rename", 2, theme="T1-0001", name="x")],
        THEMES,
        known_ids={"T1-0009"},
    )  # fmt: skip
    assert [status for _, status in edited.outcomes] == [ENDED, "applied"]
    assert "T1-0009" not in set(edited.themes["theme_id"])


# --- with a real store ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edits") / "items.db"
    conn = make_store(path)
    cluster_store(conn, cluster_params(), run_id="a")
    assign_themes(conn, "a")
    conn.close()
    return path


@pytest.fixture
def conn(base_store: Path, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with store_copy(base_store, tmp_path) as connection:
        yield connection


def largest(conn: sqlite3.Connection, run_id: str, level: int, n: int) -> list[str]:
    frame = run_themes(conn, run_id)
    at = frame[frame["level"] == level].nlargest(n, "comment_count")
    return at["theme_id"].tolist()


def snapshot(conn: sqlite3.Connection) -> list[list[tuple[object, ...]]]:
    return [
        conn.execute(f"SELECT * FROM {table}").fetchall()
        for table in ("theme_edits", "theme_edit_runs", "edited_themes")
    ]


def test_a_rename_and_a_merge_made_before_a_refit_apply_after_it(conn) -> None:
    first, second, third = largest(conn, "a", 1, 3)
    add_edit(conn, "rename", theme=third, name="Renamed by hand", author="ana")
    add_edit(conn, "merge", themes=[first, second], author="ana")
    assert add_edit(conn, "merge", themes=[first, second]) == 2  # the same edit is stored once
    assert len(list_edits(conn)) == 2
    apply_edits(conn, "a")
    # the refit: another seed, matched to run a, then the stored edits applied again
    cluster_store(conn, cluster_params(seed=7), run_id="c")
    assign_themes(conn, "c")
    kept = set(run_themes(conn, "c")["theme_id"])
    assert {first, second, third} <= kept  # the refit kept these themes' ids
    apply_edits(conn, "c")
    for run_id in ("a", "c"):
        shown = rows(read_edited_themes(conn, run_id))
        raw = run_themes(conn, run_id).set_index("theme_id")["comment_count"]
        assert shown[third]["name"] == "Renamed by hand" and shown[third]["edited"]
        assert second not in shown and sorted(shown[first]["sources"]) == sorted([first, second])
        assert shown[first]["comment_count"] == raw[first] + raw[second]
        outcomes = read_edit_outcomes(conn, run_id)
        assert outcomes["status"].tolist() == ["applied", "applied"]
        assert outcomes["author"].tolist() == ["ana", "ana"]
    # the change table of the refit lists the edits applied and marks the edited themes
    table = theme_changes(conn, "c").table
    applied = table[table["change"] == "edit applied"]
    assert applied["theme"].tolist() == ["renamed: Renamed by hand", f"merged: {first}, {second}"]
    assert set(table.loc[table["edited"] & (table["change"] != "edit applied"), "theme_id"]) == {
        first, second, third
    }  # fmt: skip
    themes = table[table["change"] != "edit applied"].set_index("theme_id")["theme"]
    assert themes[third] == "Renamed by hand"
    assert "2 edit(s) applied" in str(theme_changes(conn, "c").note())
    # and the export's tables show the edited name, marked
    data = load_export_data(conn, run_id="c")
    assert "Renamed by hand" in set(theme_names(data).values())  # items_themes.csv, the map
    top = top_themes(data, level=1, n=50).set_index("theme")
    assert bool(top.loc["Renamed by hand", "edited"])
    assert top["edited"].sum() == 2  # the renamed theme, and the merged one: one row for both
    assert top.index.is_unique


def test_a_bad_edit_in_the_store_writes_nothing(conn) -> None:
    first, second = largest(conn, "a", 1, 2)
    child = largest(conn, "a", 2, 1)[0]
    add_edit(conn, "rename", theme=first, name="fine")
    apply_edits(conn, "a")
    before = snapshot(conn)
    with pytest.raises(EditError, match=r"^new edit \(merge T1-\S+, T2-\S+\): cannot merge themes"):
        add_edit(conn, "merge", themes=[second, child])
    add_edit(conn, "merge", themes=[first, second])
    before = snapshot(conn)
    with pytest.raises(EditError, match=r"^new edit .*: circular merge"):  # with the stored one
        add_edit(conn, "merge", themes=[second, first])
    with pytest.raises(EditError, match=re.escape("new edit (rename T1-9999): no theme T1-9999")):
        add_edit(conn, "rename", theme="T1-9999", name="x")
    assert snapshot(conn) == before


def test_the_edits_file_is_read_each_run_and_stored_once(conn, tmp_path: Path) -> None:
    first, second = largest(conn, "a", 1, 2)
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "run.yaml").write_text(
        "store: store.db\ncontinuity:\n  edits_file: edits.yaml\n", encoding="utf-8"
    )
    edits = tmp_path / "params" / "edits.yaml"
    edits.write_text(
        f"- {{kind: rename, theme: {first}, name: From the file, author: bo}}\n"
        f"- {{kind: merge, themes: [{first}, {second}]}}\n"
        f"- {{kind: merge, themes: [{first}, {second}]}}\n",  # twice in the file: one edit
        encoding="utf-8",
    )
    params = load_params(tmp_path / "params" / "run.yaml")
    assert params.continuity.edits_file == edits  # relative to the params file
    table = apply_run_edits(conn, "a", params.continuity)
    apply_run_edits(conn, "a", params.continuity)
    assert table["outcome"].tolist() == ["applied", "applied"]
    assert len(list_edits(conn)) == 2  # read twice, stored once
    assert rows(read_edited_themes(conn, "a"))[first]["name"] == "From the file"
    # a bad entry names the file and the entry, and nothing of the file is stored
    edits.write_text(
        f"- {{kind: rename, theme: {second}, name: new}}\n- {{kind: split}}\n", encoding="utf-8"
    )
    with pytest.raises(
        EditError, match="^" + re.escape("edits.yaml entry 2 (split ?): missing 'theme'")
    ):
        apply_run_edits(conn, "a", params.continuity)
    assert len(list_edits(conn)) == 2
    edits.write_text("- {kind: rename, theme: T1-0001, colour: red}\n", encoding="utf-8")
    with pytest.raises(EditError, match=re.escape("edits.yaml entry 1: unknown key")):
        read_edits_file(edits)


def test_a_pinned_name_wins_over_a_new_card(conn, tmp_path: Path) -> None:
    theme, other = largest(conn, "a", 1, 2)
    add_edit(conn, "pin_name", theme=theme, name="Pinned by hand")
    add_edit(conn, "rename", theme=other, name="Only renamed")
    card = {"pattern_name": "Whole card", "summary": "Fixed by hand.", "category": "other"}
    fixed = largest(conn, "a", 2, 1)[0]
    thememap.add_edit(conn, "pin_card", theme=fixed, card=card)
    apply_run_edits(conn, "a", ContinuityParams())
    params = Params(root=tmp_path)
    loaded = load_hierarchy(conn, params, cluster_run_id="a")
    described = describe_store(conn, loaded, params.describe, embedder=None)
    titles = run_themes(conn, "a").set_index("theme_id")["title"]
    assert titles[theme] == "Pinned by hand"
    assert titles[other] != "Only renamed"  # a rename is the report's name, not the card's
    pinned = [c for c in described.cards.values() if c.pattern_name == "Pinned by hand"]
    assert len(pinned) == 1
    assert titles[fixed] == "Whole card"
    whole = [c for c in described.cards.values() if c.pattern_name == "Whole card"]
    assert [(c.summary, c.category, c.level) for c in whole] == [("Fixed by hand.", "other", 2)]
