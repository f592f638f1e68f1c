"""Escaping for untrusted item text placed in HTML pages, inline scripts and CSV cells."""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

# Inside <script>, "</script", "<!--" and "<script" change how the parser reads
# the rest of the page; U+2028/9 end a line in older JS. Escaping every "<", ">"
# and "&" (as JSON \u escapes) rules all of them out without changing the value.
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _clean(value: Any) -> Any:
    """NaN/inf are not JSON: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def json_for_script(value: Any) -> str:
    """JSON that is safe to place between ``<script type="application/json">`` tags."""
    text = json.dumps(_clean(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def esc(value: Any) -> str:
    """HTML-escape any value for element text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def srcdoc_iframe(document: str, *, height: int, title: str = "thememap") -> str:
    """An ``<iframe srcdoc=...>`` holding a whole HTML document (escaped for the attribute).

    The same markup works in JupyterLab and in an nbconvert HTML report opened
    from disk: the document needs nothing from the notebook page (no require.js).
    """
    return _iframe(f'srcdoc="{esc(document)}"', height=height, title=title)


def linked_iframe(src: str, *, height: int, title: str = "thememap") -> str:
    """A link to the page at the relative URL ``src`` and an ``<iframe>`` framing it.

    Works where the page sits beside the notebook: JupyterLab resolves the relative URL
    to the file, and the nbconvert report opens it from disk.
    """
    return (
        f'<p><a href="{esc(src)}" target="_blank" rel="noopener">Open the map in its own'
        " tab</a> (the same page, full size)</p>"
        + _iframe(f'src="{esc(src)}"', height=height, title=title)
    )


def _iframe(source: str, *, height: int, title: str) -> str:
    """The frame both kinds share: full width, sandboxed to scripts, popups and downloads."""
    return (
        f'<iframe title="{esc(title)}" {source} '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ddd;border-radius:4px" '
        'sandbox="allow-scripts allow-popups allow-downloads" allow="clipboard-write">'
        "</iframe>"
    )


# A cell a spreadsheet would run as a formula: it starts with = + - @ (or a tab / carriage
# return that hides one). Plain numbers ("-3", "+1.5e3") are left alone.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def spreadsheet_safe(value: Any) -> str:
    """``value`` as CSV cell text that Excel / LibreOffice / Sheets show as text, never run.

    OWASP's rule for CSV injection: a cell starting with ``= + - @`` (or tab / CR) gets a
    leading ``'``. The same rule is in the map page's CSV download (assets/map_select.js).
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
