"""The map as a workbench against the page before it (issue 12), same store, same run.

For N items (default 100,000) it builds report_map.py's store (real PyPI summaries, a
synthetic 12 x 4 x 5 hierarchy, plus two metadata fields: the year, the text length),
writes the map page with this checkout's code and with the code of ``--before`` (a git
commit; its ``lib/`` is extracted to a temporary folder and run in a subprocess), and
opens both in headless Chromium (software WebGL, network blocked). Per page: size, export
time, first render, pan frame time, hover and search (report_map.measure_page; with
``--repeat R`` the two pages alternate R times and the medians are printed, with a
markdown row of after / before ratios); for the new page also: the first search with its
results list, selecting the largest theme, colouring by a metadata field, and opening the
hierarchy (``--no-workbench`` skips these). Both pages are sampled to ``--max-points``
items as the export does (``export.map_max_points``, 200,000; past ~740k items the texts
repeat). With ``--vectors`` (an .npy of N x d item vectors) it also times the export's
nearest-neighbour pass.

    nice -n 10 .venv/bin/python bench/map_workbench.py --sizes 100000
    nice -n 10 .venv/bin/python bench/map_workbench.py --before a2f7374 --no-workbench \
        --repeat 3 --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, FLAGS  # noqa: E402
from report_map import build_store, measure_page  # noqa: E402

from thememap.export import load_export_data, map_html, map_payload  # noqa: E402
from thememap.export.params import ExportParams  # noqa: E402
from thememap.store import open_store  # noqa: E402

NEXT_FRAME = (
    "() => new Promise(r => requestAnimationFrame(() =>"
    " requestAnimationFrame(() => r(performance.now()))))"
)
OLD_PAGE = """
import sys
from thememap.export import load_export_data, map_html, map_payload
from thememap.store import open_store
conn = open_store(sys.argv[1])
payload = map_payload(load_export_data(conn), max_points=int(sys.argv[3]) or None)
open(sys.argv[2], "w", encoding="utf-8").write(map_html(payload))
"""


def add_fields(store: Path) -> None:
    conn = open_store(store)
    conn.execute(
        "UPDATE items SET metadata = json_set(metadata, '$.year', substr(created_at, 1, 4),"
        " '$.chars', length(content))"
    )
    conn.commit()
    conn.close()


def old_page(commit: str, store: Path, out: Path, max_points: int | None) -> float:
    """Write the page of ``commit``'s code for ``store``; seconds it took."""
    folder = out.parent / f"before-{commit[:8]}"
    if not folder.exists():
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "lib"], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", OLD_PAGE, str(store), str(out), str(max_points or 0)],
        check=True,
        env={"PYTHONPATH": str(folder / "lib"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    return time.perf_counter() - t0


def measure_workbench(path: Path) -> dict[str, float]:
    """The new page's workbench actions, each from the call to the next painted frame."""
    from playwright.sync_api import sync_playwright

    out: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("pageerror", lambda e: print("page error:", e))
        page.route(
            "**/*",
            lambda r: (
                r.continue_()
                if r.request.url.startswith(("file:", "data:", "blob:"))
                else r.abort()
            ),
        )
        page.goto(path.as_uri())
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=300_000)
        t0 = page.evaluate("() => performance.now()")
        page.fill("#tm-search", "python")  # first search: builds the index, lists results
        page.wait_for_function("document.body.dataset.matches", timeout=60_000, polling=10)
        out["search_first_ms"] = page.evaluate(NEXT_FRAME) - t0
        page.fill("#tm-search", "")
        page.wait_for_timeout(400)
        t0 = page.evaluate("() => performance.now()")
        page.fill("#tm-search", "http client")  # again: the index is built
        page.wait_for_function(
            "thememapMap.state.query === 'http client'", timeout=60_000, polling=10
        )
        out["search_again_ms"] = page.evaluate(NEXT_FRAME) - t0
        page.fill("#tm-search", "")
        page.wait_for_timeout(400)
        t0 = page.evaluate("() => performance.now()")
        page.evaluate(
            "() => { const C = JSON.parse(document.getElementById('tm-data').textContent).clusters;"
            " let best = 0; C.forEach((c, i) => { if (c.size > C[best].size) best = i; });"
            " return thememapMap.selectCluster(best); }"
        )
        out["select_theme_ms"] = page.evaluate(NEXT_FRAME) - t0
        out["selected"] = float(page.evaluate("Number(document.body.dataset.selected)"))
        t0 = page.evaluate("() => performance.now()")
        with page.expect_download() as download:
            page.click(".tm-csv")
        download.value.path()
        out["csv_ms"] = page.evaluate("() => performance.now()") - t0
        t0 = page.evaluate("() => performance.now()")
        page.select_option("#tm-colour", label="year")
        page.wait_for_selector("#tm-legend:not([hidden])", timeout=120_000)
        out["colour_field_ms"] = page.evaluate(NEXT_FRAME) - t0
        t0 = page.evaluate("() => performance.now()")
        page.click("#tm-open-tree")
        page.wait_for_function("document.body.dataset.tree === '1'", timeout=60_000)
        out["hierarchy_ms"] = page.evaluate(NEXT_FRAME) - t0
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--before", default="76c258f", help="git commit of the page before")
    parser.add_argument("--vectors", type=Path, help=".npy of item vectors to time the kNN pass")
    parser.add_argument(
        "--max-points",
        type=int,
        default=ExportParams().map_max_points,
        help="sample the map to this many items, as the export does (0: all)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs per page")
    parser.add_argument("--no-workbench", action="store_true", help="only size, render, pan")
    args = parser.parse_args()
    max_points = args.max_points or None
    if args.vectors:
        from thememap.export.neighbours import nearest_rows

        x = np.load(args.vectors, mmap_mode="r")
        for n in args.sizes:
            t0 = time.perf_counter()
            nearest_rows(np.asarray(x[:n], dtype=np.float32), k=10)
            seconds = time.perf_counter() - t0
            print(
                f"neighbours (k=10) of {n:,} items x {x.shape[1]} dims: {seconds:.1f} s", flush=True
            )
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            build_store(folder / "store.db", n)
            add_fields(folder / "store.db")
            before_s = old_page(
                args.before, folder / "store.db", folder / "before.html", max_points
            )
            t0 = time.perf_counter()
            conn = open_store(folder / "store.db")
            payload = map_payload(load_export_data(conn), max_points=max_points)
            page = map_html(payload)
            conn.close()
            after_s = time.perf_counter() - t0
            shown = len(payload["items"]["x"])
            del payload
            (folder / "after.html").write_text(page, encoding="utf-8")
            del page
            sizes = {k: (folder / f"{k}.html").stat().st_size for k in ("before", "after")}
            print(flush=True)
            print(
                f"n={n:,} ({shown:,} on the map): page MB before {sizes['before'] / 1e6:.1f} /"
                f" after {sizes['after'] / 1e6:.1f}; export s before {before_s:.1f} /"
                f" after {after_s:.1f}",
                flush=True,
            )
            runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for r in range(args.repeat):  # alternate, each first in turn: the machine is shared
                for kind in ("before", "after") if r % 2 == 0 else ("after", "before"):
                    m = measure_page(folder / f"{kind}.html", "ours", drags=1)
                    runs[kind].append(m)
                    print(
                        f"  {kind}: first render {m['first_render_ms'] / 1e3:.2f} s, pan frame"
                        f" median {m['frame_median_ms']:.0f} ms (p95 {m['frame_p95_ms']:.0f}),"
                        f" hover {m['hover_ms']:.0f} ms, search {m['search_ms']:.0f} ms",
                        flush=True,
                    )
            med = {
                kind: {key: statistics.median(r[key] for r in runs[kind]) for key in runs[kind][0]}
                for kind in runs
            }
            b, a = med["before"], med["after"]
            rows.append(
                f"| {n:,} | {shown:,} | {sizes['before'] / 1e6:.1f} / {sizes['after'] / 1e6:.1f}"
                f" | {sizes['after'] / sizes['before']:.2f}"
                f" | {b['first_render_ms']:.0f} / {a['first_render_ms']:.0f}"
                f" | {a['first_render_ms'] / b['first_render_ms']:.2f}"
                f" | {b['frame_median_ms']:.0f} / {a['frame_median_ms']:.0f}"
                f" | {a['frame_median_ms'] / b['frame_median_ms']:.2f}"
                f" | {b['frame_p95_ms']:.0f} / {a['frame_p95_ms']:.0f} |"
            )
            print(rows[-1], flush=True)
            if not args.no_workbench:
                w = measure_workbench(folder / "after.html")
                print("  after, workbench: " + ", ".join(f"{k} {v:.0f}" for k, v in w.items()))
    print()
    print(f"medians of {args.repeat} alternating run(s) per page; before = {args.before}")
    print(
        "| items | on the map | page MB (before / after) | size ratio |"
        " first render ms (before / after) | ratio | pan frame median ms (before / after) |"
        " ratio | pan p95 ms (before / after) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
