"""``auditkit run --json``: what the run did as one JSON object on stdout, for CI scripts.

The closing table is for people; a script wants each model's verdict, exit code and
report files without parsing columns. Progress and error lines stay on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditkit.runner import ModelResult


def model_verdict(result: ModelResult) -> str:
    """The audit's verdict, or ``error`` when the model could not be audited at all."""
    if result.error or result.audit is None:
        return "error"
    return str(result.audit.verdict)


def run_summary(results: list[ModelResult], out: Path, exit_code: int) -> dict[str, Any]:
    """One object: ``models`` (name, verdict, exit code, report folder, files) and the overall exit code."""
    from auditkit.terminal import one_line

    models = []
    for result in results:
        entry: dict[str, Any] = {
            "name": result.name,
            "verdict": model_verdict(result),
            "exit_code": int(result.exit_code),
            # None when nothing was written (a usage error before the audit began)
            "report_folder": str(out / result.name) if result.files else None,
            "files": sorted(Path(f).name for f in result.files),
        }
        if result.error:
            entry["error"] = one_line(result.error)
        if result.audit is not None and result.audit.render_errors:
            entry["render_errors"] = [one_line(f.message, 400) for f in result.audit.render_errors]
        if result.published:
            entry["published"] = one_line(result.published)
        models.append(entry)
    index = out / "index.html"
    return {
        "exit_code": int(exit_code),
        "out": str(out),
        "index": str(index) if index.is_file() else None,
        "models": models,
    }
