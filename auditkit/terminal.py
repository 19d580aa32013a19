"""What auditkit prints: progress on stderr, the closing table on stdout, all sanitised.

Anything that came from a model dir or a data file (names, labels, messages) may carry
terminal escape sequences; they are stripped before printing.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

# CSI and OSC sequences whole, then any other C0/C1 control, and the Unicode bidi
# controls (embeddings, overrides, isolates, marks) that reorder what a terminal shows
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
    "|[\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def sanitize(text: object) -> str:
    """Remove ANSI/OSC escape sequences, control and bidi characters (keeps tab and newline)."""
    return _CONTROL.sub("", str(text))


def one_line(text: object, width: int = 0) -> str:
    line = " ".join(sanitize(text).split())
    return line if not width or len(line) <= width else line[: width - 1] + "…"


# a CI log that shows nothing for longer looks hung (and some CI systems kill a silent job)
HEARTBEAT_SECONDS = 15.0


class Progress:
    """One-line status messages on stderr (silenced by ``--quiet``).

    Not on a terminal (a CI log), a heartbeat thread repeats the current step with its
    elapsed seconds whenever nothing was printed for ``heartbeat`` seconds, so training
    epochs, bootstraps and PDF rendering never leave the log silent. On a terminal the
    lines stay as they are: a person sees the process is alive.
    """

    def __init__(
        self,
        quiet: bool = False,
        stream: TextIO | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.heartbeat = heartbeat
        self.clock = clock
        self.beating = not quiet and heartbeat > 0 and not _is_terminal(self.stream)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._step: str | None = None
        self._step_started = self._last_line = 0.0

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        line = one_line(message)
        with self._lock:
            self._write(line)
            self._step = line
            self._step_started = self._last_line
        if self.beating and self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="auditkit-heartbeat", daemon=True)
            self._thread.start()

    def tick(self) -> bool:
        """Print the heartbeat line if it is due; True when one was printed (the thread calls this)."""
        with self._lock:
            if self._step is None or self.clock() - self._last_line < self.heartbeat:
                return False
            elapsed = self.clock() - self._step_started
            try:
                self._write(f"{self._step} (still working: {elapsed:.0f} s)")
            except (OSError, ValueError):  # a closed pipe or stream: the heartbeat is a courtesy
                self._last_line = self.clock()
                return False
            return True

    def close(self) -> None:
        """Stop the heartbeat (the work is over); safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, line: str) -> None:
        print(f"auditkit: {line}", file=self.stream, flush=True)
        self._last_line = self.clock()

    def _beat(self) -> None:
        # wake several times per interval, so a line is never more than a fraction late
        while not self._stop.wait(min(self.heartbeat / 4, 1.0)):
            self.tick()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[one_line(c, 60) for c in header]] + [[cell_text(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in rows if row[i] not in (None, "")) and rows for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        padded = (c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        return "  ".join(padded).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines.extend(fmt(r) for r in cells[1:])
    return "\n".join(lines)


def cell_text(value: object) -> str:
    """A table cell as the closing table prints it (numbers grouped, text on one line)."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return one_line(value, 60)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
