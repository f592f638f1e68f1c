"""The run report's front page: ``reports/<run>/index.html``.

Links the rendered notebooks and the map, and shows the headline figures,
step timings, the params used (which hold environment variable NAMES, never
secrets) and package versions, all read from the store. One static page with
inline CSS: it opens from disk with no network. Every value is escaped.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from thememap.errors import StoreError
from thememap.export.safe import esc
from thememap.files import write_text_atomic
from thememap.store.cards import read_quality
from thememap.store.clusters import clusters_per_level, exported_cluster_run
from thememap.store.item_stats import positioned_count, unplaced_counts
from thememap.store.items import count_items
from thememap.store.runs import run_record, run_steps

# step figures whose name says "quality" get a row among the headline figures
_QUALITY_WORDS = ("quality", "coherence", "silhouette", "ari", "nmi", "purity", "score", "unplaced")

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1d1f;max-width:64rem;
margin:2rem auto;padding:0 1.2rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #e5e5e5;
padding-bottom:.2rem}.sub{color:#666;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{padding:.35rem .6rem;text-align:left;
border-bottom:1px solid #eee;vertical-align:top}th{background:#fafafa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a7d32}.failed{color:#b3261e;font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:.8rem}.card{border:1px solid #e5e5e5;border-radius:6px;
padding:.6rem .9rem;min-width:9rem}.card b{display:block;font-size:1.4rem}.card span{color:#666;font-size:.85rem}
pre{background:#f6f6f6;padding:.8rem;overflow:auto;font-size:.85rem;border-radius:4px}
code{font-size:.85rem}a{color:#0b5cad}.scroll{overflow-x:auto}
"""


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return esc(json.dumps(value) if isinstance(value, (dict, list)) else value)


def headline_figures(
    conn: sqlite3.Connection, run_id: str, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    """Items, items placed on the map, clusters per level, unplaced share, and the step
    figures whose names speak of quality (label-quality tables come separately)."""
    figures: dict[str, Any] = {}
    figures["items"] = count_items(conn)
    figures["items on the map"] = positioned_count(conn)
    for level, count in clusters_per_level(conn, run_id).items():
        figures[f"clusters, level {level}"] = count
    total = figures["items"] or 0
    if total:
        for level, unplaced in unplaced_counts(conn).items():
            if unplaced < total:
                figures[f"unplaced share, level {level}"] = round(unplaced / total, 4)
    for step in steps:
        for key, value in (step.get("detail") or {}).items():
            if isinstance(value, (int, float)) and any(w in key.lower() for w in _QUALITY_WORDS):
                figures[f"{key} ({step['step']})"] = value
    return figures


def label_quality_table(conn: sqlite3.Connection, run_id: str) -> str:
    """The run's label-quality figures (03_describe's card_quality) as an HTML table, or ''."""
    try:
        quality = read_quality(conn, exported_cluster_run(conn, run_id))
    except StoreError:
        return ""
    if quality.empty:
        return ""
    columns = ["source", "level", *[c for c in quality.columns if c not in ("source", "level")]]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{_figure(row[c])}</td>' for c in columns) + "</tr>"
        for row in quality[columns].to_dict("records")
    )
    return f'<h2>Label quality</h2><div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def write_run_index(
    run_dir: Path,
    *,
    conn: sqlite3.Connection,
    run_id: str,
    notebooks: list[dict[str, Any]],
    params: dict[str, Any],
) -> Path:
    """Write ``run_dir/index.html`` and return its path.

    ``notebooks``: one dict per notebook in run order with ``name``, ``html``
    (file name relative to ``run_dir``, or None), ``seconds``, ``status`` and
    optionally ``error``. ``params``: the validated params as plain data.
    """
    run_dir = Path(run_dir)
    steps = run_steps(conn, run_id)
    run = run_record(conn, run_id)
    versions = json.loads(run["versions"]) if run else {}

    nb_rows = []
    for nb in notebooks:
        name = esc(nb["name"])
        link = f'<a href="{esc(nb["html"])}">{name}</a>' if nb.get("html") else name
        status = str(nb.get("status", ""))
        nb_rows.append(
            f'<tr><td>{link}</td><td class="{"ok" if status == "ok" else "failed"}">{esc(status)}</td>'
            f'<td class="num">{float(nb.get("seconds") or 0):.1f} s</td>'
            f"<td>{esc(nb.get('error') or '')}</td></tr>"
        )
    extra_links = [
        f'<li><a href="{esc(name)}">{esc(label)}</a></li>'
        for name, label in (("map.html", "Interactive map (opens offline)"),)
        if (run_dir / name).is_file()
    ]
    figures = headline_figures(conn, run_id, steps)
    cards = "".join(
        f'<div class="card"><b>{_figure(v)}</b><span>{esc(k)}</span></div>'
        for k, v in figures.items()
    )
    step_rows = "".join(
        f'<tr><td>{esc(s["step"])}</td><td class="{"ok" if s["status"] == "ok" else "failed"}">'
        f'{esc(s["status"])}</td><td class="num">{float(s["seconds"] or 0):.1f} s</td>'
        f"<td>{'<br>'.join(f'{esc(k)}: {_figure(v)}' for k, v in (s['detail'] or {}).items())}</td></tr>"
        for s in steps
    )
    when = f"{run['started_at']} → {run['finished_at'] or '…'} · {run['status']}" if run else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>thememap run {esc(run_id)}</title><style>{_CSS}</style></head><body>
<h1>thememap run <code>{esc(run_id)}</code></h1>
<p class="sub">{esc(when)}</p>
<div class="cards">{cards}</div>
<h2>Notebooks</h2>
<table><tr><th>notebook</th><th>status</th><th>time</th><th>error</th></tr>{"".join(nb_rows)}</table>
{"<ul>" + "".join(extra_links) + "</ul>" if extra_links else ""}
{label_quality_table(conn, run_id)}
<h2>Steps</h2>
<table><tr><th>step</th><th>status</th><th>time</th><th>figures</th></tr>{step_rows}</table>
<h2>Params</h2>
<pre>{esc(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))}</pre>
<h2>Package versions</h2>
<table>{"".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in sorted(versions.items()))}</table>
</body></html>
"""
    return write_text_atomic(run_dir / "index.html", page)
