"""What auditkit prints: progress on stderr, the closing table on stdout, all sanitised.

Anything that came from a model dir or a data file (names, labels, messages) may carry
terminal escape sequences; they are stripped before printing.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
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


class Progress:
    """One-line status messages on stderr (silenced by ``--quiet``)."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"auditkit: {one_line(message)}", file=self.stream, flush=True)


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[one_line(c, 60) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in rows if row[i] not in (None, "")) and rows for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        padded = (c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        return "  ".join(padded).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines.extend(fmt(r) for r in cells[1:])
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return one_line(value, 60)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
