"""The closing table of ``auditkit run``: one row per model, its verdict and key numbers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from auditkit.terminal import cell_text, format_table, one_line

if TYPE_CHECKING:
    from auditkit.audit import Audit
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


ILLUSTRATIVE_MARK = " *"


def cells(audit: Audit, columns: list[str]) -> list[object]:
    """The key numbers of one audit; a number from an illustrative section (default business
    inputs) is marked, never shown as a plain figure."""
    out: list[object] = []
    for column in columns:
        value = audit.metric(column)
        section = audit.sections.get(column.partition(".")[0])
        if value is not None and section is not None and getattr(section, "illustrative", False):
            value = cell_text(value) + ILLUSTRATIVE_MARK
        out.append(value)
    return out


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
        rows.append([result.name, verdict, audit.dataset.rows if audit.dataset else None, *cells(audit, columns)])
    print(format_table(["model", "verdict", "rows", *columns], rows), file=stream)
    if any(isinstance(cell, str) and cell.endswith(ILLUSTRATIVE_MARK) for row in rows for cell in row):
        print(f"{ILLUSTRATIVE_MARK.strip()} illustrative: computed from default inputs, not a figure for this model",
              file=stream)
    written = [r for r in results if r.files]
    if written:
        print(
            f"\nreports: {one_line(out)}/<model>/ ({', '.join(sorted({f.name for r in written for f in r.files}))})",
            file=stream,
        )
