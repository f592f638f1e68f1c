"""The interactive map and the report: size, time to first render, frame time while panning.

For N items (default 10,000 and 100,000) it builds a store with real texts (the first N
lines of ../shared/data/pypi-summaries.tsv.gz, their month as created_at) and a synthetic
3-level hierarchy laid out as nested 2D blobs (12 x 4 x 5 = 240 leaf themes), exports
the map page with ``thememap.export``, and opens it in headless Chromium (design.md §2
flags, software WebGL via SwiftShader, network blocked). Measured per page:

* size of map.html, and of the same page inside an ``<iframe srcdoc>`` (what the
  04_export notebook puts in the nbconvert report);
* time to first render: navigation start -> points drawn (the page's ready mark);
* frame time while panning: two 30-step mouse drags (plotly's pan mode); each step is
  timed from the mouse move to the next painted frame (median and 95th percentile);
* hover: mouse onto a point -> its text shown and painted; search (ours only): typing a
  word -> matching items highlighted and painted (includes the 150 ms input debounce).

Baseline in the same run: plotly's own ``write_html(include_plotlyjs=True)`` of one
scattergl trace with the same points and hover text (no labels, search, cards).
Software WebGL makes absolute frame times meaningless for a GPU desktop: read the
ratios.

    nice -n 10 .venv/bin/python bench/report_map.py            # 10k and 100k, 3 runs each
    nice -n 10 .venv/bin/python bench/report_map.py --sizes 10000
"""

from __future__ import annotations

import argparse
import csv
import gzip
import html
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "pypi-summaries.tsv.gz"
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, FLAGS  # noqa: E402

from thememap.export import load_export_data, map_html, map_payload  # noqa: E402
from thememap.store import open_store, transaction  # noqa: E402

FANOUT = (12, 4, 5)


def read_pypi(n: int) -> list[tuple[str, str, str]]:
    """The first n summaries; past the file's ~740k the texts repeat (names get a suffix)."""
    rows = []
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader)
        for name, month, summary in reader:
            if summary.strip():
                rows.append((name, month, summary))
            if len(rows) == n:
                break
    read = len(rows)
    for i in range(n - read):
        name, month, summary = rows[i % read]
        rows.append((f"{name}~{i // read + 2}", month, summary))
    return rows


def build_store(path: Path, n: int, seed: int = 0) -> None:
    """Items with real texts, a nested blob layout and a 12 x 4 x 5 hierarchy with cards."""
    rng = np.random.default_rng(seed)
    rows = read_pypi(n)
    a1, a2, a3 = FANOUT
    leaf = rng.integers(0, a1 * a2 * a3, size=len(rows))
    l1, l2 = leaf // (a2 * a3), leaf // a3
    ang1 = l1 * 2 * np.pi / a1
    ang2 = (l2 % a2) * 2 * np.pi / a2
    ang3 = (leaf % a3) * 2 * np.pi / a3
    x = 20 * np.cos(ang1) + 5 * np.cos(ang2) + 1.4 * np.cos(ang3) + rng.normal(0, 0.45, len(rows))
    y = 20 * np.sin(ang1) + 5 * np.sin(ang2) + 1.4 * np.sin(ang3) + rng.normal(0, 0.45, len(rows))
    conn = open_store(path)
    run = "bench"
    with transaction(conn):
        conn.execute("INSERT INTO runs(id, params, versions) VALUES (?, '{}', '{}')", (run,))
        conn.executemany(
            "INSERT INTO items(id, external_id, content, metadata, created_at, content_hash,"
            " umap_x, umap_y, embedding_cluster_l1, embedding_cluster_l2, embedding_cluster_l3)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                (i + 1, name, text, json.dumps({"name": name}), month or None, f"h{i}",
                 float(x[i]), float(y[i]), int(l1[i]), int(l2[i]), int(leaf[i]))
                for i, (name, month, text) in enumerate(rows)
            ),
        )  # fmt: skip
        ids: dict[tuple[int, int], int] = {}
        cats = ("bug", "feature_request", "question", "feedback")
        for level, labels, parent_of in (
            (1, l1, None), (2, l2, lambda c: (1, c // a2)), (3, leaf, lambda c: (2, c // a3)),
        ):  # fmt: skip
            sizes = np.bincount(labels, minlength=int(labels.max()) + 1)
            for c, size in enumerate(sizes):
                if not size:
                    continue
                members = np.flatnonzero(labels == c)
                cur = conn.execute(
                    "INSERT INTO clusters(run_id, level, name, parent_id, comment_count,"
                    " representatives, keywords, llm_description, llm_pattern_name, llm_category,"
                    " strength_score) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run, level, f"L{level}_{c}",
                        ids.get(parent_of(c)) if parent_of else None, int(size),
                        json.dumps([int(m) + 1 for m in members[:5]]),
                        json.dumps([f"phrase {c}.{k}" for k in range(6)]),
                        f"Synthetic theme {c} at level {level}.", f"Theme {level}.{c}",
                        cats[c % 4], 1 + c % 10,
                    ),
                )  # fmt: skip
                ids[(level, c)] = int(cur.lastrowid or 0)
    conn.close()


def baseline_html(payload: dict) -> str:
    """plotly's own standalone page: one scattergl trace, same points and hover text."""
    import plotly.graph_objects as go

    items = payload["items"]
    colours = [payload["clusters"][c]["color"] if c >= 0 else "#ccc" for c in items["c"]["1"]]
    fig = go.Figure(
        go.Scattergl(
            x=items["x"],
            y=items["y"],
            mode="markers",
            text=items["text"],
            hovertemplate="%{text}<extra></extra>",
            marker={"size": 4, "color": colours},
        )
    )
    fig.update_layout(dragmode="pan", margin={"l": 8, "r": 8, "t": 8, "b": 8})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"scrollZoom": True})


READY = {
    "ours": "!!document.body && document.body.dataset.ready === '1'",
    "baseline": "(() => { const g = document.querySelector('.js-plotly-plot');"
    " return g && g._fullLayout && g.querySelector('canvas'); })()",
}
PLOT = {"ours": "#tm-plot", "baseline": ".js-plotly-plot"}
HOVER = "() => ((document.querySelector('.hoverlayer') || {}).textContent || '').length > 0"
# page coordinates of item i (its x/y from the page's own data), from plotly's axes
_XY = """(i) => {{ const gd = {gd}, fl = gd._fullLayout, s = fl._size;
  const xr = fl.xaxis.range, yr = fl.yaxis.range, r = gd.getBoundingClientRect();
  const x = {x}, y = {y};
  return [r.left + s.l + (x - xr[0]) / (xr[1] - xr[0]) * s.w,
          r.top + s.t + (1 - (y - yr[0]) / (yr[1] - yr[0])) * s.h]; }}"""
POINT_XY = {
    "ours": _XY.format(
        gd="thememapMap.gd",
        x="JSON.parse(document.getElementById('tm-data').textContent).items.x[i]",
        y="JSON.parse(document.getElementById('tm-data').textContent).items.y[i]",
    ),
    "baseline": _XY.format(
        gd="document.querySelector('.js-plotly-plot')", x="gd.data[0].x[i]", y="gd.data[0].y[i]"
    ),
}


def measure_page(path: Path, kind: str, *, drags: int = 2) -> dict[str, float]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        blocked: list[str] = []
        page.route(
            "**/*",
            lambda r: (
                r.continue_()
                if r.request.url.startswith(("file:", "data:", "blob:"))
                else (blocked.append(r.request.url), r.abort())
            ),
        )
        page.goto(path.as_uri(), wait_until="commit")
        page.wait_for_function(READY[kind], timeout=300_000, polling=50)
        # one more frame so the canvas is painted
        first_render = page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => r(performance.now())))"
        )
        box = page.locator(PLOT[kind]).bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        # each drag step: move the mouse, then wait until the next frame has been painted;
        # the step's time is input + redraw (+ the same small round trip for both pages)
        next_frame = (
            "() => new Promise(r => requestAnimationFrame(() =>"
            " requestAnimationFrame(() => r(performance.now()))))"
        )
        steps: list[float] = []
        for _ in range(drags):
            page.mouse.move(cx, cy)
            page.mouse.down()
            last = page.evaluate(next_frame)
            for step in range(1, 31):
                page.mouse.move(cx + step * 8, cy + step * 4)
                now = page.evaluate(next_frame)
                steps.append(now - last)
                last = now
            page.mouse.up()
            page.wait_for_timeout(300)
            cx, cy = cx - 100, cy - 50
        page.wait_for_timeout(500)
        # hover: from the mouse arriving on a point to its text shown and painted
        page.evaluate(
            "(sel) => Plotly.relayout(document.querySelector(sel),"
            " {'xaxis.autorange': true, 'yaxis.autorange': true})",
            PLOT[kind],
        )
        page.wait_for_timeout(500)
        hover_ms = float("nan")
        for item in range(10):  # a point under a label or another point answers no hover
            xy = page.evaluate(POINT_XY[kind], item)
            page.mouse.move(xy[0] + 40, xy[1] + 40)
            page.wait_for_timeout(300)
            t0 = page.evaluate("() => performance.now()")
            page.mouse.move(xy[0], xy[1])
            try:
                page.wait_for_function(HOVER, timeout=5_000, polling=10)
            except PlaywrightTimeout:
                continue
            hover_ms = page.evaluate(next_frame) - t0
            break
        search_ms = float("nan")
        if kind == "ours":  # search: typing to highlighted points painted (150 ms debounce incl.)
            t0 = page.evaluate("() => performance.now()")
            page.fill("#tm-search", "python")
            page.wait_for_function("document.body.dataset.matches", timeout=60_000, polling=10)
            search_ms = page.evaluate(next_frame) - t0
        browser.close()
    assert not blocked, blocked
    frames = sorted(steps) or [float("nan")]
    return {
        "first_render_ms": float(first_render),
        "frame_median_ms": statistics.median(frames),
        "frame_p95_ms": frames[min(len(frames) - 1, int(0.95 * len(frames)))],
        "hover_ms": hover_ms,
        "search_ms": search_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per page (medians)")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, Chromium {CHROMIUM}, software WebGL"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            t0 = time.perf_counter()
            build_store(folder / "store.db", n)
            t1 = time.perf_counter()
            conn = open_store(folder / "store.db")
            payload = map_payload(load_export_data(conn))
            page = map_html(payload)
            t2 = time.perf_counter()
            (folder / "map.html").write_text(page, encoding="utf-8")
            frame = f'<iframe srcdoc="{html.escape(page, quote=True)}"></iframe>'
            base = baseline_html(payload)
            (folder / "baseline.html").write_text(base, encoding="utf-8")
            print(f"n={n:,}: store {t1 - t0:.1f} s, export (read + payload + page) {t2 - t1:.1f} s")
            # alternate the two pages; median of each figure over the repeats (the machine is shared)
            runs: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
            for _ in range(args.repeat):
                runs["ours"].append(measure_page(folder / "map.html", "ours"))
                runs["baseline"].append(measure_page(folder / "baseline.html", "baseline"))
            ours, theirs = (
                {key: statistics.median(r[key] for r in runs[kind]) for key in runs[kind][0]}
                for kind in ("ours", "baseline")
            )
            rows.append(
                (n, len(page), len(frame.encode()), len(base.encode()), t2 - t1, ours, theirs)
            )
            conn.close()
    print()
    print(
        "| items | map.html MB | in report (srcdoc) MB | plotly baseline MB | size ratio |"
        " first render s (ours / baseline) | ratio | pan frame median ms (ours / baseline) |"
        " p95 ms (ours / baseline) | frame ratio | hover ms (ours / baseline) | search ms |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, size, framed, base, _export_s, ours, theirs in rows:
        print(
            f"| {n:,} | {size / 1e6:.1f} | {framed / 1e6:.1f} | {base / 1e6:.1f} | {size / base:.2f} |"
            f" {ours['first_render_ms'] / 1e3:.1f} / {theirs['first_render_ms'] / 1e3:.1f} |"
            f" {ours['first_render_ms'] / theirs['first_render_ms']:.2f} |"
            f" {ours['frame_median_ms']:.0f} / {theirs['frame_median_ms']:.0f} |"
            f" {ours['frame_p95_ms']:.0f} / {theirs['frame_p95_ms']:.0f} |"
            f" {ours['frame_median_ms'] / theirs['frame_median_ms']:.2f} |"
            f" {ours['hover_ms']:.0f} / {theirs['hover_ms']:.0f} | {ours['search_ms']:.0f} |"
        )
    print()
    for n, *_rest, export_s, _o, _t in [(r[0], r[4], r[5], r[6]) for r in rows]:
        print(f"export time for {n:,} items: {export_s:.1f} s")


if __name__ == "__main__":
    main()
