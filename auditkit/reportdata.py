"""What the reports say, computed from an Audit: cover facts, key numbers, summaries.

Kept apart from the templates (which only lay out) and shared by the HTML/PDF and
Markdown renderers, so every format states the same numbers with the same words.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from auditkit.rendering import ILLUSTRATIVE_LABEL, Fact, ReportSettings, format_date, format_number, status_label
from auditkit.safe_text import redact_paths

if TYPE_CHECKING:
    from auditkit.audit import Audit, Finding

# (dotted metric, label, report, is money). Cross-section names are contracts (DESIGN.md).
KEY_METRICS: tuple[tuple[str, str, str, bool], ...] = (
    ("fairness.score", "Fairness score F", "both", False),
    ("privacy.epsilon", "Privacy budget ε (DP)", "compliance", False),
    ("privacy.protection_cost", "Privacy-protection cost C", "both", False),
    ("privacy.compliance_cost", "Compliance cost D", "both", False),
    ("training.training_cost", "Training cost", "compliance", False),
    ("market.optimal_spend", "Optimal promotion spend P*", "business", True),
    ("market.net_at_optimum", "Net market return g(P*)", "business", True),
    ("valuation.technology_value", "Technology value V", "business", True),
    ("valuation.net_value", "Net value V_net", "business", True),
    ("valuation.ethics_score", "Ethics score E", "business", False),
    ("valuation.risk_adjusted_value", "Risk-adjusted value", "business", True),
    ("valuation.risk_adjusted_value_p5", "Risk-adjusted value P5", "business", True),
    ("valuation.risk_adjusted_value_p95", "Risk-adjusted value P95", "business", True),
    ("valuation.npv", "Net present value", "business", True),
)

VERDICT_RULES = (
    "Every finding has a severity: info, warn, fail or error.",
    "A section's verdict is its most severe finding: pass when it has none above info.",
    "The overall verdict is the most severe finding of the whole audit.",
    "error means a plugin or template could not finish: its section is incomplete and "
    "auditkit exits with code 3.",
    "fail means a policy or tolerance was not met: auditkit exits with code 1 "
    "(also on warn when [run] fail_on = \"warn\").",
)

RECOMMENDATION_RULES = (
    "Incomplete: a plugin failed (overall verdict error); the value is not reliable.",
    "Hold: a compliance policy fails; resolve the failing findings first.",
    "Do not invest: the risk-adjusted value is zero or negative.",
    "Proceed with caution: the 5th percentile of the risk-adjusted value is negative.",
    "Proceed with conditions: only warnings remain; address them in the launch plan.",
    "Proceed: every check passes and the risk-adjusted value is positive.",
)


def primary_metric(audit: Audit) -> tuple[str, Any]:
    """(name, value) of the model's primary quality metric: valuation's choice or accuracy."""
    valuation = audit.sections.get("valuation")
    if valuation is not None:
        chosen = valuation.data.get("primary_metric", valuation.metrics.get("primary_metric"))
        if isinstance(chosen, str):
            for key in ("primary_metric_value", chosen):
                value = valuation.metrics.get(key, valuation.data.get(key))
                if _number(value):
                    return chosen, value
            found = _find_metric(audit, chosen)
            if found is not None:
                return chosen, found
        elif _number(chosen):
            return str(valuation.data.get("primary_metric_name", "primary metric")), chosen
    return "accuracy", _find_metric(audit, "accuracy")


def _find_metric(audit: Audit, name: str) -> Any:
    for section in audit.ordered_sections():
        for key in (name, f"overall.{name}", f"overall_{name}"):
            if _number(section.metrics.get(key)):
                return section.metrics[key]
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def key_numbers(audit: Audit, kind: str) -> list[Fact]:
    """The numbers a reader looks for first, where the audit has them."""
    name, value = primary_metric(audit)
    facts = [Fact(f"Primary metric ({name})", value)] if value is not None else []
    for dotted, label, report, money in KEY_METRICS:
        section = audit.sections.get(dotted.partition(".")[0])
        if report not in ("both", kind) or section is None:
            continue
        currency = section.data.get("currency") if money else None
        if isinstance(currency, str) and currency:
            label = f"{label} ({currency})"
        if getattr(section, "illustrative", False):  # from default inputs: never a plain figure
            label = f"{label}, {ILLUSTRATIVE_LABEL}"
        value = audit.metric(dotted)
        if dotted == "privacy.epsilon" and value is None:
            facts.append(Fact(label, "none (no differential privacy)"))
        elif value is not None:
            facts.append(Fact(label, value))
    return facts


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


def recommendation(audit: Audit) -> tuple[str, str]:
    """(label, reason) by the documented RECOMMENDATION_RULES, unless valuation gives one."""
    label, reason = _recommendation(audit)
    valuation = audit.sections.get("valuation")
    if valuation is not None and getattr(valuation, "illustrative", False):
        return (
            f"{label}, {ILLUSTRATIVE_LABEL}",
            f"{reason} The valuation rests on default business inputs, so this only illustrates "
            "the rules; set [valuation] (and [market]) to value this model.",
        )
    return label, reason


def _recommendation(audit: Audit) -> tuple[str, str]:
    valuation = audit.sections.get("valuation")
    given = valuation.data.get("recommendation") if valuation else None
    if isinstance(given, str) and given:
        return given, str(valuation.data.get("recommendation_reason", "as the valuation plugin advises"))
    value = audit.metric("valuation.risk_adjusted_value")
    p5 = audit.metric("valuation.risk_adjusted_value_p5")
    verdict = audit.verdict
    if verdict == "error":
        return "Incomplete", "a plugin failed, so the value cannot be relied on."
    if verdict == "fail":
        return "Hold", "a compliance policy fails; resolve the failing findings first."
    if value is None:
        return "No valuation", "the valuation did not run."
    if value <= 0:
        return "Do not invest", f"the risk-adjusted value is {format_number(value)}."
    if p5 is not None and p5 < 0:
        return "Proceed with caution", f"the 5th percentile of the value is {format_number(p5)}."
    if verdict == "warn":
        return "Proceed with conditions", "only warnings remain; address them in the launch plan."
    return "Proceed", f"every check passes and the risk-adjusted value is {format_number(value)}."


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
        "recommendation_rules": RECOMMENDATION_RULES,
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
class IndexRow:
    name: str
    href: str
    business_href: str
    verdict: str
    verdict_notes: list[str]
    compliance_verdict: str
    business_verdict: str
    fairness: Any
    epsilon: Any
    has_privacy: bool
    metric_name: str
    metric: Any
    risk_adjusted: Any
    report_id: str


def index_rows(audits: list[Audit] | tuple[Audit, ...]) -> list[IndexRow]:
    """One row per model, best risk-adjusted value first (models without one last)."""
    rows = []
    for audit in audits:
        folder = quote(audit.model.name, safe="")
        metric_name, metric = primary_metric(audit)
        rows.append(
            IndexRow(
                name=audit.model.name,
                href=f"{folder}/compliance.html",
                business_href=f"{folder}/business.html",
                verdict=audit.verdict,
                verdict_notes=list(audit.verdict_notes),
                compliance_verdict=_report_verdict(audit, "compliance"),
                business_verdict=_report_verdict(audit, "business"),
                fairness=audit.metric("fairness.score"),
                epsilon=audit.metric("privacy.epsilon"),
                has_privacy="privacy" in audit.sections,
                metric_name=metric_name,
                metric=metric,
                risk_adjusted=audit.metric("valuation.risk_adjusted_value"),
                report_id=audit.report_id,
            )
        )
    return sorted(rows, key=lambda r: (r.risk_adjusted is None, -(r.risk_adjusted or 0), r.name))


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
