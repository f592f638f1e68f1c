"""``thememap check PARAMS``: what a run would do, and every problem found before it starts.

Each problem is one line; the command exits 2 when there is any:

* the params validate (unknown keys and bad values are named: :mod:`thememap.params`);
* the input file exists and parses, and every field the params name is in it; three rows
  are shown (:mod:`thememap.ingest.preview`);
* with no input file the store has items, and a run that starts part-way finds what the
  earlier notebooks leave (:mod:`thememap.runner.stages`);
* the API key variable is set where a backend needs one (its value is never printed);
* with ``ping=True`` each OpenAI-compatible backend's ``base_url`` answers.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from thememap.errors import ThememapError
from thememap.params import Params, load_params
from thememap.params_base import mask_url_credentials
from thememap.runner.progress import terminal_safe

OPENAI_URL = "https://api.openai.com/v1"
PREVIEW_ROWS = 3


@dataclass
class CheckReport:
    """What ``thememap check`` found: lines to show, and the problems (one line each)."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing stands in the way of a run."""
        return not self.problems


@dataclass(frozen=True)
class Backend:
    """An OpenAI-compatible service the params use, and its key."""

    section: str  # "embed" or "describe"
    base_url: str | None
    api_key_env: str
    key_required: bool  # OpenAI itself needs one; a base_url server may need none

    @property
    def url(self) -> str:
        """Where requests go."""
        return self.base_url or OPENAI_URL

    @property
    def key(self) -> str:
        """The key from the environment ("" when unset); never print it."""
        return os.environ.get(self.api_key_env, "")


def remote_backends(params: Params) -> list[Backend]:
    """The OpenAI-compatible services a run with ``params`` calls."""
    found = []
    embed, describe = params.embed, params.describe
    if embed.backend == "openai":
        found.append(Backend("embed", embed.base_url, embed.api_key_env, embed.base_url is None))
    if describe.source == "llm":
        required = describe.provider == "openai" and not describe.base_url
        found.append(Backend("describe", describe.base_url, describe.api_key_env, required))
    return found


# the shipped notebooks that call each backend (03 embeds card texts to score them)
CALLERS = {"embed": ("01_embed", "03_describe"), "describe": ("03_describe",)}


def missing_keys(params: Params, stems: list[str] | None = None) -> list[str]:
    """One line per backend whose API key variable is needed (by one of ``stems``, default
    any notebook) and not set."""
    return [
        f"{b.section}.api_key_env: the environment variable {b.api_key_env} is not set "
        f"({b.section} calls {mask_url_credentials(b.url)}, which needs a key)"
        for b in remote_backends(params)
        if b.key_required and not b.key
        if stems is None or set(CALLERS[b.section]) & set(stems)
    ]


def ping(backend: Backend, *, timeout_s: float = 10.0) -> tuple[bool, str]:
    """``GET <base_url>/models``: ``(ok, one line)``; the key goes in a header, never out."""
    where = f"{backend.section}.base_url {mask_url_credentials(backend.url)}"
    request = urllib.request.Request(backend.url.rstrip("/") + "/models")
    if backend.key:
        request.add_header("Authorization", f"Bearer {backend.key}")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as err:
        status = int(err.code)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        return False, f"{where}: cannot reach it ({mask_url_credentials(str(reason))})"
    millis = (time.perf_counter() - started) * 1000
    if status in (401, 403):
        return False, f"{where}: refused the key in ${backend.api_key_env} (HTTP {status})"
    if status >= 500:
        return False, f"{where}: answers with a server error (HTTP {status})"
    return True, f"{where}: answers (HTTP {status} on /models, {millis:.0f} ms)"


def check_params(
    params_file: Path | str, *, ping_backends: bool = False, params: Params | None = None
) -> CheckReport:
    """Everything ``thememap check`` checks; a params file that does not validate raises."""
    from thememap.runner.run import discover_notebooks
    from thememap.runner.stages import check_stage_inputs

    params = params or load_params(params_file)
    report = CheckReport()
    notebooks = [p.stem for p in discover_notebooks(params.notebooks_dir, params.notebooks)]
    report.lines.append(
        f"{params_file}: valid; store {params.store_path}; notebooks {', '.join(notebooks)}"
    )
    report.lines.append(f"  notebooks from {params.notebooks_dir}")
    if params.input.path is not None:
        _check_input(params, report)
    try:
        check_stage_inputs(params, notebooks)
    except ThememapError as err:
        report.problems.append(str(err))
    report.problems += missing_keys(params)
    for backend in remote_backends(params):
        state = "set" if backend.key else "not set"
        report.lines.append(
            f"{backend.section}: {mask_url_credentials(backend.url)}, "
            f"key from ${backend.api_key_env} ({state})"
        )
        if ping_backends:
            ok, line = ping(backend)
            (report.lines if ok else report.problems).append(line)
    if ping_backends and not remote_backends(params):
        report.lines.append("--ping: nothing to ping (no backend here calls a server)")
    return report


def _check_input(params: Params, report: CheckReport) -> None:
    from thememap.ingest.preview import preview_input

    path = params.resolve(params.input.path or "")
    try:
        preview = preview_input(params.input, path)
    except ThememapError as err:
        report.problems.append(str(err))
        return
    bad = f", {len(preview.bad)} bad (first: {preview.bad[0]})" if preview.bad else ""
    report.lines.append(
        f"input {path} ({preview.format}): first {preview.rows} row(s) read{bad}; "
        f"fields {', '.join(preview.fields)}"
    )
    for item in preview.items[:PREVIEW_ROWS]:
        parts = [item.external_id, item.created_at or ""]
        if params.input.title_field:
            parts.append(str(item.metadata.get(params.input.title_field, "")))
        parts.append(item.content)
        shown = " | ".join(" ".join(p.split()) for p in parts if p)
        report.lines.append("  " + terminal_safe(shown, width=110))
