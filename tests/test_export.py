"""04_export: reference-format JSON, Parquet, manifest, map payload, themes, run index."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from export_fixture import HOSTILE_TEXT, make_export_store

from thememap.errors import ParamsError, StoreError
from thememap.export import (
    SCHEMA_VERSION,
    export_run,
    load_export_data,
    map_html,
    map_payload,
    theme_volume,
    top_themes,
    write_parquet,
    write_reference_json,
    write_run_index,
)
from thememap.export.reference import CLUSTER_FIELDS, ITEM_FIELDS
from thememap.export.safe import json_for_script, srcdoc_iframe
from thememap.export.themes import theme_trends
from thememap.params import load_params
from thememap.store import open_store

# the reference Exporter's records, field by field, with the types it wrote (and ours at the
# end: external_id, the theme ids, null until the run's themes were matched)
REFERENCE_ITEM_TYPES = {
    "id": (int,), "content": (str,), "metadata": (dict, list), "created_at": (str, type(None)),
    "x": (float,), "y": (float,), "cluster_l1": (int, type(None)),
    "cluster_l2": (int, type(None)), "cluster_l3": (int, type(None)), "external_id": (str,),
    "theme_id_l1": (str, type(None)), "theme_id_l2": (str, type(None)),
    "theme_id_l3": (str, type(None)),
}  # fmt: skip
REFERENCE_CLUSTER_TYPES = {
    "id": (int,), "cluster_type": (str,), "level": (int,), "name": (str,),
    "parent_id": (int, type(None)), "comment_count": (int,), "description": (str, type(None)),
    "pattern_name": (str, type(None)), "category": (str, type(None)),
    "strength": (int, float, type(None)), "theme_id": (str, type(None)),
}  # fmt: skip


@pytest.fixture
def conn(tmp_path: Path):
    connection = make_export_store(tmp_path / "store.db", n=400)
    yield connection
    connection.close()


def test_reference_json_has_exactly_the_reference_fields_and_types(conn, tmp_path: Path) -> None:
    paths = write_reference_json(conn, tmp_path / "out")
    items = json.loads(paths["items.json"].read_text())
    clusters = json.loads(paths["clusters.json"].read_text())
    assert len(items) == 400 and len(clusters) == 5 + 15 + 30
    assert tuple(REFERENCE_ITEM_TYPES) == ITEM_FIELDS
    assert tuple(REFERENCE_CLUSTER_TYPES) == CLUSTER_FIELDS
    for record in items:
        assert list(record) == list(ITEM_FIELDS)
        for key, types in REFERENCE_ITEM_TYPES.items():
            assert isinstance(record[key], types), (key, record[key])
        assert record["x"] == round(record["x"], 4)
    for record in clusters:
        assert list(record) == list(CLUSTER_FIELDS)
        for key, types in REFERENCE_CLUSTER_TYPES.items():
            assert isinstance(record[key], types), (key, record[key])
    # ordered by level, then size (largest first)
    order = [(c["level"], -c["comment_count"]) for c in clusters]
    assert order == sorted(order)
    assert {c["level"] for c in clusters if c["parent_id"] is None} == {1}


def test_reference_json_rounding_truncation_metadata_and_layout(conn, tmp_path: Path) -> None:
    conn.execute("UPDATE items SET content = ? WHERE id = 10", ("x" * 900,))
    conn.execute("UPDATE items SET umap_x = 1.234567891 WHERE id = 11")
    conn.execute("UPDATE items SET umap_x = NULL WHERE id = 12")
    paths = write_reference_json(conn, tmp_path / "out")
    items = {r["id"]: r for r in json.loads(paths["items.json"].read_text())}
    assert len(items[10]["content"]) == 500
    assert items[11]["x"] == 1.2346
    assert 12 not in items  # no 2D position: left out, as the reference did
    assert items[1]["content"] == HOSTILE_TEXT  # data, untouched
    assert items[1]["metadata"] == {"source": "fixture", "topic": 0}
    assert items[6]["metadata"] == {}  # not JSON in the store -> {}
    # items.json compact like json.dump defaults; clusters.json indented by 2
    assert paths["items.json"].read_text().startswith('[{"id": 1, "content": ')
    assert paths["clusters.json"].read_text().startswith('[\n  {\n    "id": ')
    assert not list((tmp_path / "out").glob(".*tmp"))  # atomic writes leave nothing behind


def test_parquet_round_trips_through_pandas(conn, tmp_path: Path) -> None:
    data = load_export_data(conn)
    paths = write_parquet(data, tmp_path / "out")
    items = pd.read_parquet(paths["items.parquet"])
    clusters = pd.read_parquet(paths["clusters.parquet"])
    assert len(items) == 400 and len(clusters) == 50
    for column in (
        "id", "external_id", "content", "metadata_json", "created_at", "x", "y",
        "cluster_id_l1", "cluster_id_l2", "cluster_id_l3", "cluster_name_l3", "outlier_score_l2",
        "embedding_cluster_l1",
    ):  # fmt: skip
        assert column in items.columns, column
    assert items.loc[items["id"] == 1, "content"].item() == HOSTILE_TEXT
    assert items["x"].tolist() == pytest.approx(data.items["x"].tolist())
    assert json.loads(items.loc[items["id"] == 2, "metadata_json"].item())["source"] == "fixture"
    assert set(items["cluster_name_l1"].dropna()) == {f"L1_{i}" for i in range(5)}
    for column in (
        "keywords",
        "representatives",
        "coherence",
        "stability",
        "llm_category",
        "label_x",
    ):
        assert column in clusters.columns, column
    assert "centroid" not in clusters.columns  # vectors stay in the store
    assert list(clusters.loc[0, "keywords"])[:1] == [clusters.loc[0, "keywords"][0]]
    # every item's L3 cluster nests in its L2 cluster (the file keeps the hierarchy)
    parent = dict(zip(clusters["id"], clusters["parent_id"], strict=True))
    assert (items["cluster_id_l3"].map(parent) == items["cluster_id_l2"]).all()


def test_export_run_writes_everything_with_a_manifest(conn, write_params, tmp_path: Path) -> None:
    params = load_params(write_params({"store": "store.db", "export": {"out_dir": "exp"}}))
    report = tmp_path / "reports" / "r1"
    result = export_run(conn, params, run_id="fixture-run", report_dir=report)
    names = {p.name for p in (tmp_path / "exp").iterdir()}
    assert names == {
        "items.json", "clusters.json", "items.parquet", "clusters.parquet", "cards.parquet",
        "map.html", "manifest.json", "items_themes.csv", "embedding_atlas", "datamapplot",
        "changes.csv",
    }  # fmt: skip
    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["run_id"] == "fixture-run"
    assert manifest["clusters_per_level"] == {"1": 5, "2": 15, "3": 30}
    assert [q["level"] for q in manifest["label_quality"]] == [1, 2, 3]
    cards = pd.read_parquet(tmp_path / "exp" / "cards.parquet")
    assert len(cards) == 50 + 5 and set(cards["source"]) == {"offline", "test-llm"}
    assert manifest["files"]["items.json"]["bytes"] == (tmp_path / "exp/items.json").stat().st_size
    assert (report / "map.html").read_text() == result.map_page
    # the notebook frames the report folder's page instead of carrying plotly.js again
    assert result.map is not None
    cell = result.map._repr_html_()
    assert 'src="map.html"' in cell and "srcdoc" not in cell and len(cell) < 1_000
    # no file beside the notebook: the page is inlined
    alone = dataclasses.replace(result, map_src=None).map
    assert alone is not None and "srcdoc=" in alone._repr_html_()


def test_the_map_page_is_self_contained_and_escapes_item_text(conn) -> None:
    payload = map_payload(load_export_data(conn))
    page = map_html(payload)
    assert "<script src" not in page and "https://" not in page.split("<script>")[0]
    assert HOSTILE_TEXT not in page  # only as \u003cscript\u003e... inside the JSON
    assert page.count("</script>") == 3  # plotly.js, the data, the app
    assert "@@DATA@@" not in page.split('id="tm-data">')[0]
    assert payload["items"]["text"][0] == HOSTILE_TEXT  # the value itself is unchanged
    data_json = page.split('<script type="application/json" id="tm-data">')[1].split("</script>")[0]
    assert json.loads(data_json)["items"]["text"][:3] == payload["items"]["text"][:3]


def test_json_for_script_and_srcdoc_escape_everything_that_breaks_out() -> None:
    nasty = {"t": "</script><!-- <script> \u2028\u2029 & '\""}
    text = json_for_script(nasty)
    for bad in ("</", "<!--", "<script", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == nasty
    assert json_for_script({"v": float("nan")}) == '{"v":null}'
    frame = srcdoc_iframe('<p class="x">a & b</p>', height=300)
    assert 'srcdoc="&lt;p class=&quot;x&quot;&gt;a &amp; b&lt;/p&gt;"' in frame


def test_map_payload_levels_colours_samples_and_sampling(conn) -> None:
    data = load_export_data(conn)
    payload = map_payload(data, level=2, max_points=100)
    assert payload["options"]["level"] == 2
    assert len(payload["items"]["x"]) == 100
    clusters = payload["clusters"]
    assert all(c["samples"] for c in clusters) and all(c["keywords"] for c in clusters)
    for level in ("1", "2", "3"):
        assert all(-1 <= c < len(clusters) for c in payload["items"]["c"][level])
    # children take shades of their level-1 parent's hue; level 1 colours all differ
    assert len({c["color"] for c in clusters if c["level"] == 1}) == 5
    assert payload["items"]["t"][0] is not None and payload["items"]["t"][0].count("-") == 2


def test_clusters_found_by_reference_labels_without_memberships(tmp_path: Path) -> None:
    conn = make_export_store(tmp_path / "s.db", n=120, memberships=False)
    data = load_export_data(conn)
    names = dict(zip(data.clusters["id"], data.clusters["name"], strict=True))
    for _, row in data.items.iterrows():
        assert names[row["cluster_id_l2"]] == f"L2_{row['embedding_cluster_l2']}"
    assert "outlier_score_l1" not in data.items.columns


def test_themes_over_time_shows_growth_and_fading(conn) -> None:
    data = load_export_data(conn)
    volume = theme_volume(data, level=1)
    assert volume.attrs["freq"] == "M" and volume.shape[1] == 5
    assert int(volume.to_numpy().sum()) == int(data.items["created_at"].notna().sum())
    trends = theme_trends(volume)
    assert trends.iloc[0]["theme"].startswith("Network")  # theme 0 grows in the fixture
    assert trends.iloc[-1]["theme"].startswith("Game")  # theme 1 fades
    assert theme_volume(data, level=3, freq="Y").shape == (2, 30)
    top = top_themes(data, level=1, n=3)
    assert list(top["items"]) == sorted(top["items"], reverse=True) and len(top) == 3


def test_no_dates_means_an_empty_timeline(tmp_path: Path) -> None:
    conn = make_export_store(tmp_path / "s.db", n=60, dates=False)
    data = load_export_data(conn)
    assert theme_volume(data).empty
    assert map_payload(data)["items"]["t"] is None


def test_export_without_clusters_is_a_clear_error(tmp_path: Path) -> None:
    conn = open_store(tmp_path / "empty.db")
    with pytest.raises(StoreError, match="02_cluster"):
        load_export_data(conn)


def test_export_params_are_validated(write_params) -> None:
    params = load_params(write_params({"export": {"map_level": 3, "time_bin": "Q"}}))
    assert params.export.map_level == 3 and params.export.out_dir == Path("exports")
    with pytest.raises(ParamsError, match="map_label_zoom"):
        load_params(write_params({"export": {"map_label_zoom": [5, 2]}}))
    with pytest.raises(ParamsError, match=r"export\.nope: unknown key"):
        load_params(write_params({"export": {"nope": 1}}))


def test_run_index_links_notebooks_and_escapes_everything(conn, tmp_path: Path) -> None:
    conn.execute(
        "INSERT INTO run_steps(run_id, step, started_at, seconds, status, detail)"
        " VALUES ('fixture-run', '03_describe', '2026-01-01T00:00:00Z', 2.5, 'ok', ?)",
        (json.dumps({"label_quality": 0.81, "cards": 50, "note": HOSTILE_TEXT}),),
    )
    run_dir = tmp_path / "reports" / "fixture-run"
    run_dir.mkdir(parents=True)
    (run_dir / "map.html").write_text("<html></html>")
    path = write_run_index(
        run_dir,
        conn=conn,
        run_id="fixture-run",
        notebooks=[
            {"name": "01_embed", "html": "01_embed.html", "seconds": 3.2, "status": "ok"},
            {
                "name": "02_cluster",
                "html": None,
                "seconds": 1.0,
                "status": "failed",
                "error": HOSTILE_TEXT,
            },
        ],
        params={"embed": {"api_key_env": "OPENAI_API_KEY"}, "note": HOSTILE_TEXT},
    )
    page = path.read_text()
    assert HOSTILE_TEXT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="01_embed.html">01_embed</a>' in page and 'href="map.html"' in page
    assert "clusters, level 3" in page and "label_quality (03_describe)" in page
    assert "unplaced share, level 1" in page and "OPENAI_API_KEY" in page
    assert "<h2>Label quality</h2>" in page and "retrieval_top1" in page
    assert "http" not in page.replace("http-equiv", "")  # nothing remote


def test_label_positions_fall_back_to_a_member_near_the_median(tmp_path: Path) -> None:
    stored = load_export_data(make_export_store(tmp_path / "a.db", n=200))
    computed = load_export_data(make_export_store(tmp_path / "b.db", n=200, label_xy=False))
    assert computed.clusters[["x", "y"]].notna().all().all()
    # the computed anchor is a member's own position (inside the cluster), near the median
    points = set(zip(computed.items["x"], computed.items["y"], strict=True))
    assert all(
        xy in points for xy in zip(computed.clusters["x"], computed.clusters["y"], strict=True)
    )
    gap = (computed.clusters[["x", "y"]] - stored.clusters[["x", "y"]]).abs().max().max()
    assert gap < 4.0


def test_cards_come_from_the_chosen_card(conn, tmp_path: Path) -> None:
    data = load_export_data(conn)
    payload = map_payload(data)
    by_name = {c["name"]: c for c in payload["clusters"]}
    l1 = next(c for c in payload["clusters"] if c["level"] == 1)
    assert l1["keywords"][0].startswith("llm ")  # the LLM card (chosen for the reference columns)
    l2 = next(c for c in payload["clusters"] if c["level"] == 2)
    assert "phrase" in l2["keywords"][0]  # the offline card
    assert l2["title"] == by_name[l2["name"]]["title"] and l2["summary"].startswith("Items about")
    # no llm_* columns filled: the offline card fills the reference's fields
    conn.execute(
        "UPDATE clusters SET llm_pattern_name = NULL, llm_description = NULL,"
        " strength_score = NULL WHERE level = 3"
    )
    records = write_reference_json(conn, tmp_path / "o")["clusters.json"]
    l3 = [c for c in json.loads(records.read_text()) if c["level"] == 3]
    assert all(c["pattern_name"].startswith("offline ") for c in l3)
    assert all(isinstance(c["strength"], int) for c in l3)


def test_the_exports_show_the_card_the_one_rule_chose(conn) -> None:
    """The card an export shows is the one 03_describe chose (read back from the reference
    columns), and where they name no card, the one rule (a working LLM card, else offline)."""
    from thememap.describe.cards import Card, choose_card
    from thememap.store.cards import read_effective_cards

    level1 = conn.execute("SELECT id FROM clusters WHERE level = 1 ORDER BY id").fetchall()
    first, second, third = (int(r[0]) for r in level1[:3])
    # describe re-run offline: the reference columns now show the first cluster's offline card
    conn.execute(
        "UPDATE clusters SET llm_pattern_name = (SELECT pattern_name FROM cluster_cards"
        " WHERE cluster_id = clusters.id AND source = 'offline') WHERE id = ?",
        (first,),
    )
    # the second's LLM card failed; the third's reference columns name no card at all
    conn.execute("UPDATE cluster_cards SET failure = 'timeout' WHERE cluster_id = ?", (second,))
    conn.execute("UPDATE cluster_cards SET failure = NULL WHERE source = 'offline'")
    conn.execute("UPDATE clusters SET llm_pattern_name = 'edited' WHERE id = ?", (third,))
    shown = load_export_data(conn).clusters.set_index("id")["card_source"]
    assert (shown[first], shown[second], shown[third]) == ("offline", "offline", "test-llm")
    effective = read_effective_cards(conn, "fixture-run", "test-llm").set_index("cluster_id")
    assert effective.loc[second, "card_source"] == "offline"
    assert effective.loc[third, "card_source"] == "test-llm"
    assert effective.loc[second, "llm_failure"] == "timeout"
    # the in-memory rule agrees
    offline = Card(cluster_id=1, level=1, source="offline", pattern_name="o")
    failed = Card(cluster_id=1, level=1, source="m", failure="timeout")
    assert choose_card(failed, offline) is offline
    assert choose_card(Card(cluster_id=1, level=1, source="m"), offline).source == "m"
    assert choose_card(None, offline) is offline


def test_unplaced_items_stay_grey_and_null_everywhere(conn, tmp_path: Path) -> None:
    # noise kept as noise (opt-in in 02_cluster): no cluster at level 3 for items 20..29
    conn.execute(
        "UPDATE memberships SET cluster_id = NULL WHERE level = 3 AND item_id BETWEEN 20 AND 29"
    )
    conn.execute("UPDATE items SET embedding_cluster_l3 = NULL WHERE id BETWEEN 20 AND 29")
    data = load_export_data(conn)
    assert data.items["cluster_id_l3"].isna().sum() == 10
    payload = map_payload(data)
    row = payload["items"]["c"]["3"]
    assert sum(1 for c in row if c == -1) == 10
    items = json.loads(write_reference_json(conn, tmp_path / "o")["items.json"].read_text())
    assert sum(1 for r in items if r["cluster_l3"] is None) == 10
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    page = write_run_index(run_dir, conn=conn, run_id="fixture-run", notebooks=[], params={})
    assert "unplaced share, level 3" in page.read_text()


def test_every_export_keeps_the_users_id(conn, tmp_path: Path) -> None:
    """items.json and items.parquet carry each item's ``external_id`` (the id_field value)."""
    import pandas as pd

    stored = dict(conn.execute("SELECT id, external_id FROM items").fetchall())
    paths = write_reference_json(conn, tmp_path / "out")
    items = json.loads(paths["items.json"].read_text())
    assert {item["id"]: item["external_id"] for item in items} == stored
    data = load_export_data(conn)
    parquet = write_parquet(data, tmp_path / "pq")
    frame = pd.read_parquet(parquet["items.parquet"])
    assert dict(zip(frame["id"], frame["external_id"], strict=True)) == stored
