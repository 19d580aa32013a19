"""What the reports say, computed from an Audit: cover facts, key numbers, summaries.

Kept apart from the templates (which only lay out) and shared by the HTML/PDF and
Markdown renderers, so every format states the same numbers with the same words.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from auditkit.audit import IndexColumn, KeyNumber, Recommendation
from auditkit.reportformat import (
    ILLUSTRATIVE_LABEL,
    Fact,
    ReportSettings,
    format_date,
    format_number,
    is_number,
    status_label,
)
from auditkit.safe_text import redact_paths

if TYPE_CHECKING:
    from auditkit.audit import Audit, Finding, Section

VERDICT_RULES = (
    "Every finding has a severity: info, warn, fail or error.",
    "A section's verdict is its most severe finding: pass when it has none above info.",
    "The overall verdict is the most severe finding of the whole audit.",
    "error means a plugin or template could not finish: its section is incomplete and "
    "auditkit exits with code 3.",
    "fail means a policy or tolerance was not met: auditkit exits with code 1 "
    "(also on warn when [run] fail_on = \"warn\").",
)

# The audit's verdict comes before any section's advice; the advising section adds its own rules.
VERDICT_RECOMMENDATION_RULES = (
    "Incomplete: a plugin failed (overall verdict error); the value is not reliable.",
    "Hold: a compliance policy fails; resolve the failing findings first.",
)


def _declared(items: Any, kind: type) -> list[Any]:
    """A section's declarations of ``kind``; anything else a plugin put there is ignored
    (a malformed declaration must not cost the cover or the index)."""
    return [item for item in items if isinstance(item, kind)] if isinstance(items, (list, tuple)) else []


def _value(section: Section, name: str) -> Any:
    """A section's metric, or a value of its data (as :meth:`Audit.metric` reads it)."""
    return section.metrics[name] if name in section.metrics else section.data.get(name)


def key_numbers(audit: Audit, kind: str) -> list[Fact]:
    """The numbers a reader looks for first: what each section declares for this report's
    cover (``Section.headline``), in section order; one per slot, the later section's winning."""
    facts: dict[str, Fact] = {}
    for section in audit.ordered_sections():
        for number in _declared(section.headline, KeyNumber):
            if kind not in (number.reports or (section.report,)):
                continue
            value = _value(section, number.metric)
            if value is None and not number.missing:
                continue  # nothing to show (and a slot keeps an earlier section's number)
            label = number.label
            if section.illustrative:  # from default inputs: never a plain figure
                label = f"{label}, {ILLUSTRATIVE_LABEL}"
            facts[number.slot or f"{section.name}.{number.metric}"] = Fact(
                label, number.missing if value is None else value
            )
    return list(facts.values())


def cover_facts(audit: Audit, settings: ReportSettings) -> list[Fact]:
    model, data = audit.model, audit.dataset
    facts = [
        Fact("Model", model.name),
        Fact("Task", model.task),
        Fact("Labels", ", ".join(model.labels)),
        Fact("Parameters", model.num_parameters),
    ]
    if model.base_model:
        facts.append(Fact("Base model", model.base_model))
    facts.append(Fact("Weights SHA-256", model.sha256 or "—", mono=True))
    if data is not None:
        facts += [
            Fact("Evaluation data", f"{PurePath(data.path).name} ({format_number(data.rows)} rows)"),
            Fact("Data SHA-256", data.sha256, mono=True),
            Fact("Sensitive features", ", ".join(data.sensitive) or "none"),
        ]
    facts += [
        Fact("Audit date", format_date(audit.created)),
        Fact("Report ID", audit.report_id, mono=True),
        Fact("auditkit", _auditkit_version()),
    ]
    if audit.plugins:  # one line, however many plugins: the cover stays one page
        facts.append(Fact("Plugins", ", ".join(_plugin_label(p) for p in audit.plugins)))
    if settings.author:
        facts.append(Fact("Author", settings.author))
    if settings.organisation:
        facts.append(Fact("Organisation", settings.organisation))
    return facts


def _plugin_label(plugin: Any) -> str:
    source = "" if plugin.source in ("built-in", "in-process") else f" from {plugin.source}"
    return f"{plugin.name} {plugin.version}{source}"


def _auditkit_version() -> str:
    from auditkit import __version__

    return __version__


def finding_counts(findings: list[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    parts = [f"{counts[s]} {s}" for s in ("error", "fail", "warn", "info") if counts[s]]
    return ", ".join(parts) if parts else "no findings"


def executive_summary(audit: Audit, kind: str, findings: list[Finding]) -> str:
    """One paragraph in plain words; numbers formatted as everywhere else."""
    model, data = audit.model, audit.dataset
    sections = audit.ordered_sections(kind)
    size = f", {format_number(model.num_parameters)} parameters" if model.num_parameters else ""
    text = f"auditkit audited {model.name} ({model.task}{size})"
    if data is not None:
        text += f" on {format_number(data.rows)} rows of {PurePath(data.path).name}"
    text += f". Overall verdict: {verdict_text(audit)} ({finding_counts(audit.all_findings())})"
    if sections:
        verdicts = "; ".join(f"{s.title}: {status_label(s.status)}" for s in sections)
        text += f" across {len(sections)} sections ({verdicts})."
    else:
        text += "; no section of this report ran."
    worst = next((f for f in findings if f.severity in ("error", "fail")), None)
    if worst is not None:
        text += f" Most severe finding: {worst.code}: {worst.message}"
    if kind == "business":
        label, reason = recommendation(audit)
        text += f" Recommendation: {label}: {reason}"
    return text


def verdict_text(audit: Audit) -> str:
    """The verdict with its qualifiers, as every report words it: ``PASS (not assessed: Calibration)``."""
    notes = list(getattr(audit, "verdict_notes", []) or [])
    return audit.verdict.upper() + (f" ({'; '.join(notes)})" if notes else "")


def advising_section(audit: Audit) -> Section | None:
    """The last section (in report order) that gives a :class:`Recommendation`, if any."""
    advising = [s for s in audit.ordered_sections() if isinstance(s.recommendation, Recommendation)]
    return advising[-1] if advising else None


def recommendation(audit: Audit) -> tuple[str, str]:
    """(label, reason): the audit's verdict first (error, fail), then the advising section's own."""
    section = advising_section(audit)
    label, reason = _recommendation(audit, section)
    if section is not None and section.recommendation is not None:
        if section.illustrative:
            label = f"{label}, {ILLUSTRATIVE_LABEL}"
        if section.recommendation.caveat:
            reason = f"{reason} {section.recommendation.caveat}"
    return label, reason


def _recommendation(audit: Audit, section: Section | None) -> tuple[str, str]:
    verdict = audit.verdict
    if verdict == "error":
        return "Incomplete", "a plugin failed, so the value cannot be relied on."
    if verdict == "fail":
        return "Hold", "a compliance policy fails; resolve the failing findings first."
    advice = section.recommendation if section is not None else None
    if advice is None:
        return "No valuation", "no section of this audit puts a value on the model."
    if verdict == "warn" and advice.if_warn is not None:
        return advice.if_warn
    return advice.label, advice.reason


def recommendation_rules(audit: Audit) -> tuple[str, ...]:
    """How the recommendation is chosen: the verdict's rules, then the advising section's."""
    section = advising_section(audit)
    own = tuple(section.recommendation.rules) if section is not None and section.recommendation else ()
    return VERDICT_RECOMMENDATION_RULES + own


def keywords(audit: Audit, kind: str, settings: ReportSettings) -> list[str]:
    words = ["auditkit", "model audit", kind, audit.model.name, audit.model.task, *settings.keywords]
    return [w.replace(",", " ") for w in dict.fromkeys(words) if w]


@dataclass
class SettingRow:
    key: str
    value: str
    help: str
    source: str = ""  # who set it: default, model dir, reviewer config, flag or policy


def settings_rows(audit: Audit, section: str) -> list[SettingRow]:
    """A section's configuration as used (tolerances, thresholds, assumptions), flattened."""
    rows: list[SettingRow] = []
    schemas = getattr(audit.config, "schemas", {}) or {}

    def walk(prefix: str, values: dict[str, Any]) -> None:
        for key, value in values.items():
            path = f"{prefix}.{key}"
            if isinstance(value, dict) and path in schemas:
                walk(path, value)
                continue
            schema = schemas.get(prefix)
            option = schema.option(key) if schema else None
            value = redact_paths(value, audit.model_dir)  # no local path in a report
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
            source = audit.config.source(path) if hasattr(audit.config, "source") else ""
            rows.append(SettingRow(path.partition(".")[2], shown, option.help if option else "", source))

    values = audit.config.section(section) if audit.config is not None else {}
    walk(section, values if isinstance(values, dict) else {})
    return rows


def extra(audit: Audit, kind: str) -> dict[str, Any]:
    """Per-report extras: method notes and config (compliance), recommendation (business)."""
    sections = audit.ordered_sections(kind)
    notes = [(s, settings_rows(audit, s.name)) for s in sections]
    if kind == "compliance":
        config = redact_paths(audit.config.to_json(), audit.model_dir) if audit.config is not None else {}
        return {
            "method_notes": notes,
            "verdict_rules": VERDICT_RULES,
            "config_json": json.dumps(config, indent=2, ensure_ascii=False, default=str),
            "card": card_rows(audit),
        }
    label, reason = recommendation(audit)
    illustrative = [s.title for s in sections if getattr(s, "illustrative", False)]
    return {
        "illustrative": (
            f"{', '.join(illustrative)}: computed from documented defaults, not from business inputs "
            "given by the reviewer or the model dir; the figures illustrate the method only."
            if illustrative
            else ""
        ),
        "recommendation": label,
        "recommendation_reason": reason,
        "recommendation_rules": recommendation_rules(audit),
        "assumptions": notes,
    }


def card_rows(audit: Audit, limit: int = 2000) -> list[tuple[str, str]]:
    """The model card as (field, text) pairs, long values cut (the card is untrusted)."""
    rows = []
    for key, value in (audit.model.card or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        rows.append((str(key), text if len(text) <= limit else text[:limit] + " […]"))
    return rows


@dataclass
class IndexCell:
    value: Any  # a number, or None
    missing: str = ""  # shown instead of a dash when the section ran without a value
    detail: str = ""  # muted words after the number


@dataclass
class IndexRow:
    name: str
    href: str
    business_href: str
    verdict: str
    verdict_notes: list[str]
    compliance_verdict: str
    business_verdict: str
    cells: list[IndexCell]  # one per column of :func:`index_columns`
    rank: Any  # the ranking column's value (None: last)
    report_id: str


def _column_key(section: Section, column: IndexColumn) -> str:
    return column.slot or f"{section.name}.{column.metric}"


def index_columns(audits: Sequence[Audit]) -> list[IndexColumn]:
    """Every column any audited model's sections declare, in section order (a model
    without that section shows an empty cell); the first declaration names the column."""
    return [column for _, column in _index_columns(audits)]


def _index_columns(audits: Sequence[Audit]) -> list[tuple[str, IndexColumn]]:
    found: dict[str, tuple[tuple[int, int], IndexColumn]] = {}
    for audit in audits:
        for section in audit.ordered_sections():
            for position, column in enumerate(_declared(section.index_columns, IndexColumn)):
                key = _column_key(section, column)
                place = (section.order, position)
                if key not in found or place < found[key][0]:
                    found[key] = (place, found[key][1] if key in found else column)
    return [(key, column) for key, (_, column) in sorted(found.items(), key=lambda item: item[1][0])]


def _cells(audit: Audit) -> dict[str, IndexCell]:
    """This model's index cells by column key; in a slot the later section's value wins."""
    cells: dict[str, IndexCell] = {}
    for section in audit.ordered_sections():
        for column in _declared(section.index_columns, IndexColumn):
            key = _column_key(section, column)
            value = _value(section, column.metric)
            if value is None and key in cells:
                continue
            cells[key] = IndexCell(value, column.missing, column.detail if value is not None else "")
    return cells


def index_rows(audits: Sequence[Audit]) -> list[IndexRow]:
    """One row per model, ranked by the column a section marks ``rank`` (largest first,
    models without a value last), else by name."""
    columns = _index_columns(audits)
    keys = [key for key, _ in columns]
    ranking = next((key for key, column in columns if column.rank), None)
    rows = []
    for audit in audits:
        folder = quote(audit.model.name, safe="")
        cells = _cells(audit)
        rank = cells[ranking].value if ranking in cells else None
        rows.append(
            IndexRow(
                name=audit.model.name,
                href=f"{folder}/compliance.html",
                business_href=f"{folder}/business.html",
                verdict=audit.verdict,
                verdict_notes=list(audit.verdict_notes),
                compliance_verdict=_report_verdict(audit, "compliance"),
                business_verdict=_report_verdict(audit, "business"),
                cells=[cells.get(k, IndexCell(None)) for k in keys],
                rank=rank if is_number(rank) else None,
                report_id=audit.report_id,
            )
        )
    return sorted(rows, key=lambda r: (r.rank is None, -(r.rank or 0), r.name))


def _report_verdict(audit: Audit, kind: str) -> str:
    """The worst verdict of the sections that measured something; ``not_assessed`` when none did
    (a report whose every section was skipped is not a pass)."""
    from auditkit.audit import worst

    sections = audit.ordered_sections(kind)
    assessed = [s.verdict for s in sections if s.assessed]
    if sections and not assessed:
        return "not_assessed"
    # a report whose every measured section is illustrative (default inputs) says so, not PASS
    real = [s.verdict for s in sections if s.assessed and not getattr(s, "illustrative", False)]
    if not real and worst(assessed) == "pass":
        return "illustrative"
    return worst(assessed)
