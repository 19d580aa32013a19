"""The ``txt`` report format: ``calibration.txt``, the calibration numbers as plain text.

A tiny renderer, the worked example of a third-party format: the plugin declares ``txt``
(``auditkit_report_formats``), so ``--format txt`` and ``[run] formats = ["txt"]`` accept
it without any change to auditkit, and writes it when asked (``auditkit_render``).
Standard library only: this module is imported by ``plugin.py`` at start-up.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditkit import Audit

FORMAT = "txt"
FILE = "calibration.txt"
# the metrics listed, in this order, when the section has them
SHOWN = ("rows", "ece", "ece_ci_low", "ece_ci_high", "ece_noise_floor", "mce", "brier", "worst_group_ece")


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.4f}"


def summary_text(audit: Audit, section_name: str) -> str:
    """One line per number: the model, the verdicts, then the section's metrics (or why not)."""
    lines = [f"model: {audit.model.name}", f"audit verdict: {audit.verdict}"]
    section = audit.sections.get(section_name)
    if section is None:
        lines.append("calibration: not run (no probabilities, a token task, or the plugin was disabled)")
    else:
        lines.append(f"calibration status: {section.status}")
        lines += [f"{name}: {_number(section.metrics[name])}" for name in SHOWN if name in section.metrics]
        if section.summary:
            lines.append(f"summary: {section.summary}")
    return "\n".join(lines) + "\n"


def write(audit: Audit, out_dir: Path, section_name: str) -> Path:
    """Write ``calibration.txt`` into auditkit's staging folder (auditkit moves it into place)."""
    path = Path(out_dir) / FILE
    path.write_text(summary_text(audit, section_name), encoding="utf-8")
    return path
