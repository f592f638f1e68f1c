"""Stable theme ids in a real store: four 02_cluster runs of 800 Debian items, matched in turn.

Runs ``a`` and ``b`` are the same clustering; ``c`` uses another seed; ``d`` asks for 3
level-1 clusters (the others find 7), so level-1 themes end. Tests that write get their
own copy of the store.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from describe_llm_fake import Script
from test_cluster_store import make_store
from theme_checks import check_change_table, cluster_params, store_copy

from thememap.cluster.continuity import assign_themes, plan_themes
from thememap.cluster.continuity_params import ContinuityParams
from thememap.cluster.step import cluster_store
from thememap.describe.cards import Card
from thememap.describe.carry import carried_cards
from thememap.describe.llm_cache import MemoryCache
from thememap.describe.llm_client import LLMClient
from thememap.describe.llm_runner import LLMDescriber
from thememap.describe.offline import OfflineDescriber
from thememap.describe.step import load_hierarchy
from thememap.export import export_run
from thememap.export.changes import theme_changes
from thememap.params import load_params
from thememap.store.cards import put_cards
from thememap.store.clusters import read_memberships
from thememap.store.themes import (
    ThemeRow,
    read_themes,
    run_matched,
    run_theme_ids,
    run_themes,
    theme_run,
    write_run_themes,
)

RUNS = {
    "a": {},
    "b": {},
    "c": {"seed": 7},
    "d": {"level_counts": [3, None, None]},
}


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("themes") / "items.db"
    conn = make_store(path)
    for run_id, overrides in RUNS.items():
        cluster_store(conn, cluster_params(**overrides), run_id=run_id)
        assign_themes(conn, run_id)
    conn.close()
    return path


@pytest.fixture
def conn(base_store: Path, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A copy of the four-run store for this test alone."""
    with store_copy(base_store, tmp_path) as connection:
        yield connection


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """The three theme tables, as rows (timestamps left out)."""
    return {
        "themes": conn.execute(
            "SELECT theme_id, level, number, first_run_id, last_run_id, ended_run_id FROM themes"
            " ORDER BY theme_id"
        ).fetchall(),
        "cluster_themes": conn.execute(
            "SELECT * FROM cluster_themes ORDER BY cluster_id"
        ).fetchall(),
        "theme_runs": conn.execute(
            "SELECT run_id, seq, previous_run_id, clusters FROM theme_runs ORDER BY seq"
        ).fetchall(),
    }


def themes_by_name(conn: sqlite3.Connection, run_id: str) -> dict[str, str]:
    frame = run_themes(conn, run_id)
    return dict(zip(frame["name"], frame["theme_id"], strict=True))


def by_level(conn: sqlite3.Connection, run_id: str) -> dict[int, set[str]]:
    frame = run_themes(conn, run_id)
    return {int(lv): set(part["theme_id"]) for lv, part in frame.groupby("level")}


def test_a_first_run_numbers_its_themes_and_the_same_clustering_keeps_them(conn) -> None:
    first = run_themes(conn, "a")
    for level, part in first.groupby("level"):
        numbers = sorted(int(t.split("-")[1]) for t in part["theme_id"])
        assert numbers == list(range(1, len(part) + 1))
        assert all(t.startswith(f"T{level}-") for t in part["theme_id"])
    assert first["previous_cluster_id"].isna().all()
    assert theme_run(conn, "a")["previous_run_id"] is None
    # run b is the same clustering (same params and seed): every cluster keeps its id
    assert themes_by_name(conn, "b") == themes_by_name(conn, "a")
    second = run_themes(conn, "b")
    assert (second["jaccard"] == 1.0).all() and (second["member_jaccard"] == 1.0).all()
    assert theme_run(conn, "b")["previous_run_id"] == "a"


def test_a_changed_run_keeps_most_ids_and_records_what_ended(conn) -> None:
    c, d = by_level(conn, "c"), by_level(conn, "d")
    assert by_level(conn, "b") == by_level(conn, "a")
    assert len(d[1]) == 3 and len(c[1]) == 7
    themes = read_themes(conn).set_index("theme_id")
    ended = c[1] - d[1]
    assert len(ended) >= 4  # 7 level-1 themes cannot all live on in 3
    for theme in ended:
        assert themes.loc[theme, "ended_run_id"] == "d"
        assert themes.loc[theme, "last_run_id"] == "c"
    for alive in d.values():
        for theme in alive:
            assert pd.isna(themes.loc[theme, "ended_run_id"]), theme
            assert themes.loc[theme, "last_run_id"] == "d"
    kept = d[1] & c[1]
    assert kept and all(themes.loc[t, "first_run_id"] == "a" for t in kept)
    # another seed (run c) keeps nearly every level-1 theme, by items
    frame = run_themes(conn, "c")
    top = frame[frame["level"] == 1]
    share = top.loc[top["theme_id"].isin(by_level(conn, "b")[1]), "comment_count"].sum()
    assert share / top["comment_count"].sum() >= 0.8


def test_matching_again_changes_nothing(conn) -> None:
    before = snapshot(conn)
    again = assign_themes(conn, "d")
    assert again is not None and not again.matched_now
    assert snapshot(conn) == before
    forced = assign_themes(conn, "d", force=True)
    assert forced is not None and forced.matched_now
    assert snapshot(conn) == before  # same ids, numbers, lives, order


def test_a_kill_mid_way_loses_nothing_and_a_rerun_finishes(conn) -> None:
    ids_before = themes_by_name(conn, "d")
    # 02_cluster runs d again: the new clusters have no themes yet
    cluster_store(conn, cluster_params(**RUNS["d"]), run_id="d")
    assert not run_matched(conn, "d")
    state = snapshot(conn)
    plan = plan_themes(conn, "d")
    assert plan is not None

    def killed_half_way() -> Iterator[ThemeRow]:
        yield from plan.rows[: len(plan.rows) // 2]
        raise KeyboardInterrupt  # what a kill looks like inside the transaction

    with pytest.raises(KeyboardInterrupt):
        write_run_themes(conn, "d", killed_half_way(), previous_run_id="c", clusters=len(plan.rows))
    assert snapshot(conn) == state  # the transaction rolled back whole
    assert not run_matched(conn, "d")
    # the next step (here 04's export) finishes the job: the same ids as before
    done = assign_themes(conn, "d")
    assert done is not None and done.matched_now and run_matched(conn, "d")
    assert themes_by_name(conn, "d") == ids_before


def test_every_export_carries_the_theme_ids(conn, write_params, tmp_path: Path) -> None:
    params = load_params(write_params({"store": "store.db", "export": {"out_dir": "exp"}}))
    export_run(conn, params, run_id="d")
    out = tmp_path / "exp"
    members = read_memberships(conn, "d")
    theme_of = run_theme_ids(conn, "d")
    expected = {
        (int(i), int(lv)): theme_of[int(c)]
        for i, lv, c in zip(
            members["item_id"], members["level"], members["cluster_id"], strict=True
        )
    }
    items = json.loads((out / "items.json").read_text())
    assert items and all(
        item[f"theme_id_l{lv}"] == expected[(item["id"], lv)] for item in items for lv in (1, 2, 3)
    )
    clusters = json.loads((out / "clusters.json").read_text())
    assert {c["id"]: c["theme_id"] for c in clusters} == theme_of
    rows = list(csv.DictReader(io.StringIO((out / "items_themes.csv").read_text())))
    assert len(rows) == 800
    for row in rows:
        assert row["theme_id_l1"] == theme_of[int(row["cluster_id_l1"])]
    parquet = pd.read_parquet(out / "clusters.parquet")
    assert dict(zip(parquet["id"], parquet["theme_id"], strict=True)) == theme_of
    items_parquet = pd.read_parquet(out / "items.parquet")
    assert (items_parquet["theme_id_l2"] == items_parquet["cluster_id_l2"].map(theme_of)).all()
    changes = pd.read_csv(out / "changes.csv")
    table = theme_changes(conn, "d").table
    assert list(changes.columns) == list(table.columns)
    assert changes["theme_id"].tolist() == table["theme_id"].tolist()


def test_the_change_table_matches_the_data(conn) -> None:
    changes = check_change_table(conn, "c", "d")
    assert changes.shared_items == 800 and changes.moved_items > 0
    note = changes.note()
    assert note.startswith("Since run c: ") and f"{changes.moved_items:,} of the 800" in note
    summary = changes.summary(level=1, top=2)
    assert set(summary["change"]) <= {"new", "ended", "grew", "shrank"}
    level_1 = changes.table[changes.table["level"] == 1]
    assert (summary["change"] == "ended").sum() == (level_1["change"] == "ended").sum()
    first = theme_changes(conn, "a")
    assert first.previous_run_id is None and first.table.empty
    assert first.note() == "first run: nothing to compare"
    assert first.summary().empty and first.summary().attrs  # shown as its one-line note


def test_a_kept_theme_reuses_its_llm_card_and_pays_no_call(conn, write_params) -> None:
    # run c's LLM cards (one of them failed); run d keeps what did not change
    c = run_themes(conn, "c")
    failed = int(c["cluster_id"].iloc[0])
    put_cards(
        conn,
        [
            Card(int(cid), int(lv), "test-model", pattern_name=f"name of {cid}", summary="s",
                 category="bug", strength=5, failure="timeout" if cid == failed else None)
            for cid, lv in zip(c["cluster_id"], c["level"], strict=True)
        ],
    )  # fmt: skip
    d = run_themes(conn, "d")
    continued = d[d["previous_cluster_id"].notna() & (d["member_jaccard"] >= 0.9)]
    expected = {
        int(cid): f"name of {int(prev)}"
        for cid, prev in zip(continued["cluster_id"], continued["previous_cluster_id"], strict=True)
        if int(prev) != failed
    }
    carried = carried_cards(conn, "d", model="test-model", min_jaccard=0.9)
    assert {cid: card.pattern_name for cid, card in carried.items()} == expected
    assert 10 <= len(expected) < len(d)  # most carried, not all
    assert carried_cards(conn, "d", model="other-model", min_jaccard=0.9) == {}

    # 03_describe with an LLM: the carried cards are used as they are, no request for them
    params = load_params(
        write_params(
            {
                "store": "store.db",
                "describe": {"source": "llm", "model": "test-model", "base_url": "http://x/v1",
                             "api_key_env": "THEMEMAP_TEST_NO_KEY", "distinct_names": False},
                "continuity": {"card_reuse_jaccard": 0.9},
            }
        )
    )  # fmt: skip
    loaded = load_hierarchy(conn, params, cluster_run_id="d")
    assert set(loaded.carried) == set(expected)
    h = loaded.hierarchy
    offline = OfflineDescriber(params.describe).fit(h).cards_
    script = Script()
    client = LLMClient(params.describe, http_client=script.transport())
    describer = LLMDescriber(
        params.describe, cache=MemoryCache(), client=client, progress=False, carried=loaded.carried
    ).fit(h, offline)
    assert set(expected) <= set(describer.copied_)
    assert script.requests == len(h.nodes) - len(describer.copied_)
    for cid, name in expected.items():
        assert describer.cards_[cid].pattern_name == name and describer.cards_[cid].requests == 0


def test_themes_need_a_continuity_section_with_defaults(write_params) -> None:
    params = load_params(write_params({"continuity": {"match_min_jaccard": 0.5}}))
    assert params.continuity.match_min_jaccard == 0.5
    assert params.continuity.card_reuse_jaccard == ContinuityParams().card_reuse_jaccard
