"""The run's ``index.html``: links to the rendered notebooks, params, timings.

A minimal page; the export step (issue 5) extends it with headline figures.
"""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from thememap.store.runs import run_steps


def write_run_index(
    run_dir: Path,
    *,
    conn: sqlite3.Connection,
    run_id: str,
    notebooks: list[dict[str, Any]],
    params: dict[str, Any],
) -> Path:
    """Write ``run_dir/index.html`` (escaped, no network needed) and return its path."""
    esc = html.escape
    rows = []
    for nb in notebooks:
        name = esc(nb["name"])
        link = f'<a href="{esc(nb["html"])}">{name}</a>' if nb.get("html") else name
        rows.append(
            f"<tr><td>{link}</td><td>{esc(nb['status'])}</td>"
            f"<td>{nb['seconds']:.1f} s</td><td>{esc(nb.get('error') or '')}</td></tr>"
        )
    steps = "".join(
        f"<tr><td>{esc(s['step'])}</td><td>{s['seconds'] or 0:.1f} s</td>"
        f"<td><code>{esc(json.dumps(s['detail']))}</code></td></tr>"
        for s in run_steps(conn, run_id)
    )
    row = conn.execute("SELECT versions FROM runs WHERE id = ?", (run_id,)).fetchone()
    versions = json.loads(row[0]) if row else {}
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>thememap run {esc(run_id)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}
pre{{background:#f6f6f6;padding:1rem;overflow:auto}}</style></head><body>
<h1>thememap run <code>{esc(run_id)}</code></h1>
<h2>Notebooks</h2><table><tr><th>notebook</th><th>status</th><th>time</th><th>error</th></tr>
{"".join(rows)}</table>
<h2>Steps</h2><table><tr><th>step</th><th>time</th><th>figures</th></tr>{steps}</table>
<h2>Params</h2><pre>{esc(yaml.safe_dump(params, sort_keys=False))}</pre>
<h2>Package versions</h2><pre>{esc(yaml.safe_dump(versions, sort_keys=True))}</pre>
</body></html>
"""
    path = run_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
