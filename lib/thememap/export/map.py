"""The interactive map: one self-contained HTML page (plotly.js inlined, no network).

plotly.js is a partial bundle of the trace types the page draws (scatter, scattergl,
treemap; see ``plotly_js``).

The page draws every item with plotly's WebGL scatter, coloured by a level or by any
metadata field (with a legend); cluster names sit at their clusters, wrap, stay inside
the view and switch from level 1 to 3 as you zoom in, placed largest first so that none
overlap. A side panel is the workbench: a theme's card with its evidence (key-phrase
bars, representative items, parent and sub-themes), full-text search results, one
item with "more like this", the lasso / box selection (listed, downloadable as CSV,
ids copied), the hierarchy as a treemap whose click selects a theme's items, and (where items
have dates) themes over time with the emerging and fading ones, linked to the date filter.

The same page is written as a standalone file and shown in notebooks inside an
``<iframe srcdoc>``, which works alike in JupyterLab and in the nbconvert HTML
report opened from disk (it needs nothing from the notebook page).
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from thememap.export.colours import PALETTE, UNPLACED_COLOR, cluster_colours
from thememap.export.payload import map_payload, map_payload_for
from thememap.export.safe import esc, json_for_script, linked_iframe, srcdoc_iframe
from thememap.files import write_text_atomic

__all__ = [
    "PALETTE",
    "UNPLACED_COLOR",
    "MapView",
    "cluster_colours",
    "map_html",
    "map_payload",
    "map_payload_for",
    "plotly_js",
    "write_map",
]

# the page's code, in order; they share one scope (one IIFE), each file one concern
APP_SCRIPTS = (
    "map_base.js",  # data, helpers, state
    "map_plot.js",  # points, colours, legend, highlight canvas
    "map_labels.js",  # names that follow zoom
    "map_panel.js",  # side panel: theme card, item, tabs
    "map_search.js",  # full-text search, results, more like this, filters
    "map_select.js",  # lasso / box selection, list, CSV, copy ids
    "map_hierarchy.js",  # treemap of the levels
    "map_time.js",  # themes over time, emerging and fading
    "map_start.js",  # first draw and event wiring
)


@cache
def _asset(name: str) -> str:
    return resources.files("thememap.export").joinpath("assets", name).read_text(encoding="utf-8")


# plotly.js for the page: a partial bundle of just what the page draws (plotly.js core with
# scatter, scattergl, treemap; 1.5 MB against the full 4.8 MB), built by
# tools/build_plotly_bundle.sh from the plotly.js release of the plotly Python package
PLOTLY_BUNDLE = "plotly-thememap.min.js"


@cache
def plotly_js() -> str:
    """plotly.js for the page (inlined; never a CDN).

    The package's partial bundle (``assets/plotly-thememap.min.js``); where it is missing
    (a checkout that removed it), the full plotly.js of the installed plotly package.
    """
    try:
        return _asset(PLOTLY_BUNDLE)
    except FileNotFoundError:
        from plotly.offline import get_plotlyjs

        return get_plotlyjs()


@cache
def app_js() -> str:
    """The page's own code: the asset files inside one function scope."""
    body = "\n".join(_asset(name) for name in APP_SCRIPTS)
    return '(function () {\n"use strict";\n' + body + "\n})();"


_PLACEHOLDER = re.compile(r"@@(TITLE|CSS|PLOTLYJS|DATA|APP)@@")


def map_html(payload: dict[str, Any], *, title: str = "thememap") -> str:
    """The whole map page as one HTML string (plotly.js, data and code inlined)."""
    parts = {
        "TITLE": esc(title),
        "CSS": _asset("map.css"),
        "PLOTLYJS": plotly_js(),
        "DATA": json_for_script(payload),
        "APP": app_js(),
    }
    # one pass, so text inside the data can never be taken for a placeholder
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], _asset("map.html.tpl"))


def write_map(payload: dict[str, Any], path: Path, *, title: str = "thememap") -> Path:
    """Write the standalone map page to ``path`` (atomically)."""
    return write_text_atomic(path, map_html(payload, title=title))


class MapView:
    """The map for a notebook cell (Jupyter's HTML output).

    With ``src`` (the page's URL relative to the notebook, when the page is written beside
    it) the cell links the page and frames it: the notebook and its HTML report stay small
    instead of carrying plotly.js and the data again. Without it the page is inlined in an
    ``<iframe srcdoc>``, the only way when no file is written (a library session).
    """

    def __init__(self, page: str, *, height: int = 640, src: str | None = None) -> None:
        self.page = page
        self.height = height
        self.src = src

    def _repr_html_(self) -> str:
        if self.src is None:
            return srcdoc_iframe(self.page, height=self.height, title="thememap map")
        return linked_iframe(self.src, height=self.height, title="thememap map")
