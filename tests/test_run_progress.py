"""Issue 12, item 8: what ``thememap run`` prints from a kernel's stderr, on a fake clock.

The chain test (tests/test_run_cli.py) sees the same relay with real kernels.
"""

from __future__ import annotations

import io
import re
import time

from thememap.runner.progress import RunProgress, clean_line


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def lines(out: io.StringIO) -> list[str]:
    """The printed lines without their ``HH:MM:SS `` stamp."""
    return [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in out.getvalue().splitlines()]


def bar(name: str, done: int, total: int) -> str:
    filled = "█" * (10 * done // total)
    return f"\r{name}: {100 * done // total:3d}%|{filled:<10}| {done}/{total} [00:01<00:02]"


def test_bars_are_rate_limited_and_their_last_state_always_shown() -> None:
    clock, out = Clock(), io.StringIO()
    progress = RunProgress(out, tty=False, interval=10, heartbeat=0, clock=clock)
    progress.start("01_embed", 1, 4)
    progress.write("INFO thememap.embed.step: 300 items to embed\n")
    for step in range(31):  # an update a second, as tqdm would send in a live notebook
        clock.now = float(step)
        progress.write(bar("embedding (local:m:int8)", 10 * step, 300))
    progress.write("\n")  # tqdm's close
    progress.write("INFO thememap: 01_embed done in 30.0 s\n")  # the step's own last line
    progress.finish("ok", 31.5)
    assert lines(out) == [
        "01_embed: started (1 of 4)",
        "01_embed: 300 items to embed",
        "01_embed: embedding (local:m:int8): 0% 0/300 [00:01<00:02]",
        "01_embed: embedding (local:m:int8): 33% 100/300 [00:01<00:02]",
        "01_embed: embedding (local:m:int8): 66% 200/300 [00:01<00:02]",
        "01_embed: embedding (local:m:int8): 100% 300/300 [00:01<00:02]",
        "01_embed: ok in 31.5 s",
    ]


def test_pieces_split_anywhere_give_the_same_lines() -> None:
    stream = "INFO thememap.a: first line\n" + bar("x", 1, 2) + bar("x", 2, 2) + "\nsecond\n"
    whole, pieces = io.StringIO(), io.StringIO()
    for out, chunks in ((whole, [stream]), (pieces, list(stream))):
        progress = RunProgress(out, tty=False, heartbeat=0, clock=Clock())
        progress.start("02_cluster", 2, 4)
        for chunk in chunks:
            progress.write(chunk)
        progress.finish("failed", 2.0)
    assert (
        lines(pieces)
        == lines(whole)
        == [
            "02_cluster: started (2 of 4)",
            "02_cluster: first line",
            "02_cluster: x: 50% 1/2 [00:01<00:02]",
            "02_cluster: x: 100% 2/2 [00:01<00:02]",
            "02_cluster: second",
            "02_cluster: failed in 2.0 s",
        ]
    )


def test_a_flood_of_log_lines_is_capped_and_counted() -> None:
    clock, out = Clock(), io.StringIO()
    progress = RunProgress(out, tty=False, interval=10, max_lines=3, heartbeat=0, clock=clock)
    progress.start("03_describe", 3, 4)
    for i in range(50):
        clock.now = i * 0.1
        progress.write(f"INFO thememap.describe.llm_client: retry {i}\n")
    progress.finish("ok", 5.0)
    assert lines(out)[1:] == [
        "03_describe: retry 0",
        "03_describe: retry 1",
        "03_describe: retry 2",
        "03_describe: (47 more line(s) in the report)",
        "03_describe: ok in 5.0 s",
    ]


def test_control_characters_and_escapes_never_reach_the_terminal() -> None:
    assert clean_line("WARNING thememap.ingest: bad id \x1b[2J\x1b]0;x\x07ok\x9b") == (
        "warning: bad id ]0;xok"
    )
    assert len(clean_line("y" * 500)) == 160


def test_a_quiet_notebook_gets_a_heartbeat_naming_its_cell() -> None:
    clock, out = Clock(), io.StringIO()
    progress = RunProgress(out, tty=False, heartbeat=30, clock=clock)
    progress.start("02_cluster", 2, 4)

    class Cell:
        cell_type, source = "code", "result = cluster_store(conn, params.cluster)\nresult"

    progress.cell_started(cell=Cell(), cell_index=4)
    clock.now = 95.0
    deadline = time.monotonic() + 10
    while "running for" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.1)
    progress.finish("ok", 96.0)
    assert (
        "02_cluster: running for 1 min 35 s, in: result = cluster_store(conn, params.cluster)"
        in lines(out)
    )
    assert lines(out)[-1] == "02_cluster: ok in 1 min 36 s"


def test_on_a_terminal_a_moving_bar_redraws_one_line() -> None:
    clock, out = Clock(), io.StringIO()
    progress = RunProgress(out, tty=True, interval=0, heartbeat=0, clock=clock)
    progress.start("01_embed", 1, 1)
    for done in (1, 2, 3):
        progress.write(bar("embedding", done, 4))
    progress.write(bar("embedding", 4, 4) + "\n")
    progress.finish("ok", 1.0)
    text = out.getvalue()
    assert text.count("\r\x1b[K") >= 3  # redrawn in place
    kept = [line for line in text.split("\n") if line]  # what stays on screen
    assert kept[-2].endswith("01_embed: embedding: 100% 4/4 [00:01<00:02]")
    assert kept[-1].endswith("01_embed: ok in 1.0 s")
