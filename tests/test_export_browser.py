"""The map and the report in real headless Chromium with the network cut off."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from browser import artifact, coloured_pixels, needs_chromium, offline_browser, pixels_near
from export_fixture import HOSTILE_TEXT, make_export_store

from thememap.export import MapView, load_export_data, map_payload, write_map, write_run_index

pytestmark = [pytest.mark.browser, needs_chromium]

# page coordinates of item i, from plotly's current axes
POINT_XY = """(i) => { const gd = thememapMap.gd, fl = gd._fullLayout, s = fl._size;
  const xr = fl.xaxis.range, yr = fl.yaxis.range, r = gd.getBoundingClientRect();
  const D = JSON.parse(document.getElementById('tm-data').textContent);
  return [r.left + s.l + (D.items.x[i] - xr[0]) / (xr[1] - xr[0]) * s.w,
          r.top + s.t + (1 - (D.items.y[i] - yr[0]) / (yr[1] - yr[0])) * s.h]; }"""
HOVER_TEXT = "() => (document.querySelector('.hoverlayer') || {}).textContent || ''"


@pytest.fixture(scope="module")
def map_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("map")
    conn = make_export_store(folder / "store.db", n=800)
    path = write_map(map_payload(load_export_data(conn)), folder / "map.html")
    conn.close()
    return path


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('body[data-ready="1"]', timeout=60_000)


def _hover(page: Any, index: int) -> str:
    x, y = page.evaluate(POINT_XY, index)
    page.mouse.move(5, 5)  # off the plot: the previous hover label goes away first
    page.wait_for_function(f"({HOVER_TEXT})().length === 0", timeout=20_000)
    page.mouse.move(x + 4, y + 4)
    page.mouse.move(x, y)
    page.wait_for_function(f"({HOVER_TEXT})().length > 0", timeout=20_000)
    return str(page.evaluate(HOVER_TEXT))


def _count_after_filter(page: Any, *, was: int) -> int:
    """Wait until the item count moves off ``was``, then read it ("1,234 items" -> 1234)."""
    page.wait_for_function(
        f"!document.querySelector('#tm-count').textContent.includes('{was}')", timeout=20_000
    )
    return int(page.inner_text("#tm-count").split()[0].replace(",", ""))


def test_map_shows_points_hover_search_and_cards_offline(map_file: Path) -> None:
    with offline_browser() as session:
        page = session.page
        _open(page, map_file.as_uri())
        shot = page.locator("#tm-plot").screenshot(path=artifact("map_points.png"))
        assert coloured_pixels(shot) > 2_000, "the WebGL canvas shows no points"

        # hover: the item's own text, the hostile one shown as text
        assert HOSTILE_TEXT in _hover(page, 0)
        assert "ends the data early </script><!-- and <img src=x" in _hover(page, 1)
        page.screenshot(path=artifact("map_hover.png"))

        # search highlights the matching items in the highlight colour
        before = pixels_near(page.locator("#tm-plot").screenshot(), (255, 212, 0))
        page.fill("#tm-search", "alert")
        page.wait_for_function("document.body.dataset.matches === '3'", timeout=20_000)
        assert page.inner_text("#tm-count") == "3 matches"
        after = page.locator("#tm-plot").screenshot(path=artifact("map_search.png"))
        assert pixels_near(after, (255, 212, 0)) > before + 20

        # clicking a cluster name opens its card
        label = page.locator(".tm-label").first
        title = label.inner_text()
        label.click()
        card = page.locator("#tm-card")
        card.wait_for(state="visible")
        assert card.locator("h2").inner_text() == title
        text = card.inner_text()
        assert "items" in text and "strength" in text and "KEY PHRASES" in text.upper()
        assert card.locator(".tm-chip").count() >= 3
        assert card.locator(".tm-samples li").count() >= 1
        page.screenshot(path=artifact("map_card.png"))

        # the category filter hides items of other categories
        page.select_option("#tm-category", "bug")
        page.fill("#tm-search", "")
        shown = _count_after_filter(page, was=800)
        assert 0 < shown < 800

        # the date filter keeps items from that day on (items without a date drop out)
        page.select_option("#tm-category", "")
        page.fill("#tm-from", "2024-06-01")
        page.dispatch_event("#tm-from", "change")
        recent = _count_after_filter(page, was=800)
        assert 0 < recent < 800
        page.screenshot(path=artifact("map_filtered.png"))

        assert session.dialogs == [], "item text ran as code"
        assert session.remote_requests() == [], "the map tried to reach the network"
        assert session.errors == []


def test_labels_follow_zoom_and_never_overlap(map_file: Path) -> None:
    with offline_browser() as session:
        page = session.page
        _open(page, map_file.as_uri())
        home = page.evaluate(
            "() => { const fl = thememapMap.gd._fullLayout; return [fl.xaxis.range, fl.yaxis.range]; }"
        )
        levels = []
        for factor in (1, 4, 12):
            # zoom in on the map's centre-right (where the fixture has themes) by `factor`
            (x0, x1), (y0, y1) = home
            cx, cy = x0 + (x1 - x0) * 0.72, (y0 + y1) / 2
            hx, hy = (x1 - x0) / 2 / factor, (y1 - y0) / 2 / factor
            page.evaluate(
                "(r) => Plotly.relayout(thememapMap.gd, {'xaxis.range': r[0], 'yaxis.range': r[1]})",
                [[cx - hx, cx + hx], [cy - hy, cy + hy]],
            )
            page.wait_for_timeout(500)
            levels.append(page.eval_on_selector("#tm-labels", "e => e.dataset.level"))
            boxes = page.eval_on_selector_all(
                ".tm-label",
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return [r.left, r.top, r.right, r.bottom]; })",
            )
            assert boxes, f"no labels at zoom {factor}"
            for i, a in enumerate(boxes):
                for b in boxes[i + 1 :]:
                    overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                    assert not overlap, (factor, a, b)
            page.screenshot(path=artifact(f"map_zoom_{factor}.png"))
        assert levels == ["1", "2", "3"]
        assert session.remote_requests() == []


@pytest.mark.parametrize("linked", [False, True], ids=["inlined", "framed-from-file"])
def test_report_notebook_html_shows_the_map_offline(tmp_path: Path, linked: bool) -> None:
    """The map in the rendered 04_export report: inlined (a library session) or framed from
    the report folder's map.html (a run), opened from disk."""
    import nbformat

    from thememap.export import map_html
    from thememap.runner.run import render_html

    conn = make_export_store(tmp_path / "store.db", n=500)
    page_html = map_html(map_payload(load_export_data(conn)))
    if linked:
        (tmp_path / "map.html").write_text(page_html, encoding="utf-8")
    view = MapView(page_html, height=600, src="map.html" if linked else None)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("result.map")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": view._repr_html_(), "text/plain": "<map>"}
        )
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# 04 export"), cell]
    ipynb = tmp_path / "04_export.ipynb"
    nbformat.write(nb, ipynb)
    html = render_html(ipynb, tmp_path / "04_export.html", show_code=False)
    if linked:  # the report carries a link, not a second copy of plotly.js and the data
        assert html.stat().st_size < len(page_html) / 4

    with offline_browser() as session:
        page = session.page
        page.goto(html.as_uri())
        frame = page.frame_locator("iframe").first
        frame.locator('body[data-ready="1"]').wait_for(timeout=60_000)
        shot = page.locator("iframe").first.screenshot(path=artifact("report_map.png"))
        assert coloured_pixels(shot) > 1_500
        inner = next(f for f in page.frames if f != page.main_frame)
        x, y = inner.evaluate(POINT_XY, 0)
        box = page.locator("iframe").first.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + x + 4, box["y"] + y + 4)
        page.mouse.move(box["x"] + x, box["y"] + y)
        inner.wait_for_function(f"({HOVER_TEXT})().length > 0", timeout=20_000)
        assert HOSTILE_TEXT in inner.evaluate(HOVER_TEXT)
        assert session.dialogs == []
        assert session.remote_requests() == []


def test_run_index_opens_offline(tmp_path: Path) -> None:
    conn = make_export_store(tmp_path / "store.db", n=100)
    run_dir = tmp_path / "reports" / "fixture-run"
    run_dir.mkdir(parents=True)
    (run_dir / "01_embed.html").write_text("<p>nb</p>")
    index = write_run_index(
        run_dir,
        conn=conn,
        run_id="fixture-run",
        notebooks=[{"name": "01_embed", "html": "01_embed.html", "seconds": 1.5, "status": "ok"}],
        params={"note": HOSTILE_TEXT},
    )
    with offline_browser() as session:
        page = session.page
        page.goto(index.as_uri())
        assert HOSTILE_TEXT in page.inner_text("pre")
        assert "clusters, level 2" in page.inner_text(".cards")
        page.screenshot(path=artifact("run_index.png"), full_page=True)
        page.click("text=01_embed")
        page.wait_for_url("**/01_embed.html")
        assert session.dialogs == [] and session.remote_requests() == []


@pytest.mark.slow
def test_04_export_notebook_runs_and_its_report_works_offline(
    tmp_path: Path, project_root: Path
) -> None:
    from thememap.runner.run import run_chain

    make_export_store(tmp_path / "store.db", n=700).close()
    (tmp_path / "pyproject.toml").touch()
    params = tmp_path / "p.yaml"
    params.write_text('store: store.db\nnotebooks: ["04_export"]\nexport:\n  out_dir: exp\n')
    result = run_chain(params, run_id="fixture-run", notebooks_dir=project_root / "notebooks")
    assert result.ok
    run_dir = tmp_path / "reports" / "fixture-run"
    assert (run_dir / "map.html").is_file() and (tmp_path / "exp" / "items.json").is_file()
    # the index as the runner should write it (thememap.export.write_run_index)
    from thememap.store import open_store

    with closing(open_store(tmp_path / "store.db")) as conn:
        index = write_run_index(
            run_dir,
            conn=conn,
            run_id="fixture-run",
            notebooks=[
                {
                    "name": nb.name,
                    "html": nb.html.name if nb.html else None,
                    "seconds": nb.seconds,
                    "status": nb.status,
                }
                for nb in result.notebooks
            ],
            params={"store": "store.db"},
        )
    with offline_browser(1200, 900) as session:
        page = session.page
        page.goto((run_dir / "04_export.html").as_uri())
        page.frame_locator("iframe").first.locator('body[data-ready="1"]').wait_for(timeout=60_000)
        page.locator("iframe").first.scroll_into_view_if_needed()  # an iframe below the fold
        page.wait_for_timeout(500)  # is not painted until it is in view
        shot = page.locator("iframe").first.screenshot(path=artifact("report_04_export.png"))
        assert coloured_pixels(shot) > 1_500
        assert "Themes over time" in page.inner_text("body")
        page.goto(index.as_uri())
        assert "04_export" in page.inner_text("body")
        page.click("text=Interactive map")
        page.wait_for_selector('body[data-ready="1"]', timeout=60_000)
        assert session.dialogs == [] and session.remote_requests() == []


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_map_renders_inside_jupyterlab(tmp_path: Path, project_root: Path) -> None:
    """Run 04_export inside a real JupyterLab (localhost only) and find the live map."""
    import json
    import subprocess
    import sys
    import time
    import urllib.request

    make_export_store(tmp_path / "store.db", n=600).close()
    (tmp_path / "pyproject.toml").touch()
    (tmp_path / "p.yaml").write_text("store: store.db\nexport:\n  out_dir: exp\n")
    (tmp_path / "notebooks").mkdir()
    nb = json.loads((project_root / "notebooks" / "04_export.ipynb").read_text())
    for cell in nb["cells"]:
        if "parameters" in cell["metadata"].get("tags", []):
            cell["source"] = 'params_file = "../p.yaml"\nrun_id = ""'
    (tmp_path / "notebooks" / "04_export.ipynb").write_text(json.dumps(nb))
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/lab", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        from browser import CHROMIUM, FLAGS
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            remote: list[str] = []

            def route(r: Any) -> None:
                if r.request.url.startswith((base, "data:", "blob:", "about:")):
                    r.continue_()
                else:
                    remote.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{base}/lab/tree/notebooks/04_export.ipynb")
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            page.wait_for_function(  # the kernel is up: the status bar says "... | Idle"
                "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.textContent || '')",
                timeout=120_000,
            )
            page.click("text=Run", timeout=20_000)
            page.click("text=Run All Cells", timeout=20_000)
            frame = page.frame_locator(".jp-OutputArea-output iframe").first
            frame.locator('body[data-ready="1"]').wait_for(timeout=180_000)
            iframe = page.locator(".jp-OutputArea-output iframe").first
            iframe.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            shot = iframe.screenshot(path=artifact("jupyterlab_map.png"))
            assert coloured_pixels(shot) > 1_500
            assert frame.locator(".tm-label").count() >= 3
            browser.close()
        assert dialogs == [] and remote == []
    finally:
        server.terminate()
        server.wait(timeout=30)
