"""audit.json: the machine-readable audit every other report is a view of.

Runs last among renderers (``trylast``), so that it records the files and any render
errors of the others (``render_errors``, apart from ``findings``: the verdict was fixed
before the first renderer ran, see :meth:`auditkit.audit.Audit.finalize`).
The schema is versioned; keys are a contract for bots and tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from auditkit import Audit, hookimpl
from auditkit._version import __version__
from auditkit.audit import jsonable
from auditkit.safe_text import redact_paths

SCHEMA_VERSION = "1.0"


def audit_to_json(audit: Audit) -> dict[str, Any]:
    """The audit as plain JSON data (the schema documented in DESIGN.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "auditkit_version": __version__,
        "report_id": audit.report_id,
        "created": audit.created,
        "verdict": audit.verdict,
        "verdict_notes": list(audit.verdict_notes),
        "model": audit.model.to_json(),
        "dataset": audit.dataset.to_json() if audit.dataset else None,
        "predictions": _predictions_json(audit),
        "plugins": [{"name": p.name, "version": p.version, "source": p.source} for p in audit.plugins],
        "sections": {s.name: s.to_json() for s in audit.ordered_sections()},
        "findings": [f.to_json() for f in audit.all_findings()],
        # a path key holds what the reviewer typed (often under a home dir): name + hash
        "config": jsonable(redact_paths(audit.config.to_json(), audit.model_dir)),
        "config_sources": config_sources(audit.config),
        "files": [Path(f).name for f in audit.files],
        # problems met writing the reports before this one (it runs last); they never change the
        # verdict above, which every report states alike, but an "error" here means exit code 3
        "render_errors": [f.to_json() for f in audit.render_errors],
        **({} if reproducible() else {"timings": dict(audit.timings)}),
    }


def config_sources(config: Any) -> dict[str, str]:
    """Every option key (dotted) → who set it: "default", "model dir", "reviewer config",
    "flag" or "policy" (``Config.source``), so a reader tells given inputs from invented ones."""
    keys = set(getattr(config, "kinds", {}) or {})
    for name, schema in (getattr(config, "schemas", {}) or {}).items():
        keys.update(f"{name}.{option.name}" for option in schema.options)
    return {key: config.source(key) for key in sorted(keys)}


def reproducible() -> bool:
    """With SOURCE_DATE_EPOCH set, two runs must give identical bytes: leave run facts out."""
    return bool(os.environ.get("SOURCE_DATE_EPOCH"))


def _predictions_json(audit: Audit) -> dict[str, Any] | None:
    predictions = audit.predictions
    if predictions is None:
        return None
    if reproducible():  # whether they came from the cache is a fact of the run, not of the audit
        return {"rows": len(predictions.labels)}
    return {"source": predictions.source, "rows": len(predictions.labels), "seconds": round(predictions.seconds, 3)}


@hookimpl
def auditkit_report_formats() -> list[str]:
    return ["json"]


@hookimpl(trylast=True)
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path]:
    if "json" not in formats:
        return []
    path = out_dir / "audit.json"
    text = json.dumps(audit_to_json(audit), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return [path]
