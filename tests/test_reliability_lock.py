"""Issue 10, item 11: one run at a time per store (real runner subprocesses, real kill -9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

import thememap
from thememap.errors import StoreError
from thememap.store.lock import acquire_store_lock

LIB = Path(thememap.__file__).resolve().parents[1]


def test_a_second_lock_on_one_store_is_refused_naming_the_holder(tmp_path: Path) -> None:
    store = tmp_path / "items.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from thememap.store.lock import acquire_store_lock\n"
            f"acquire_store_lock({str(store)!r}, run_id='first')\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
        ],
        env={**os.environ, "PYTHONPATH": str(LIB)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError) as err:
            acquire_store_lock(store, run_id="second")
        assert f"pid {holder.pid}, run first" in str(err.value)
        assert "in use by another thememap run" in str(err.value)
        os.kill(holder.pid, signal.SIGKILL)  # a killed holder leaves no stale lock
        holder.wait(timeout=30)
        with acquire_store_lock(store, run_id="third") as lock:
            assert lock.store == store.resolve()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)


def _slow_notebook(folder: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_file = ""\nrun_id = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "import pathlib, time\n"
            "from thememap.runner.notebook import start_step\n"
            "step = start_step('01_wait', params_file, run_id)\n"
            "pathlib.Path('started').touch()\n"
            "time.sleep(90)\n"
            "step.done()"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "thememap", "language": "python", "display_name": "tm"}
    folder.mkdir()
    nbformat.write(nb, folder / "01_wait.ipynb")


@pytest.mark.slow
def test_a_second_runner_on_one_store_stops_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").touch()
    _slow_notebook(tmp_path / "notebooks")
    (tmp_path / "p.yaml").write_text(yaml.safe_dump({"store": "s.db"}))
    env = {**os.environ, "PYTHONPATH": str(LIB)}
    command = [sys.executable, "-m", "thememap.runner.cli", "run", "p.yaml", "-q"]
    first = subprocess.Popen(
        [*command, "--run-name", "first"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not (tmp_path / "notebooks" / "started").exists():
            assert first.poll() is None and time.monotonic() < deadline, "first run never started"
            time.sleep(0.1)
        second = subprocess.run(
            [*command, "--run-name", "second"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"in use by another thememap run (pid {first.pid}, run first" in second.stderr
        os.killpg(first.pid, signal.SIGKILL)  # kill -9 the first run and its kernel
        first.wait(timeout=30)
        (tmp_path / "notebooks" / "started").unlink()
        (tmp_path / "notebooks" / "01_wait.ipynb").write_text(
            (tmp_path / "notebooks" / "01_wait.ipynb").read_text().replace("time.sleep(90)", "")
        )
        third = subprocess.run(
            [*command, "--run-name", "third"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert third.returncode == 0, third.stderr  # no stale lock after kill -9
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
