"""The models audited into ``--out`` by earlier runs, read back from their audit.json for index.html.

index.html compares every model folder under ``--out``, not only this run's: a reviewer
who audits one more model wants it next to the others. An earlier model comes back as
a small :class:`~auditkit.audit.Audit` holding what the index shows (verdict, notes,
sections with their verdicts and metrics); its sections borrow the index columns that
this run's sections of the same name declare, since audit.json does not carry them.
A folder whose audit.json cannot be read is listed as such (verdict ``error``, a note
saying why), never a crash.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditkit.audit import SEVERITIES, Audit, Finding, ModelInfo, Section

# an audit.json is a few hundred kB; anything far larger is not one auditkit wrote
MAX_AUDIT_JSON_BYTES = 64 * 1024 * 1024
_VERDICTS = ("pass", "warn", "fail", "error")
_REPORTS = ("compliance", "business")


def earlier_audits(out: Path, current: Sequence[Audit]) -> list[Audit]:
    """Every model folder under ``out`` that this run did not write, oldest name first.

    A model folder holds audit.json or compliance.html; hidden folders (staging, caches)
    and symlinks are skipped, so nothing outside ``out`` is read.
    """
    names = {a.model.name for a in current}
    templates = {name: s for a in current for name, s in a.sections.items()}
    found = []
    try:
        entries = sorted(os.scandir(out), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(".") or entry.name in names or not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        if not any((folder / f).exists() for f in ("audit.json", "compliance.html")):
            continue  # not a report folder
        data, problem = _read(folder / "audit.json")
        found.append(_audit(entry.name, data, templates) if data is not None else _unreadable(entry.name, problem))
    return found


def _read(path: Path) -> tuple[dict[str, Any] | None, str]:
    try:
        if path.is_symlink():
            return None, "audit.json is a symlink"
        if path.stat().st_size > MAX_AUDIT_JSON_BYTES:
            return None, "audit.json is too large to be one auditkit wrote"
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "no audit.json (the run did not write the json format)"
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"audit.json could not be read ({type(exc).__name__})"
    if not isinstance(data, dict) or not isinstance(data.get("sections"), dict) or "schema_version" not in data:
        return None, "audit.json is not an auditkit audit"
    return data, ""


def _audit(folder: str, data: dict[str, Any], templates: dict[str, Section]) -> Audit:
    sections = {}
    for name, raw in data["sections"].items():
        if not isinstance(raw, dict) or raw.get("report") not in _REPORTS:
            continue
        template = templates.get(name)
        metrics = raw.get("metrics") if isinstance(raw.get("metrics"), dict) else {}
        reserved = {"name", "title", "report", "metrics", "findings"}
        sections[name] = Section(
            name=str(name),
            title=str(raw.get("title", name)),
            report=raw["report"],
            metrics={k: v for k, v in metrics.items() if _is_number(v)},
            data={k: v for k, v in raw.items() if k not in reserved and (_is_number(v) or isinstance(v, str))},
            findings=_findings(raw.get("findings")),
            order=template.order if template is not None else 500,
            index_columns=list(template.index_columns) if template is not None else [],
            assessed=raw.get("status") != "not_assessed",
            illustrative=raw.get("illustrative") is True,
        )
    verdict = data.get("verdict") if data.get("verdict") in _VERDICTS else "error"
    notes = data.get("verdict_notes")
    return _shell(
        folder,
        sections,
        verdict,
        [str(n) for n in notes] if isinstance(notes, list) else [],
        report_id=str(data.get("report_id", "")),
        created=_created(data.get("created")),
    )


def _unreadable(folder: str, problem: str) -> Audit:
    # one unmeasured section per report, so neither report column reads PASS
    sections = {
        f"unreadable-{kind}": Section(name=f"unreadable-{kind}", title="unreadable", report=kind, assessed=False)
        for kind in _REPORTS
    }
    return _shell(folder, sections, "error", [f"{problem}: listed from an earlier run, not re-audited"])


def _shell(
    folder: str,
    sections: dict[str, Section],
    verdict: str,
    notes: list[str],
    report_id: str = "",
    created: str = "",
) -> Audit:
    audit = Audit(
        model=ModelInfo(name=folder, path=folder, task="", labels=[], loader="earlier run"),
        config=None,  # type: ignore[arg-type]  # the index reads no config of an earlier model
        model_dir="",
        out_dir=folder,
        report_id=report_id,
        sections=sections,
        created=created,
        verdict_notes=notes,
    )
    audit.final_verdict = verdict  # type: ignore[assignment]
    return audit


def _findings(raw: Any) -> list[Finding]:
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("severity") in SEVERITIES:
            out.append(Finding(item["severity"], str(item.get("code", "")), str(item.get("message", ""))))
    return out


def _created(value: Any) -> str:
    """The earlier run's date when it is one (the index prints the newest), else nothing."""
    if not isinstance(value, str):
        return ""
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
