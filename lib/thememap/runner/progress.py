"""What ``thememap run`` prints while the notebooks run: their own progress, relayed.

The kernel's stderr (the tqdm bars of the lib steps, thememap's log lines) reaches the
runner through papermill's ``stderr_file`` hook; :class:`RunProgress` turns it into a few
lines per notebook, each with the time and the notebook's name::

    10:15:02 01_embed: started (1 of 4)
    10:15:04 01_embed: 200 items, 200 distinct texts, 200 to embed with local:...:int8
    10:15:11 01_embed: embedding (local:all-MiniLM-L6-v2:int8): 100% 200/200 [00:07<00:00]
    10:15:12 01_embed: ok in 13.7 s

A moving bar is shown at most every ``interval`` seconds, its last state always; log lines
are capped at ``max_lines`` per interval (the rest are counted, and are in the report).
When nothing was printed for ``heartbeat`` seconds a line says how long the notebook has
run and which cell it is in. On a terminal, moving bars and heartbeats redraw one status
line in place instead of adding lines.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

# "INFO thememap.embed.step: message" (thememap.runner.notebook's log format, in the kernel)
_LOG_LINE = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
# tqdm's bar graphic between the percentage and the count: "45%|████▌     | 90/200"
_BAR_GRAPHIC = re.compile(r"(\d+%)\|[^|]*\| ")
# "embedding (local:m:int8): 45% 90/200": the bar's name, and its count and total
_BAR_NAME = re.compile(r"^(.*?):\s+\d+(?:%|\s)")
_TOTAL = re.compile(r"\b\d+/\d+\b")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # all but \n


def terminal_safe(text: str, *, width: int | None = None) -> str:
    """``text`` without escape sequences and control characters (newlines kept), cut to
    ``width`` characters. Item text reaches the terminal (ids in bad-row messages, the
    rows ``thememap check`` shows), and must not be able to drive it.
    """
    text = _CONTROL.sub("", _ANSI.sub("", text))
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def clean_line(text: str, *, width: int = 160) -> str:
    """One relayed line of the kernel's stderr, safe and short: log prefixes dropped
    (levels above INFO kept), a tqdm bar's graphic dropped, whitespace collapsed."""
    text = terminal_safe(text).replace("\n", " ")
    level = _LOG_LINE.match(text)
    if level:
        text = text[level.end() :]
        if level.group(1) not in ("DEBUG", "INFO"):
            text = f"{level.group(1).lower()}: {text}"
    return terminal_safe(" ".join(_BAR_GRAPHIC.sub(r"\1 ", text).split()), width=width)


class RunProgress:
    """Terminal progress for a chain run; pass it to :func:`thememap.runner.run.run_chain`.

    The runner calls :meth:`start` and :meth:`finish` around each notebook and gives
    :meth:`write` (papermill's ``stderr_file``) the kernel's stderr as it arrives.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        tty: bool | None = None,
        interval: float = 10.0,
        max_lines: int = 10,
        heartbeat: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.interval = interval
        self.max_lines = max_lines
        self.heartbeat = heartbeat
        self.clock = clock
        self._lock = threading.RLock()
        self._notebook = ""
        self._started = 0.0
        self._cell = ""
        self._reset_stream()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- the runner's calls ----------------------------------------------------------------
    def start(self, notebook: str, number: int, total: int) -> None:
        """A notebook starts (``number`` of ``total``)."""
        with self._lock:
            self._notebook = notebook
            self._started = self.clock()
            self._cell = ""
            self._reset_stream()
            self._print(f"started ({number} of {total})")
        if self.heartbeat > 0:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def cell_started(self, cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        """nbclient's ``on_cell_start`` hook: remember the cell for the heartbeat line."""
        lines = str(getattr(cell, "source", "") or "").strip().splitlines()
        code = [line for line in lines if not line.lstrip().startswith("#")] or lines
        if getattr(cell, "cell_type", "code") == "code" and code:
            with self._lock:
                self._cell = f"in: {code[0]}"

    def finish(self, status: str, seconds: float) -> None:
        """The notebook ended: its pending bar state, then ``ok in 12.3 s``."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            if self._pending:
                self._print(self._pending)
            if self._suppressed:
                self._print(f"({self._suppressed} more line(s) in the report)")
            self._print(f"{status} in {_duration(seconds)}")

    # -- papermill's stderr_file -------------------------------------------------------------
    def write(self, text: str) -> int:
        """Take a piece of the kernel's stderr (any split: bars end in \\r, lines in \\n)."""
        with self._lock:
            for piece in re.split(r"(\r|\n)", text):
                if piece == "\n":
                    self._end_line()
                    self._overwritten = False
                elif piece == "\r":
                    self._end_fragment()
                    self._overwritten = True
                elif piece:
                    self._buffer += piece
                    self._buffer_seen = False
            if self._overwritten and self._buffer.endswith("]") and not self._buffer_seen:
                # a whole tqdm state ("... [00:07<00:00, 26.4text/s]") that may move again
                self._bar(self._buffer)
                self._buffer_seen = True
        return len(text)

    def flush(self) -> None:
        """Part of the file protocol papermill uses."""
        self.out.flush()

    # -- internals ---------------------------------------------------------------------------
    def _reset_stream(self) -> None:
        self._buffer = ""
        self._buffer_seen = False
        self._overwritten = False  # the buffer follows a \r: a bar's state, not a line
        self._pending = ""  # a bar state held back by the rate limit
        self._last_bar = -float("inf")
        self._bar_name = ""
        self._last_printed = ""
        self._window_start = -float("inf")
        self._window_lines = 0
        self._suppressed = 0
        self._status_shown = False
        self._quiet_since = self.clock()

    def _end_fragment(self) -> None:
        if self._buffer and not self._buffer_seen:
            self._bar(self._buffer)
        self._buffer, self._buffer_seen = "", False

    def _end_line(self) -> None:
        line, self._buffer, self._buffer_seen = self._buffer, "", False
        if line.strip():
            self._pending = ""
            self._line(line)
        elif self._pending:  # a bar closed with a bare newline: its last state is final
            self._line(self._pending)
            self._pending = ""

    def _bar(self, raw: str) -> None:
        text = clean_line(raw)
        if not text:
            return
        now = self.clock()
        # a new bar with a total ("0/200") is shown at once: it says what is coming
        key = _BAR_NAME.match(text)
        new = key is not None and key.group(1) != self._bar_name and _TOTAL.search(text)
        self._bar_name = key.group(1) if key else ""
        if new or now - self._last_bar >= self.interval:
            self._last_bar = now
            self._pending = ""
            if self.tty:
                self._status(text)
                self._quiet_since = now
            else:
                self._print(text)
        else:
            self._pending = text

    def _line(self, raw: str) -> None:
        text = clean_line(raw)
        if not text or text == self._last_printed or text.startswith(f"{self._notebook} done"):
            return  # the step's own "done in" line: the runner says it with the status
        now = self.clock()
        if now - self._window_start >= self.interval:
            self._window_start, self._window_lines = now, 0
        if self._window_lines >= self.max_lines:
            self._suppressed += 1
            return
        self._window_lines += 1
        self._print(text)

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                now = self.clock()
                if now - self._quiet_since < self.heartbeat:
                    continue
                where = f", {self._cell}" if self._cell else ""
                text = clean_line(f"running for {_duration(now - self._started)}{where}")
                if self.tty:
                    self._status(text)  # redrawn every second from now on
                else:
                    self._print(text)

    def _stamp(self, text: str) -> str:
        return f"{datetime.now().strftime('%H:%M:%S')} {self._notebook}: {text}"

    def _status(self, text: str) -> None:
        """On a terminal: redraw the one status line in place."""
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        self.out.write("\r\x1b[K" + self._stamp(text)[:width])
        self.out.flush()
        self._status_shown = True

    def _print(self, text: str) -> None:
        if self._status_shown:
            self.out.write("\r\x1b[K")
            self._status_shown = False
        self.out.write(self._stamp(text) + "\n")
        self.out.flush()
        self._last_printed = text
        self._quiet_since = self.clock()


def _duration(seconds: float) -> str:
    """``12.3 s`` or ``4 min 05 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"
