"""04_export's CSV, Embedding Atlas and datamapplot files, and the map payload's new parts:
neighbours, metadata fields, the robust first view, key-phrase coverage, CSV safety."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from export_fixture import HOSTILE_TEXT, make_export_store

from thememap.export import export_run, load_export_data, map_payload
from thememap.export.evidence import PhraseCoverage
from thememap.export.interop import ATLAS_COMMAND, DATAMAPPLOT_SNIPPET, csv_text, themes_frame
from thememap.export.map_fields import metadata_fields
from thememap.export.neighbours import attach_neighbours, nearest_rows
from thememap.export.payload import view_range
from thememap.export.safe import spreadsheet_safe
from thememap.params import load_params

FORMULA = '=HYPERLINK("http://evil","x")\nsecond line, with a comma'


@pytest.fixture
def conn(tmp_path: Path):
    connection = make_export_store(tmp_path / "store.db", n=400, vectors=True)
    connection.execute("UPDATE items SET content = ? WHERE id = 10", (FORMULA,))
    connection.commit()
    yield connection
    connection.close()


def test_spreadsheet_safe_quotes_formulas_but_not_numbers() -> None:
    for cell in ("=1+2", "+cmd", "-2+3", "@SUM(A1)", "\t=x", "\r=x", "=HYPERLINK()"):
        assert spreadsheet_safe(cell) == "'" + cell
    for cell in ("-3", "+1.5e3", "-.5", "plain", "", "a=b", "3-2"):
        assert spreadsheet_safe(cell) == cell
    assert spreadsheet_safe(None) == ""


def test_csv_text_round_trips_through_a_csv_reader() -> None:
    frame = pd.DataFrame({"id": ["a", "-7"], "text": [FORMULA, 'say "hi", <b>bye</b>']})
    rows = list(csv.reader(io.StringIO(csv_text(frame))))
    assert rows == [["id", "text"], ["a", "'" + FORMULA], ["-7", 'say "hi", <b>bye</b>']]


def test_nearest_rows_match_a_brute_force_cosine() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 12)).astype(np.float32)
    rows, dist = nearest_rows(x, k=5)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    expected = np.argsort(-sims, axis=1)[:, :5]
    assert (rows == expected).mean() > 0.99  # ties may swap
    assert np.allclose(dist[:, 0], 1 - sims[np.arange(300), expected[:, 0]], atol=1e-5)
    assert (rows != np.arange(300)[:, None]).all()  # never itself


def test_neighbours_are_rows_of_the_items_and_survive_map_sampling(conn) -> None:
    data = attach_neighbours(conn, load_export_data(conn), k=10)
    assert data.neighbours is not None and data.neighbours.shape == (400, 10)
    level3 = data.items["cluster_id_l3"].to_numpy()
    same = (level3[data.neighbours] == level3[:, None]).mean()
    assert same > 0.8, same  # fixture vectors point along their fine theme
    payload = map_payload(data, max_points=150)
    nb = payload["items"]["nb"]
    assert nb["k"] == 10 and len(nb["idx"]) == 150 * 10
    assert all(-1 <= j < 150 for j in nb["idx"]) and any(j >= 0 for j in nb["idx"])


def test_no_vectors_means_no_neighbours_not_an_error(tmp_path: Path) -> None:
    conn = make_export_store(tmp_path / "s.db", n=60)  # no embeddings at all
    data = attach_neighbours(conn, load_export_data(conn), k=10)
    assert data.neighbours is None and map_payload(data)["items"]["nb"] is None


def test_metadata_fields_numeric_categorical_and_left_out() -> None:
    rows = []
    for i in range(300):
        rows.append(
            json.dumps(
                {
                    "score": i % 50,
                    "price": str(i * 1.5),  # number-like text, many values: numeric
                    "channel": ["mail", "chat", "phone"][i % 3],
                    "user": f"u{i}",  # an id: left out
                    "tags": ["a"],  # nested: left out
                    "many": f"v{i % 40}" if i < 200 else "rare",  # 41 values: top 19 + other
                    "same": "x",  # one value: colours nothing
                }
            )
        )
    fields = {f["name"]: f for f in metadata_fields(pd.Series([*rows, "not json {"]))}
    assert set(fields) == {"score", "price", "channel", "many"}
    assert fields["score"]["kind"] == "number" and fields["score"]["values"][:3] == [0, 1, 2]
    assert fields["price"]["kind"] == "number" and fields["price"]["values"][-1] is None
    channel = fields["channel"]
    assert channel["kind"] == "category" and sorted(channel["values"]) == ["chat", "mail", "phone"]
    assert channel["codes"][:3] == [channel["values"].index(v) for v in ("mail", "chat", "phone")]
    many = fields["many"]
    assert len(many["values"]) == 20 and many["values"][-1] == "(other)" and many["other"]
    assert sum(many["counts"]) == 300


def test_first_view_ignores_far_outliers() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, 10_000), [1_000.0, 2_000.0, -5_000.0]])
    lo, hi = view_range(x) or (0, 0)
    assert -6 < lo < -2 and 2 < hi < 6


def test_phrase_coverage_counts_items_that_mention_every_word() -> None:
    texts = ["Proxy server down", "the proxy", "server room", "nothing", "PROXY SERVERS slow"]
    coverage = PhraseCoverage(texts)
    (share,) = coverage.scores(["proxy server"], np.array([0, 1, 4]))
    assert share["share"] == pytest.approx(2 / 3, abs=1e-3)
    assert share["lift"] == pytest.approx((2 / 3) / (2 / 5), abs=0.1)


def test_export_writes_the_csv_embedding_atlas_and_datamapplot_files(
    conn, write_params, tmp_path: Path
) -> None:
    params = load_params(write_params({"store": "store.db", "export": {"out_dir": "exp"}}))
    result = export_run(conn, params)
    out = tmp_path / "exp"
    data = result.data

    # items_themes.csv: every item, its theme per level by name and id, formulas defused
    rows = list(csv.DictReader(io.StringIO((out / "items_themes.csv").read_text())))
    assert len(rows) == len(data.items)
    assert list(rows[0])[:5] == ["id", "text", "created_at", "x", "y"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["ext-0"]["text"] == HOSTILE_TEXT
    assert by_id["ext-9"]["text"] == "'" + FORMULA
    names = dict(zip(data.clusters["id"], data.clusters["llm_pattern_name"], strict=True))
    for r in rows[:50]:
        assert r["theme_l2"] == names[int(r["cluster_id_l2"])]

    # Embedding Atlas: items with x, y, text, themes and neighbours as row numbers
    atlas = pd.read_parquet(out / "embedding_atlas" / "items.parquet")
    assert {"id", "text", "x", "y", "theme_l1", "theme_l3", "neighbors", "topic"} <= set(atlas)
    first = atlas["neighbors"].iloc[0]
    assert len(first["ids"]) == 10 and all(0 <= i < len(atlas) for i in first["ids"])
    assert list(first["distances"]) == sorted(first["distances"])
    labels = pd.read_parquet(out / "embedding_atlas" / "labels.parquet")
    assert list(labels.columns) == ["x", "y", "text", "level", "priority"]
    assert sorted(labels["level"].unique()) == [0, 1, 2] and len(labels) == len(data.clusters)
    assert ATLAS_COMMAND in (out / "embedding_atlas" / "README.md").read_text()

    # datamapplot: plain arrays (no pickle), one label array per level, finest first in the snippet
    coords = np.load(out / "datamapplot" / "coords.npy", allow_pickle=False)
    arrays = np.load(out / "datamapplot" / "labels.npz", allow_pickle=False)
    assert coords.shape == (len(data.items), 2) and coords.dtype == np.float32
    assert {"l1", "l2", "l3", "hover_text", "id"} <= set(arrays.files)
    assert arrays["l1"].shape == (len(data.items),) and arrays["hover_text"][0] == HOSTILE_TEXT
    assert 'labels["l3"], labels["l2"], labels["l1"]' in DATAMAPPLOT_SNIPPET

    # the manifest covers the files inside the two folders
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("items_themes.csv", "embedding_atlas/items.parquet", "datamapplot/labels.npz"):
        assert manifest["files"][name]["bytes"] == (out / name).stat().st_size
    assert all(path.is_file() for path in result.files.values())


def test_interop_files_can_be_switched_off(conn, write_params, tmp_path: Path) -> None:
    params = load_params(
        write_params(
            {
                "store": "store.db",
                "export": {"out_dir": "exp", "items_csv": False, "embedding_atlas": False,
                           "datamapplot": False, "map_neighbours": 0},
            }
        )
    )  # fmt: skip
    result = export_run(conn, params)
    assert result.data.neighbours is None
    assert not {"items_themes.csv", "embedding_atlas", "datamapplot"} & {
        p.name for p in (tmp_path / "exp").iterdir()
    }


def test_themes_frame_keeps_unplaced_items_empty(conn) -> None:
    conn.execute("UPDATE memberships SET cluster_id = NULL WHERE level = 3 AND item_id <= 5")
    frame = themes_frame(load_export_data(conn))
    assert frame["theme_l3"].isna().sum() == 5 and frame["cluster_id_l3"].isna().sum() == 5


def test_export_summary_has_a_row_per_file_or_folder(conn, write_params) -> None:
    params = load_params(write_params({"store": "store.db", "export": {"out_dir": "exp"}}))
    rows = {r["file"]: r for r in export_run(conn, params).summary()}
    assert {"embedding_atlas/", "datamapplot/", "items_themes.csv", "map.html"} <= set(rows)
    assert not any("/" in name[:-1] for name in rows)  # nested files folded into their folder
    assert rows["datamapplot/"]["kB"] > 0
