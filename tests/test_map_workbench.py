"""The map as a workbench, in real headless Chromium with the network cut off: lasso
selection -> list -> CSV, full-text search -> results -> item -> more like this, colour by a
metadata field with its legend, the hierarchy's click-through, a theme's evidence and its
links, a first view that outliers do not set; hostile text stays text everywhere."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import artifact, needs_chromium, offline_browser
from export_fixture import HOSTILE_TEXT, make_export_store

from thememap.export import load_export_data, map_payload, write_map
from thememap.export.neighbours import attach_neighbours

pytestmark = [pytest.mark.browser, needs_chromium]

EVIL_NAME = '"><img src=x onerror=alert(7)> javascript:alert(8) a theme name long enough to wrap'
EVIL_VALUE = '"><img src=x onerror=alert(9)>'
EVIL_KEY = "<b onmouseover=alert(10)>field"
FORMULA = '=HYPERLINK("javascript:alert(12)","x")\nsecond line, with a comma'
LONG_WORD = "zebracornium"  # only past the first 300 characters of one item
DATA_TO_PAGE = """([x, y]) => { const fl = thememapMap.gd._fullLayout, s = fl._size;
  const xr = fl.xaxis.range, yr = fl.yaxis.range, r = thememapMap.gd.getBoundingClientRect();
  return [r.left + s.l + (x - xr[0]) / (xr[1] - xr[0]) * s.w,
          r.top + s.t + (1 - (y - yr[0]) / (yr[1] - yr[0])) * s.h]; }"""
SELECTED = (
    "() => { const s = thememapMap.state.selected, out = [];"
    " if (s) for (let i = 0; i < s.length; i++) if (s[i]) out.push(i); return out; }"
)
INJECTED = (
    "() => document.querySelectorAll('img, [onerror], [onmouseover], a[href^=\"javascript\"]')"
    ".length + document.scripts.length - 3"
)  # plotly.js, the data, the app: nothing added


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """800 items with vectors; hostile text in a theme name, metadata keys/values and items."""
    folder = tmp_path_factory.mktemp("workbench")
    conn = make_export_store(folder / "store.db", n=800, vectors=True)
    conn.execute(
        "UPDATE clusters SET llm_pattern_name = ? WHERE level = 2 AND name = 'L2_0'", (EVIL_NAME,)
    )
    # the chosen (LLM) cards of level 1: key phrases that occur in the items' text
    conn.execute(
        "UPDATE cluster_cards SET keywords = json_array('network', 'proxy server', 'absent words')"
        " WHERE source = 'test-llm'"
    )
    for (item_id,) in conn.execute("SELECT id FROM items").fetchall():
        meta = {
            "channel": ["email", "chat", EVIL_VALUE, "=cmd|' /C calc'!A0"][item_id % 4],
            "score": (item_id * 7) % 100,
            EVIL_KEY: ["a", "b"][item_id % 2],
        }
        conn.execute("UPDATE items SET metadata = ? WHERE id = ?", (json.dumps(meta), item_id))
    network = [r[0] for r in conn.execute("SELECT id FROM items WHERE embedding_cluster_l1 = 0")]
    conn.execute("UPDATE items SET content = ? WHERE id = ?", (FORMULA, network[5]))
    long_text = "network proxy words " * 30 + f"and at the very end {LONG_WORD}"
    conn.execute("UPDATE items SET content = ? WHERE id = ?", (long_text, network[6]))
    conn.commit()
    yield folder / "store.db"
    conn.close()


@pytest.fixture(scope="module")
def page_file(store: Path) -> Path:
    from thememap.store import open_store

    conn = open_store(store)
    data = attach_neighbours(conn, load_export_data(conn), k=10)
    conn.close()
    return write_map(map_payload(data), store.parent / "map.html")


@pytest.fixture(scope="module")
def payload(page_file: Path) -> dict[str, Any]:
    text = page_file.read_text()
    return json.loads(text.split('id="tm-data">')[1].split("</script>")[0])


def _open(session: Any, path: Path) -> Any:
    page = session.page
    page.goto(path.as_uri())
    page.wait_for_selector('body[data-ready="1"]', timeout=60_000)
    return page


def _theme(payload: dict[str, Any], title: str) -> int:
    """Index of the theme called ``title`` in the page's clusters."""
    return next(i for i, c in enumerate(payload["clusters"]) if c["title"] == title)


def _assert_clean(session: Any) -> None:
    page = session.page
    assert session.dialogs == [], "text ran as code"
    assert page.evaluate(INJECTED) == 0, "text became an element"
    assert session.remote_requests() == [] and session.errors == []


def _inside(poly: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each point is inside the polygon (even-odd), and its distance to the outline."""
    inside = np.zeros(len(pts), dtype=bool)
    dist = np.full(len(pts), np.inf)
    for a, b in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        crosses = (a[1] > pts[:, 1]) != (b[1] > pts[:, 1])
        x_at = a[0] + (pts[:, 1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1] + 1e-12)
        inside ^= crosses & (pts[:, 0] < x_at)
        ab = b - a
        t = np.clip(((pts - a) @ ab) / max(float(ab @ ab), 1e-12), 0, 1)
        dist = np.minimum(dist, np.linalg.norm(pts - (a + t[:, None] * ab), axis=1))
    return inside, dist


def test_lasso_selection_lists_items_downloads_csv_and_copies_ids(
    page_file: Path, payload: dict[str, Any]
) -> None:
    items = payload["items"]
    with offline_browser() as session:
        page = _open(session, page_file)
        session.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.click('.modebar-btn[data-val="lasso"]')
        # a hexagon around the network theme and the three tricky items right of it
        corners = [(6.5, -5.5), (16, -6.5), (21.5, -1), (21.5, 5.5), (15, 6.0), (8, 4.5)]
        poly = np.array([page.evaluate(DATA_TO_PAGE, list(c)) for c in corners])
        page.mouse.move(*poly[0])
        page.mouse.down()
        for a, b in zip(poly, np.roll(poly, -1, axis=0), strict=True):
            for t in np.linspace(0, 1, 8)[1:]:
                page.mouse.move(*(a + (b - a) * t))
        pts = np.array(
            [
                page.evaluate(DATA_TO_PAGE, [x, y])
                for x, y in zip(items["x"], items["y"], strict=True)
            ]
        )
        page.mouse.up()
        page.wait_for_function("Number(document.body.dataset.selected) > 0", timeout=20_000)
        selected = set(page.evaluate(SELECTED))
        inside, dist = _inside(poly, pts)
        clear = dist > 3  # points on the outline may go either way
        assert set(np.flatnonzero(inside & clear)) <= selected
        assert not selected & set(np.flatnonzero(~inside & clear))
        assert {0, 1, 2} <= selected  # the hostile items right of the theme
        n = len(selected)
        pane = page.locator("#tm-selection")
        assert f"{n} selected" in pane.inner_text() and page.inner_text("#tm-selcount") == str(n)
        assert pane.locator(".tm-row").count() == min(n, 200)
        assert HOSTILE_TEXT in pane.inner_text() and EVIL_NAME in pane.inner_text()
        page.screenshot(path=artifact("workbench_lasso.png"))

        with page.expect_download() as download:
            page.click(".tm-csv")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == n and {r["id"] for r in rows} == {items["id"][i] for i in selected}
        assert list(rows[0]) == ["id", "text", "created_at", "theme_l1", "theme_l2", "theme_l3"]
        by_id = {r["id"]: r for r in rows}
        assert by_id["ext-0"]["text"] == HOSTILE_TEXT  # as text, unchanged
        formula = next(r for r in rows if "HYPERLINK" in r["text"])
        assert formula["text"] == "'" + FORMULA  # a spreadsheet shows it, never runs it
        assert any(r["theme_l2"] == EVIL_NAME for r in rows)

        page.click(".tm-copy")
        page.wait_for_function("document.body.dataset.copied !== undefined", timeout=10_000)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert sorted(copied.split("\n")) == sorted(items["id"][i] for i in selected)
        _assert_clean(session)


def test_full_text_search_lists_results_and_a_click_shows_the_item(
    page_file: Path, payload: dict[str, Any]
) -> None:
    items = payload["items"]
    long_item = next(i for i, t in enumerate(items["text"]) if LONG_WORD in t)
    assert items["text"][long_item].index(LONG_WORD) > 300
    with offline_browser() as session:
        page = _open(session, page_file)
        page.fill("#tm-search", LONG_WORD.upper())  # case does not matter
        page.wait_for_function("document.body.dataset.matches === '1'", timeout=20_000)
        rows = page.locator("#tm-results .tm-row")
        assert rows.count() == 1 and items["id"][long_item] in rows.first.inner_text()

        page.fill("#tm-search", "proxy server")
        page.wait_for_function("Number(document.body.dataset.matches) > 20", timeout=20_000)
        expected = [
            i for i, t in enumerate(items["text"]) if "proxy" in t.lower() and "server" in t.lower()
        ]
        assert page.inner_text("#tm-count") == f"{len(expected)} matches"
        assert rows.count() == len(expected)
        home = page.evaluate("() => thememapMap.gd._fullLayout.xaxis.range.slice()")
        target = int(rows.nth(3).get_attribute("data-item"))
        rows.nth(3).click()
        item = page.locator("#tm-item")
        item.wait_for(state="visible")
        assert (
            items["text"][target] in item.inner_text() and items["id"][target] in item.inner_text()
        )
        page.wait_for_function(f"thememapMap.state.focus === {target}")
        page.wait_for_timeout(300)
        xr = page.evaluate("() => thememapMap.gd._fullLayout.xaxis.range.slice()")
        assert xr[1] - xr[0] < (home[1] - home[0]) / 4  # zoomed in ...
        assert xr[0] < items["x"][target] < xr[1]  # ... on the item
        page.screenshot(path=artifact("workbench_search_item.png"))

        # more like this: the item's 10 nearest by embedding, mostly from its own fine theme
        page.click(".tm-more")
        page.wait_for_function("document.body.dataset.matches === '10'", timeout=10_000)
        listed = [
            int(r.get_attribute("data-item")) for r in page.locator("#tm-results .tm-row").all()
        ]
        k = payload["items"]["nb"]["k"]
        assert listed == [j for j in items["nb"]["idx"][target * k : target * k + k] if j >= 0]
        fine = items["c"]["3"]
        assert sum(fine[j] == fine[target] for j in listed) >= 7
        _assert_clean(session)


def test_colour_by_a_metadata_field_shows_a_legend(
    page_file: Path, payload: dict[str, Any]
) -> None:
    fields = {f["name"]: f for f in payload["items"]["fields"]}
    channel = fields["channel"]
    with offline_browser() as session:
        page = _open(session, page_file)
        options = page.eval_on_selector_all(
            "#tm-colour option", "els => els.map(e => e.textContent)"
        )
        assert EVIL_KEY in options and "score" in options  # a hostile key is an option's text
        page.select_option("#tm-colour", label="channel")
        legend = page.locator("#tm-legend")
        legend.wait_for(state="visible")
        assert legend.locator(".tm-legend-row").count() == 4
        assert EVIL_VALUE in legend.inner_text() and "=cmd|' /C calc'!A0" in legend.inner_text()
        palette = payload["options"]["palette"]
        colours = page.evaluate("() => thememapMap.gd.data[0].marker.color.slice(0, 40)")
        assert colours == [palette[c] for c in channel["codes"][:40]]
        page.screenshot(path=artifact("workbench_colour_category.png"))
        # a legend entry selects its items
        legend.locator(".tm-legend-row", has_text="email").click()
        page.wait_for_function("Number(document.body.dataset.selected) > 0")
        code = channel["values"].index("email")
        assert page.evaluate(SELECTED) == [i for i, c in enumerate(channel["codes"]) if c == code]

        page.select_option("#tm-colour", label="score")
        page.wait_for_selector("#tm-legend .tm-colourbar")
        ticks = legend.locator(".tm-colourbar-ticks").inner_text()
        assert str(fields["score"]["lo"]).rstrip("0").rstrip(".") in ticks.replace(",", "")
        colours = page.evaluate("() => thememapMap.gd.data[0].marker.color.slice(0, 5)")
        assert all(c.startswith("rgb(") for c in colours) and len(set(colours)) > 1
        page.screenshot(path=artifact("workbench_colour_number.png"))
        page.select_option("#tm-colour", label="level 1")
        legend.wait_for(state="hidden")
        _assert_clean(session)


def test_hierarchy_click_selects_the_theme_items_on_the_map(
    page_file: Path, payload: dict[str, Any]
) -> None:
    target = _theme(payload, "Game theme 1.1")
    members = [i for i, c in enumerate(payload["items"]["c"]["2"]) if c == target]
    with offline_browser() as session:
        page = _open(session, page_file)
        page.click("#tm-open-tree")
        page.wait_for_selector('body[data-tree="1"]', timeout=30_000)
        tree = page.locator("#tm-tree")
        assert EVIL_NAME in tree.inner_text()  # the hostile name, as text
        box = (
            tree.locator("g.slice", has_text="Game theme 1.1")
            .first.locator("path.surface")
            .bounding_box()
        )
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 6)
        page.wait_for_function(
            f"document.body.dataset.selected === '{len(members)}'", timeout=20_000
        )
        assert page.evaluate(SELECTED) == members
        shown = page.evaluate("() => thememapMap.gd.data[0].selectedpoints.length")
        assert shown == len(members)  # drawn as the map's selection
        assert page.inner_text("#tm-selcount") == str(len(members))
        page.screenshot(path=artifact("workbench_hierarchy.png"))
        _assert_clean(session)


def test_card_shows_its_evidence_and_its_links_navigate(
    page_file: Path, payload: dict[str, Any]
) -> None:
    clusters, items = payload["clusters"], payload["items"]
    network = _theme(payload, "Network theme 0")
    mine = [t.lower() for t, c in zip(items["text"], items["c"]["1"], strict=True) if c == network]
    share = sum("network" in t for t in mine) / len(mine)
    with offline_browser() as session:
        page = _open(session, page_file)
        page.locator(".tm-label", has_text="Network theme 0").click()
        card = page.locator("#tm-card")
        card.wait_for(state="visible")
        bars = card.locator(".tm-kw")
        assert bars.count() == 3
        first = bars.first
        assert first.locator(".tm-kw-text").inner_text() == "network"
        assert first.locator(".tm-kw-score").inner_text().startswith(f"{round(share * 100)}%")
        width = first.locator(".tm-kw-bar > span").evaluate("e => e.style.width")
        assert width == f"{round(share * 100)}%"
        assert bars.nth(2).locator(".tm-kw-score").inner_text() == "0%"  # words no item has
        assert (
            "strength 3/10" in card.inner_text()
            and f"{clusters[network]['size']} items" in card.inner_text()
        )
        page.screenshot(path=artifact("workbench_card.png"))

        # a sub-theme, then back up through its parent link
        card.locator(".tm-child", has_text="a theme name long enough").click()
        assert card.locator("h2").inner_text() == EVIL_NAME
        card.locator(".tm-parent").first.click()
        assert card.locator("h2").inner_text() == "Network theme 0"
        # a representative item opens that item
        card.locator(".tm-rep").first.click()
        page.locator("#tm-item").wait_for(state="visible")
        assert HOSTILE_TEXT in page.inner_text("#tm-item")
        # the card's select button selects the theme's items
        card_button = page.locator('[data-tab="theme"]')
        card_button.click()
        card.locator(".tm-select-cluster").click()
        page.wait_for_function(f"document.body.dataset.selected === '{clusters[network]['size']}'")
        _assert_clean(session)


def test_labels_wrap_and_stay_inside_the_view(page_file: Path) -> None:
    with offline_browser(900, 700) as session:
        page = _open(session, page_file)
        stage = page.locator("#tm-stage").bounding_box()
        assert stage is not None
        for xr, yr in (([8, 16], [-3, 3]), ([14, 22], [-4, 4]), ([-30, 5], [-20, 20])):
            page.evaluate(
                "(r) => Plotly.relayout(thememapMap.gd, {'xaxis.range': r[0], 'yaxis.range': r[1]})",
                [xr, yr],
            )
            page.wait_for_timeout(400)
            boxes = page.eval_on_selector_all(
                ".tm-label",
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return [r.left, r.top, r.right, r.bottom, e.textContent]; })",
            )
            assert boxes
            for left, top, right, bottom, _ in boxes:
                assert left >= stage["x"] - 0.5 and right <= stage["x"] + stage["width"] + 0.5
                assert top >= stage["y"] - 0.5 and bottom <= stage["y"] + stage["height"] + 0.5
        page.evaluate(
            "() => Plotly.relayout(thememapMap.gd, {'xaxis.range': [8, 16], 'yaxis.range': [-3, 3]})"
        )
        page.wait_for_timeout(400)
        evil = page.locator(".tm-label", has_text="onerror").first
        assert evil.evaluate("e => e.textContent.split('\\n').length") >= 2  # wrapped
        assert evil.get_attribute("title") == EVIL_NAME
        page.screenshot(path=artifact("workbench_labels.png"))
        _assert_clean(session)


def test_first_view_frames_the_items_not_the_far_outliers(tmp_path: Path) -> None:
    conn = make_export_store(tmp_path / "s.db", n=600)
    conn.execute("UPDATE items SET umap_x = 900, umap_y = -700 WHERE id IN (50, 51)")
    conn.commit()
    path = write_map(map_payload(load_export_data(conn)), tmp_path / "map.html")
    with offline_browser() as session:
        page = _open(session, path)
        xr, yr = page.evaluate(
            "() => { const fl = thememapMap.gd._fullLayout; return [fl.xaxis.range, fl.yaxis.range]; }"
        )
        assert xr[1] < 100 and yr[0] > -100  # the two far items do not set the zoom
        assert xr[0] < -14 and xr[1] > 14 and yr[0] < -14 and yr[1] > 14  # the rest is in view
        page.screenshot(path=artifact("workbench_outliers.png"))
        _assert_clean(session)


def test_themes_over_time_and_emerging_table_follow_the_date_filter(
    page_file: Path, payload: dict[str, Any]
) -> None:
    items = payload["items"]
    dated = [i for i, t in enumerate(items["t"]) if t]
    lo, hi = min(items["t"][i] for i in dated), max(items["t"][i] for i in dated)
    mid = str(np.datetime64(lo) + (np.datetime64(hi) - np.datetime64(lo)) // 2)
    network = _theme(payload, "Network theme 0")
    first = sum(1 for i in dated if items["c"]["1"][i] == network and items["t"][i] < mid)
    second = sum(1 for i in dated if items["c"]["1"][i] == network and items["t"][i] >= mid)
    with offline_browser() as session:
        page = _open(session, page_file)
        page.click("#tm-open-time")
        page.wait_for_selector("#tm-time-chart .main-svg", timeout=30_000)
        assert page.evaluate("document.getElementById('tm-time-chart').data.length") == 5
        emerging = page.locator(".tm-emerging tr").nth(1).inner_text().split("\t")
        assert emerging[:3] == ["Network theme 0", str(first), str(second)]  # grows
        assert page.locator(".tm-fading tr").nth(1).inner_text().startswith("Game theme 1")
        page.locator("#tm-time .tm-btn", has_text="level 2").click()
        assert EVIL_NAME[:30] in page.inner_text("#tm-time")  # names as text in chart and table
        page.screenshot(path=artifact("workbench_time.png"))

        # a range dragged on the chart becomes the map's date filter
        box = page.locator("#tm-time-chart .nsewdrag").first.bounding_box()
        assert box is not None
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.55, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=6)
        page.mouse.move(box["x"] + box["width"] * 0.95, y, steps=6)
        page.mouse.up()
        page.wait_for_function("document.getElementById('tm-from').value !== ''", timeout=20_000)
        start, end = page.input_value("#tm-from"), page.input_value("#tm-to")
        assert lo < start < end <= hi
        expected = sum(1 for i in dated if start <= items["t"][i] <= end)
        page.wait_for_function(
            f"document.querySelector('#tm-count').textContent === '{expected} items'",
            timeout=20_000,
        )
        assert f"{expected} dated items, {start} to {end}" in page.inner_text("#tm-time")
        _assert_clean(session)
