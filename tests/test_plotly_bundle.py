"""The map page's plotly.js partial bundle (issue 12, "lighter pages").

The page inlines ``assets/plotly-thememap.min.js`` (plotly.js core + scattergl + treemap,
built by tools/build_plotly_bundle.sh) instead of the full plotly.js: these tests fail when
the page's code starts using a trace type or a Plotly function the bundle lacks, or when the
committed bundle no longer matches the recipe's pinned versions.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
from browser import needs_chromium, offline_browser

from thememap.export import map as map_module

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "tools" / "plotly_bundle"
ASSETS = resources.files("thememap.export").joinpath("assets")


def _asset_js() -> str:
    return "\n".join(
        f.read_text(encoding="utf-8")
        for f in ASSETS.iterdir()
        if f.name.endswith(".js") and f.name != map_module.PLOTLY_BUNDLE
    )


def _all_trace_types() -> set[str]:
    """Every trace type of the full plotly.js (the plotly Python package's trace classes)."""
    import plotly.graph_objects as go
    from plotly.basedatatypes import BaseTraceType

    return {
        name.lower()
        for name in dir(go)
        if isinstance(getattr(go, name), type) and issubclass(getattr(go, name), BaseTraceType)
    }


def page_trace_types() -> set[str]:
    """The trace types the page's code draws: its ``type: "..."`` values that name a trace."""
    found = set(re.findall(r"""\btype\s*:\s*["']([a-z0-9]+)["']""", _asset_js()))
    return found & _all_trace_types()


def page_plotly_calls() -> set[str]:
    """The Plotly functions the page's code calls (``Plotly.react(``, ``Plotly.Plots.resize(``)."""
    return set(re.findall(r"\bPlotly\.([A-Za-z]+(?:\.[A-Za-z]+)*)\s*\(", _asset_js()))


def bundle() -> str:
    return ASSETS.joinpath(map_module.PLOTLY_BUNDLE).read_text(encoding="utf-8")


def test_page_uses_the_bundle() -> None:
    js = map_module.plotly_js()
    assert js == bundle()
    assert len(js) < 2_000_000, "the partial bundle grew towards the full plotly.js (4.8 MB)"
    # inlined in a <script>: nothing in it may close the element
    assert "</script" not in js.lower()
    assert ASSETS.joinpath("plotly-thememap.LICENSE.txt").read_text().startswith("MIT License")


def test_bundle_registers_every_trace_type_the_page_draws() -> None:
    used = page_trace_types()
    assert {"scatter", "scattergl", "treemap"} <= used  # the parse still finds them
    registered = set(re.findall(r'moduleType:"trace",name:"([a-z0-9]+)"', bundle()))
    assert used <= registered, f"add {sorted(used - registered)} to tools/plotly_bundle/entry.js"


@needs_chromium
def test_bundle_in_chromium_has_the_page_s_traces_and_functions() -> None:
    calls = sorted(page_plotly_calls())
    assert {"newPlot", "react", "Plots.resize"} <= set(calls)
    with offline_browser() as session:
        page = session.page
        # in <head>, as the page has it: nothing may need document.body while loading
        page.set_content(f"<!DOCTYPE html><html><head><script>{bundle()}</script></head></html>")
        traces = page.evaluate("() => Object.keys(Plotly.PlotSchema.get().traces)")
        missing = [
            c
            for c in calls
            if not page.evaluate(
                "(path) => typeof path.split('.').reduce((o, k) => o && o[k], Plotly)"
                " === 'function'",
                c,
            )
        ]
        assert session.errors == [] and session.remote_requests() == []
    assert page_trace_types() <= set(traces), f"the bundle has only {sorted(traces)}"
    assert missing == [], f"the bundle lacks Plotly.{missing}"


def _banner_versions() -> tuple[str, str]:
    head = bundle()[:400]
    plotly = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", head)
    esbuild = re.search(r"esbuild (\d+\.\d+\.\d+)", head)
    assert plotly and esbuild, "the bundle lacks tools/build_plotly_bundle.sh's banner"
    return plotly.group(1), esbuild.group(1)


def test_bundle_matches_the_recipe_s_pinned_versions() -> None:
    from plotly.offline import get_plotlyjs_version

    plotly, esbuild = _banner_versions()
    declared = json.loads((RECIPE / "package.json").read_text())["devDependencies"]
    lock = json.loads((RECIPE / "package-lock.json").read_text())["packages"]
    assert declared["plotly.js"] == lock["node_modules/plotly.js"]["version"] == plotly
    assert declared["esbuild"] == lock["node_modules/esbuild"]["version"] == esbuild
    # the same plotly.js as the plotly Python package's (which the page fell back on)
    assert plotly == get_plotlyjs_version(), "rebuild: bash tools/build_plotly_bundle.sh"


def test_full_plotly_js_when_the_bundle_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real = map_module._asset

    def asset(name: str) -> str:
        if name == map_module.PLOTLY_BUNDLE:
            raise FileNotFoundError(name)
        return real(name)

    monkeypatch.setattr(map_module, "_asset", asset)
    from plotly.offline import get_plotlyjs

    assert map_module.plotly_js.__wrapped__() == get_plotlyjs()  # type: ignore[attr-defined]
