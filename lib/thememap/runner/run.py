"""The runner: the numbered notebooks, in order, through papermill, into a report folder.

``run_chain("params/demo.yaml")`` validates the params, then executes
``notebooks/NN_*.ipynb`` one by one with ``params_file`` and ``run_id`` injected,
writes each executed notebook and its offline HTML rendering to
``reports/<run>/``, and stops at the first failure with a message naming the
notebook and the failing cell. The command line is ``thememap run PARAMS``;
``start_from`` / ``only`` resume a chain from what the store already holds
(checked first: :mod:`thememap.runner.stages`), and a
:class:`~thememap.runner.progress.RunProgress` shows each notebook's own progress while it runs.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from thememap.errors import NotebookError, ParamsError
from thememap.ingest.load import check_input_file
from thememap.params import Params, load_params
from thememap.progress import BATCH_ENV
from thememap.runner.check import missing_keys
from thememap.runner.progress import RunProgress
from thememap.runner.stages import check_stage_inputs
from thememap.store import open_store
from thememap.store.lock import HELD_ENV, acquire_store_lock
from thememap.store.runs import finish_run, start_run

log = logging.getLogger(__name__)

KERNEL_NAME = "thememap"
NOTEBOOK_PATTERN = re.compile(r"^\d{2}_[A-Za-z0-9_]+\.ipynb$")
TEMPLATE_DIR = Path(__file__).parent / "report_template"
TEMPLATE_NAME = "thememap_offline"
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class NotebookResult:
    """One executed notebook of a run."""

    name: str
    ipynb: Path
    html: Path | None
    seconds: float
    status: str  # "ok" or "failed"
    error: str | None = None


@dataclass
class RunResult:
    """What a chain run produced."""

    run_id: str
    run_dir: Path
    params_file: Path
    notebooks: list[NotebookResult] = field(default_factory=list)
    index_html: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every notebook ran."""
        return all(nb.status == "ok" for nb in self.notebooks)


def discover_notebooks(
    notebooks_dir: Path,
    only: list[str] | None = None,
    *,
    start_from: str | None = None,
    key: str = "notebooks",
) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in run order, optionally filtered by stem.

    ``only`` keeps the named ones, ``start_from`` drops those before it; a name is a stem
    (``02_cluster``) or its number (``02``). ``key`` names the option in error messages.
    """
    found = sorted(p for p in notebooks_dir.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))
    if not found:
        raise ParamsError(f"{notebooks_dir}: no numbered notebooks (NN_name.ipynb) found")
    stems = [p.stem for p in found]
    if only:
        wanted = {_stem_of(name, stems, key) for name in only}
        found = [p for p in found if p.stem in wanted]
    if start_from:
        first = _stem_of(start_from, stems, "--from")
        found = [p for p in found if p.stem >= first]
        if not found:
            raise ParamsError(f"--from {start_from}: no selected notebook from there on")
    return found


def _stem_of(name: str, stems: list[str], key: str) -> str:
    """The stem ``name`` means: itself, or the one stem numbered ``name``."""
    matches = [s for s in stems if s == name or s.split("_", 1)[0] == name]
    if len(matches) != 1:
        raise ParamsError(f"{key}: unknown notebook {name!r} (valid: {', '.join(stems)})")
    return matches[0]


def default_run_id(params_file: Path) -> str:
    """``<params stem>-<UTC time>``, e.g. ``demo-20261125-101500``."""
    return f"{params_file.stem}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Make sure a kernelspec ``name`` running *this* interpreter exists (papermill #251)."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if name not in specs:
        from ipykernel.kernelspec import install

        log.info("installing the Jupyter kernel %r for %s", name, sys.executable)
        install(kernel_name=name, display_name=f"{name} ({sys.prefix})", prefix=sys.prefix)
    return name


def kernel_config() -> Any:
    """Kernel-manager settings for the runner's kernels.

    ipykernel warns on every start that it "is running over TCP without encryption"
    unless the manager provisions CurveZMQ keys: jupyter_client does so with
    ``transport_encryption = "auto"`` when pyzmq has Curve and the kernelspec declares it
    (ipykernel's does); elsewhere the kernel talks over local IPC sockets instead.
    """
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    config = Config()
    if "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve"):
        config.KernelManager.transport_encryption = "auto"
    elif os.name == "posix":
        config.KernelManager.transport = "ipc"
    return config


class _NoAltTextNotice(logging.Filter):
    """nbconvert notes each figure without alt text; a report's figures are all like that."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Alternative text is missing")


def render_html(ipynb: Path, html: Path, *, show_code: bool) -> Path:
    """Render an executed notebook to one self-contained HTML file that opens offline."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        template_name=TEMPLATE_NAME,
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
        embed_images=True,
    )
    if not any(isinstance(f, _NoAltTextNotice) for f in exporter.log.filters):
        exporter.log.addFilter(_NoAltTextNotice())
    body, _ = exporter.from_notebook_node(nbformat.read(ipynb, as_version=4))
    html.write_text(body, encoding="utf-8")
    return html


def _failure_message(notebook: Path, executed: Path, err: Exception) -> str:
    """``NN_x.ipynb, cell K (first line): Error: message``; K counts cells of the source notebook."""
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    exec_count = getattr(err, "exec_count", None)
    if exec_count is None or not executed.exists():
        return f"{notebook.name}: {ename}: {evalue}"
    import nbformat

    cells = nbformat.read(executed, as_version=4).cells
    index = next((i for i, c in enumerate(cells) if c.get("execution_count") == exec_count), None)
    if index is None:
        return f"{notebook.name}, execution [{exec_count}]: {ename}: {evalue}"
    added_by_papermill = {"injected-parameters", "papermill-error-cell-tag"}
    injected = sum(1 for c in cells[:index] if added_by_papermill & set(c.metadata.get("tags", [])))
    first_line = cells[index].source.strip().splitlines()[0] if cells[index].source.strip() else ""
    if not str(evalue).strip():
        # a ThememapError is shown as one stderr line (thememap.runner.notebook), not as an
        # error output
        stderr = [
            o.get("text", "") for o in cells[index].get("outputs", []) if o.get("name") == "stderr"
        ]
        last = [line for line in "".join(stderr).splitlines() if line.strip()]
        if last:
            return f"{notebook.name}, cell {index - injected + 1} ({first_line[:60]}): {last[-1]}"
    return f"{notebook.name}, cell {index - injected + 1} ({first_line[:60]}): {ename}: {evalue}"


def run_chain(
    params_file: Path | str,
    *,
    run_id: str | None = None,
    notebooks_dir: Path | None = None,
    kernel_name: str = KERNEL_NAME,
    on_notebook: Callable[[NotebookResult], None] | None = None,
    start_from: str | None = None,
    only: list[str] | None = None,
    progress: RunProgress | None = None,
) -> RunResult:
    """Run the numbered notebooks in order with ``params_file``; see the module docstring.

    ``only`` (stems or numbers) replaces the params' ``notebooks``; ``start_from`` skips
    the notebooks before it. Raises :class:`NotebookError` (after rendering what ran)
    when a notebook fails, :class:`~thememap.errors.StepOrderError` /
    :class:`~thememap.errors.InputError` when a notebook would start with nothing to
    work on, and :class:`~thememap.errors.StoreError` when another run holds the store.
    """
    params_file = Path(os.path.abspath(Path(params_file).expanduser()))  # symlinks kept
    params: Params = load_params(params_file)  # validated before anything runs
    run_id = run_id or default_run_id(params_file)
    if not _RUN_NAME.match(run_id):
        raise ParamsError(f"run name {run_id!r}: use letters, digits, '.', '_' or '-'")
    notebooks_dir = Path(notebooks_dir).resolve() if notebooks_dir else params.notebooks_dir
    if only:
        notebooks = discover_notebooks(notebooks_dir, only, start_from=start_from, key="--only")
    else:
        notebooks = discover_notebooks(notebooks_dir, params.notebooks, start_from=start_from)
    if params.input.path is not None and any(nb.stem.startswith("01_") for nb in notebooks):
        # before the store is opened: a missing input must not leave an empty store behind
        check_input_file(params.resolve(params.input.path))
    stems = [nb.stem for nb in notebooks]
    check_stage_inputs(params, stems)
    no_key = missing_keys(params, stems)
    if no_key:
        raise ParamsError(no_key[0])
    # one run per store: a second one stops here (see thememap.store.lock)
    lock = acquire_store_lock(params.store_path, run_id=run_id)
    os.environ[HELD_ENV] = str(lock.store)  # the kernels run under this lock
    try:
        return _run_locked(
            params,
            params_file,
            run_id,
            notebooks,
            notebooks_dir,
            kernel_name,
            on_notebook,
            progress,
        )
    finally:
        os.environ.pop(HELD_ENV, None)
        lock.release()


def _run_locked(
    params: Params,
    params_file: Path,
    run_id: str,
    notebooks: list[Path],
    notebooks_dir: Path,
    kernel_name: str,
    on_notebook: Callable[[NotebookResult], None] | None,
    progress: RunProgress | None,
) -> RunResult:
    import papermill

    run_dir = params.resolve(params.report.dir) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    ensure_kernel(kernel_name)
    os.environ[BATCH_ENV] = "1"  # inherited by the kernels: sparse progress bars in reports

    with closing(open_store(params.store_path)) as conn:
        start_run(conn, run_id, params.public_dump(), str(params_file), owner=True)
    result = RunResult(run_id=run_id, run_dir=run_dir, params_file=params_file)
    log.info("run %s: %d notebook(s) -> %s", run_id, len(notebooks), run_dir)

    failure: str | None = None
    for number, notebook in enumerate(notebooks, start=1):
        out_ipynb = run_dir / notebook.name
        t0 = time.perf_counter()
        status, error = "ok", None
        relay: dict[str, Any] = {}
        if progress is not None:
            progress.start(notebook.stem, number, len(notebooks))
            relay = {"stderr_file": progress, "on_cell_start": progress.cell_started}
        try:
            papermill.execute_notebook(
                str(notebook),
                str(out_ipynb),
                parameters={"params_file": str(params_file), "run_id": run_id},
                kernel_name=kernel_name,
                cwd=str(notebooks_dir),
                progress_bar=False,
                config=kernel_config(),
                **relay,
            )
        except Exception as err:  # papermill raises PapermillExecutionError and kernel errors
            status, error = "failed", _failure_message(notebook, out_ipynb, err)
        seconds = time.perf_counter() - t0
        if progress is not None:
            progress.finish(status, seconds)
        html = None
        if out_ipynb.exists():
            html = render_html(
                out_ipynb, out_ipynb.with_suffix(".html"), show_code=params.report.show_code
            )
        nb_result = NotebookResult(notebook.stem, out_ipynb, html, seconds, status, error)
        result.notebooks.append(nb_result)
        if progress is None:
            log.info("%s: %s in %.1f s", notebook.stem, status, seconds)
        if on_notebook:
            on_notebook(nb_result)
        if status != "ok":
            failure = error
            break

    with closing(open_store(params.store_path)) as conn:
        finish_run(conn, run_id, "ok" if failure is None else "failed")
        result.index_html = write_index(result, params, conn)
    if failure is not None:
        raise NotebookError(f"{failure}\n  (executed notebook and HTML kept in {run_dir})")
    return result


def write_index(result: RunResult, params: Params, conn: Any) -> Path:
    """Write ``index.html`` for the run: notebooks, params, versions, timings, headline figures."""
    from thememap.export.report_index import write_run_index

    return write_run_index(
        result.run_dir,
        conn=conn,
        run_id=result.run_id,
        notebooks=[
            {
                "name": nb.name,
                "html": nb.html.name if nb.html else None,
                "seconds": nb.seconds,
                "status": nb.status,
                "error": nb.error,
            }
            for nb in result.notebooks
        ],
        params=params.public_dump(),
    )
