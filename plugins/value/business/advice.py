"""What the valuation puts on the covers, in the index and in the recommendation.

The host knows no section by name: the valuation declares its key numbers (labelled with
the currency), its index columns (the ranking one included) and its recommendation here,
as any third-party value plugin would.
"""

from __future__ import annotations

from typing import Any

from auditkit.plugins.value.business.market_report import money_label

from auditkit.audit import IndexColumn, KeyNumber, Recommendation, Section
from auditkit.reportformat import format_number

PRIMARY_SLOT = "primary_metric"  # the training section's accuracy fills it when the valuation does not run

RULES = (
    "Do not invest: the risk-adjusted value is zero or negative.",
    "Proceed with caution: the 5th percentile of the risk-adjusted value is negative.",
    "Proceed with conditions: only warnings remain; address them in the launch plan.",
    "Proceed: every check passes and the risk-adjusted value is positive.",
)

# (metric, label, in the currency)
HEADLINE = (
    ("technology_value", "Technology value V", True),
    ("net_value", "Net value V_net", True),
    ("ethics_score", "Ethics score E", False),
    ("risk_adjusted_value", "Risk-adjusted value", True),
    ("risk_adjusted_value_p5", "Risk-adjusted value P5", True),
    ("risk_adjusted_value_p95", "Risk-adjusted value P95", True),
    ("npv", "Net present value", True),
)


def declare(section: Section, currency: str, primary: str) -> None:
    """Fill the section's headline, index columns and recommendation from its metrics."""
    both = ("compliance", "business")
    section.headline = [
        KeyNumber("primary_metric_value", f"Primary metric ({primary})", reports=both, slot=PRIMARY_SLOT),
        *(KeyNumber(m, money_label(label, currency) if money else label) for m, label, money in HEADLINE),
    ]
    section.index_columns = [
        IndexColumn("primary_metric_value", "Primary metric", detail=primary, slot=PRIMARY_SLOT),
        IndexColumn("risk_adjusted_value", "Risk-adjusted value", rank=True),
    ]
    section.recommendation = recommend(section.metrics, section.illustrative)


def recommend(metrics: dict[str, Any], illustrative: bool = False) -> Recommendation:
    """The advice the risk-adjusted value and its 5th percentile give (RULES, in order)."""
    value, p5 = metrics.get("risk_adjusted_value"), metrics.get("risk_adjusted_value_p5")
    caveat = (
        "The valuation rests on default business inputs, so this only illustrates the rules; "
        "set [valuation] (and [market]) to value this model."
        if illustrative
        else ""
    )
    if value is None:
        return Recommendation("No valuation", "the valuation computed no risk-adjusted value.", RULES, caveat=caveat)
    if value <= 0:
        label, reason = "Do not invest", f"the risk-adjusted value is {format_number(value)}."
        return Recommendation(label, reason, RULES, caveat=caveat)
    if p5 is not None and p5 < 0:
        label, reason = "Proceed with caution", f"the 5th percentile of the value is {format_number(p5)}."
        return Recommendation(label, reason, RULES, caveat=caveat)
    return Recommendation(
        "Proceed",
        f"every check passes and the risk-adjusted value is {format_number(value)}.",
        RULES,
        if_warn=("Proceed with conditions", "only warnings remain; address them in the launch plan."),
        caveat=caveat,
    )
