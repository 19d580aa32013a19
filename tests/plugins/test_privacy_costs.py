"""Data-governance costs C and D: itemised, hand-checked, and validated in the config."""

from __future__ import annotations

from typing import Any

import pytest
from auditkit.plugins.assess.privacy.assess import costs_part
from auditkit.plugins.assess.privacy.costs import governance_costs, validate_items
from auditkit.plugins.assess.privacy.scan import PiiTotals

from auditkit import ConfigError
from auditkit.audit import Audit, DatasetInfo, ModelInfo, Section
from auditkit.config import build_config
from auditkit.manager import get_plugin_manager
from auditkit.runner import Runner, RunOptions

COSTS = {
    "protection": [
        {"name": "anonymisation", "amount": 5000},
        {"name": "storage", "per_record": 0.25},
        {"name": "access control", "quantity": 3, "unit_cost": 400},
    ],
    "compliance": [
        {"name": "DPIA", "amount": 4000},
        {"name": "audit", "hours": 20, "rate": 120, "note": "external auditor"},
    ],
    "remediation_per_finding": 150,
    "remediation_per_occurrence": 2.5,
}


def test_items_and_totals_by_hand() -> None:
    costs = governance_costs(COSTS, records=1000, pii_findings=2, pii_occurrences=40)
    # C = 5000 + 0.25 × 1000 + 3 × 400 + 2 × 150 + 40 × 2.5 = 6850
    assert costs.protection == pytest.approx(5000 + 250 + 1200 + 300 + 100)
    # D = 4000 + 20 × 120 = 6400
    assert costs.compliance == pytest.approx(6400)
    names = [(i.kind, i.name) for i in costs.items]
    assert ("protection", "PII remediation per finding") in names
    assert ("protection", "PII remediation per occurrence") in names


def test_no_items_cost_nothing() -> None:
    costs = governance_costs({"protection": [], "compliance": []}, records=10, pii_findings=3, pii_occurrences=9)
    assert costs.items == [] and costs.protection == 0 and costs.compliance == 0


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"amount": 3}, "needs a name"),
        ({"name": "x"}, "exactly one of"),
        ({"name": "x", "amount": 3, "hours": 2, "rate": 1}, "exactly one of"),
        ({"name": "x", "hours": 2}, "exactly one of"),
        ({"name": "x", "amount": -1}, "must be a number >= 0"),
        ({"name": "x", "amount": 1, "colour": "red"}, "unknown key"),
    ],
)
def test_bad_items_are_refused(item: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_items([item])


def schemas() -> dict[str, Any]:
    return Runner(get_plugin_manager(autoload=False), RunOptions()).schemas()


def test_config_error_names_file_key_and_fix() -> None:
    layer = {"privacy": {"costs": {"compliance": [{"name": "DPIA", "amount": 1, "hours": 3, "rate": 2}]}}}
    with pytest.raises(ConfigError) as info:
        build_config(schemas(), [("models/m1/auditkit.toml", layer)])
    text = str(info.value)
    assert text.startswith("models/m1/auditkit.toml: [privacy.costs] compliance")
    assert "exactly one of: amount; per_record; hours and rate; quantity and unit_cost" in text


def test_section_metrics_feed_the_valuation() -> None:
    config = build_config(schemas(), [("auditkit.toml", {"privacy": {"costs": COSTS}})])
    info = ModelInfo(name="m", path="m", task="sequence-classification", labels=["a", "b"], loader="test")
    dataset = DatasetInfo(path="eval.csv", sha256="0", rows=500, format="csv", columns=["text"], text="text",
                          label="label", sensitive=[])  # fmt: skip
    audit = Audit(model=info, config=config, model_dir=".", out_dir=".", report_id="t", dataset=dataset)
    section = Section(name="privacy", title="Privacy")
    audit.sections["privacy"] = section
    summary: list[str] = []
    # no training rows known: per-record items use the evaluation rows (500)
    costs_part(audit, section, PiiTotals(findings=2, occurrences=40), summary)
    assert audit.metric("privacy.protection_cost") == pytest.approx(5000 + 125 + 1200 + 300 + 100)
    assert audit.metric("privacy.compliance_cost") == pytest.approx(6400)
    calc = {c.name: c for c in section.calculations}
    assert calc["protection_cost"].result == section.metrics["protection_cost"]
    assert calc["compliance_cost"].inputs == {"DPIA": 4000.0, "audit": 2400.0}
    assert section.data["costs"]["records"] == 500
    assert summary == ["C = 6,725.00, D = 6,400.00"]
    # training rows, when known, are the records
    section = Section(name="privacy", title="Privacy")
    costs_part(audit, section, PiiTotals(training_rows=2000), [])
    assert section.metrics["protection_cost"] == pytest.approx(5000 + 500 + 1200)
