"""The closing table of ``auditkit run``: one row per model, its verdict and key numbers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from auditkit.terminal import format_table, one_line

if TYPE_CHECKING:
    from auditkit.runner import ModelResult

MAX_METRIC_COLUMNS = 6


def key_columns(results: list[ModelResult]) -> list[str]:
    """``section.metric`` names that sections flagged as key numbers, in report order."""
    columns: list[str] = []
    for result in results:
        if result.audit is None:
            continue
        for section in result.audit.ordered_sections():
            for metric in section.key_metrics[:2]:
                name = f"{section.name}.{metric}"
                if name not in columns:
                    columns.append(name)
    return columns[:MAX_METRIC_COLUMNS]


def print_closing_table(results: list[ModelResult], out: Path, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if all(r.audit is None for r in results):
        return  # nothing was audited: the error lines say it all
    columns = key_columns(results)
    rows = []
    for result in results:
        audit = result.audit
        if audit is None:
            rows.append([result.name, "error", None, *[None] * len(columns)])
            continue
        verdict = audit.verdict if not result.error else "error"
        if not result.error and any(f.severity == "error" for f in audit.render_errors):
            verdict += " (report error)"  # the verdict stands; a report is missing or incomplete (exit 3)
        rows.append(
            [result.name, verdict, audit.dataset.rows if audit.dataset else None, *[audit.metric(c) for c in columns]]
        )
    print(format_table(["model", "verdict", "rows", *columns], rows), file=stream)
    written = [r for r in results if r.files]
    if written:
        print(
            f"\nreports: {one_line(out)}/<model>/ ({', '.join(sorted({f.name for r in written for f in r.files}))})",
            file=stream,
        )
