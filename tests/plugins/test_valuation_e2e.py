"""Market and valuation through the real CLI on a tiny real model: audit.json is the contract."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from auditkit.testing import read_audit_json, run_cli

CONFIG = """
[market]
budget = 25000.0
k = { dist = "triangular", low = 0.9, mode = 1.0, high = 1.2 }

[[market.segments]]
name = "retail"
a = 40000.0

[[market.segments]]
name = "enterprise"
curve = "logarithmic"
a = 15000.0
b = 0.0004

[valuation]
primary_metric = "macro_f1"
alpha = { dist = "normal", mean = 120000.0, sd = 20000.0 }
monte_carlo_samples = 300
horizon_years = 2

[[valuation.ethics]]
item = "intended use documented"
weight = 0.6
met = true

[[valuation.ethics]]
item = "human oversight"
weight = 0.4
met = 0.5
"""


def _no_plugin_errors(audit: dict, *plugins: str) -> None:
    errors = [f for f in audit["findings"] if f["severity"] == "error" and f["plugin"] in plugins]
    for section in audit["sections"].values():
        errors += [f for f in section["findings"] if f["severity"] == "error"]
    assert not errors, errors


@pytest.mark.slow
def test_business_sections_through_the_cli(tiny_model_dir: Path, tmp_path: Path) -> None:
    with (tiny_model_dir / "auditkit.toml").open("a", encoding="utf-8") as handle:
        handle.write(CONFIG)
    out = tmp_path / "reports"
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json", "-q"])
    assert result.exit_code != 2, result.stderr
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    _no_plugin_errors(audit, "market", "valuation")
    market, valuation = audit["sections"]["market"], audit["sections"]["valuation"]
    assert (market["report"], valuation["report"]) == ("business", "business")
    mk = market["metrics"]
    assert mk["optimal_spend"] == pytest.approx(sum(s["spend"] for s in market["segments"]), rel=1e-12)
    assert mk["optimal_spend"] <= 25_000.0 * (1 + 1e-12)
    m = valuation["metrics"]
    # recompute the whole chain from audit.json alone
    assert m["market_value"] == mk["net_at_optimum"]
    assert m["technology_value"] == pytest.approx(120_000.0 * m["primary_metric_value"], rel=1e-12)
    net = max(m["technology_value"] - m["privacy_cost"] - m["compliance_cost"] - m["training_cost"], 0.0)
    assert m["net_value"] == pytest.approx(net, rel=1e-12, abs=1e-9)
    assert m["ethics_score"] == pytest.approx(0.8, rel=1e-12)
    rav = (m["net_value"] + m["market_value"]) * m["fairness_score"] * m["ethics_score"]
    assert m["risk_adjusted_value"] == pytest.approx(rav, rel=1e-12)
    npv = sum(rav * (1 + m["growth"]) ** (t - 1) / (1 + m["discount_rate"]) ** t for t in (1, 2))
    assert m["npv"] == pytest.approx(npv, rel=1e-12)
    assert m["risk_adjusted_value_p5"] <= m["risk_adjusted_value_p50"] <= m["risk_adjusted_value_p95"]
    assert set(valuation["monte_carlo"]["uncertain"]) == {
        "valuation.alpha",
        "market.segments.enterprise.k",
        "market.segments.retail.k",
    }
    assert [c["name"] for c in valuation["charts"]] == [
        "valuation-waterfall",
        "valuation-monte-carlo",
        "valuation-tornado",
    ]
    assert math.isfinite(m["npv_p5"])

    # the same model with the market plugin disabled: valuation still runs, g(P*) = 0 with a warning
    again = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json", "-q", "-p", "no:market"])
    assert again.exit_code != 2, again.stderr
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    assert "market" not in audit["sections"]
    valuation = audit["sections"]["valuation"]
    assert valuation["metrics"]["market_value"] == 0.0
    assert "valuation-market-disabled" in {f["code"] for f in valuation["findings"]}
