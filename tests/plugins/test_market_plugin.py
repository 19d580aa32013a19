"""The market plugin's section: config, metrics contract, allocation table, fit, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from auditkit.plugins.value import market
from auditkit.plugins.value.business.market_report import build_section

from auditkit.audit import Audit, ModelInfo
from auditkit.config import build_config, collect_schemas
from auditkit.errors import ConfigError


def make_audit(config: dict[str, Any] | None = None, model_dir: str = "/nonexistent") -> Audit:
    """An Audit with only what the market plugin reads: the config and the model dir."""
    schemas = collect_schemas([market.auditkit_config_schema()], ["market"])
    cfg = build_config(schemas, [("auditkit.toml", {"market": config})] if config is not None else [])
    info = ModelInfo("m", model_dir, "sequence-classification", ["negative", "positive"], "test")
    return Audit(info, cfg, model_dir, "/tmp/out", "r")


def test_defaults_give_the_documented_optimum_and_say_so() -> None:
    section = build_section(make_audit(), charts=False)
    m = section.metrics
    assert m["optimal_spend"] == pytest.approx(math.log(5.0) / 1e-4, rel=1e-12)  # ln(a·b/k)/b
    assert m["revenue_at_optimum"] == pytest.approx(40_000.0, rel=1e-12)
    assert m["net_at_optimum"] == pytest.approx(40_000.0 - math.log(5.0) / 1e-4, rel=1e-12)
    assert m["marginal_return_at_budget"] == pytest.approx(5.0 * math.exp(-10.0), rel=1e-12)
    assert m["budget_binding"] == 0
    assert {f.code for f in section.findings} == {"market-defaults"}
    assert section.report == "business" and section.order == 600


def test_every_number_has_a_calculation_a_reviewer_can_redo() -> None:
    section = build_section(make_audit({"a": 30_000.0, "b": 2e-4, "k": 1.5, "budget": 4_000.0}), charts=False)
    doc = json.loads(json.dumps(section.to_json()))
    calcs = {c["name"]: c for c in doc["calculations"]}
    spend = calcs["optimal_spend"]
    a, b, k, budget = (spend["inputs"][key] for key in ("a", "b", "k", "budget"))
    assert spend["result"] == min(math.log(a * b / k) / b, budget) == doc["metrics"]["optimal_spend"]
    revenue = calcs["revenue_at_optimum"]
    assert revenue["result"] == pytest.approx(a * (1 - math.exp(-b * spend["result"])), rel=1e-12)
    net = calcs["net_at_optimum"]
    assert net["result"] == pytest.approx(net["inputs"]["f(P*)"] - k * net["inputs"]["P*"], rel=1e-12)
    assert doc["metrics"]["budget_binding"] == 1
    assert "market-budget-binds" in {f["code"] for f in doc["findings"]}


def test_segments_split_the_budget_by_equal_marginal_returns() -> None:
    config = {
        "budget": 20_000.0,
        "segments": [
            {"name": "EU", "a": 40_000.0, "b": 1e-4, "k": 1.0},
            {"name": "US", "a": 60_000.0, "b": 5e-5, "k": 1.2},
            {"name": "APAC", "curve": "logarithmic", "a": 8_000.0, "b": 5e-4, "k": 0.9},
        ],
    }
    section = build_section(make_audit(config), charts=False)
    table = next(t for t in section.tables if t.name == "allocation").frame
    assert table["spend"].sum() == pytest.approx(20_000.0, rel=1e-9)
    lam = section.metrics["shadow_price"]
    assert table["net marginal f'(P_i) − k"].tolist() == pytest.approx([lam] * 3, rel=1e-8)
    assert section.metrics["optimal_spend"] == pytest.approx(20_000.0, rel=1e-9)
    assert section.metrics["net_at_optimum"] == pytest.approx(table["net g(P_i)"].sum(), rel=1e-12)
    assert section.metrics["net_marginal_return_at_budget"] == pytest.approx(lam, rel=1e-8)


def test_a_segment_inherits_missing_keys_from_market() -> None:
    section = build_section(
        make_audit({"k": 2.0, "segments": [{"name": "north"}, {"name": "south", "k": 1.0}]}), charts=False
    )
    segments = {s["name"]: s for s in section.data["segments"]}
    assert segments["north"]["k"] == 2.0 and segments["south"]["k"] == 1.0
    assert segments["north"]["params"] == {"a": 50_000.0, "b": 1e-4}


def test_fit_from_a_points_file(tmp_path: Path) -> None:
    rows = ["spend,revenue"] + [f"{p},{30_000 * (1 - math.exp(-1e-4 * p)):.6f}" for p in range(0, 50_001, 5_000)]
    (tmp_path / "observed.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    section = build_section(make_audit({"curve": "fit", "points_file": "observed.csv"}, str(tmp_path)), charts=False)
    assert section.metrics["fit_r2"] == pytest.approx(1.0, abs=1e-9)
    fitted = section.data["segments"][0]["params"]
    assert fitted["a"] == pytest.approx(30_000.0, rel=1e-5) and fitted["b"] == pytest.approx(1e-4, rel=1e-5)
    assert section.metrics["optimal_spend"] == pytest.approx(math.log(3.0) / 1e-4, rel=1e-4)


def test_a_poor_fit_is_a_warning() -> None:
    points = [[0, 0], [1000, 900], [2000, 100], [3000, 1000], [4000, 50]]
    section = build_section(make_audit({"curve": "fit", "points": points, "fit_shape": "saturating"}), charts=False)
    assert section.metrics["fit_r2"] < 0.8
    assert "market-fit-poor" in {f.code for f in section.findings}


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"k": -1.0}, "[market] k = -1.0: expected a number >= 0"),
        ({"a": {"dist": "beta", "a": 1}}, 'expected a distribution table whose dist is "normal"'),
        ({"b": {"dist": "triangular", "low": 2e-4, "mode": 1e-4, "high": 3e-4}}, "low <= mode <= high"),
        ({"points": [[1, 2, 3]]}, "a list of [spend, revenue] pairs"),
        ({"segments": [{"a": 1.0}]}, "add name = "),
        ({"segments": [{"name": "x"}, {"name": "x"}]}, "'x' appears twice"),
        ({"segments": [{"name": "x", "curve": "hill"}]}, "S-shaped hill curve does not"),
        ({"segments": [{"name": "x", "k": {"dist": "normal", "mean": 1.0, "sd": -1.0}}]}, "segment 1 'x' k ="),
        ({"segments": [{"name": "x", "colour": "red"}]}, "has colour"),
        ({"curve": "cubic"}, "one of 'saturating'"),
    ],
)
def test_bad_config_names_file_key_and_fix(config: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_audit(config)
    message = str(caught.value)
    assert message.startswith("auditkit.toml: [market] ")
    assert words in message


def test_a_fit_without_enough_points_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match=r"needs at least 3 \(spend, revenue\) points, got 2"):
        build_section(make_audit({"curve": "fit", "points": [[0, 0], [10, 5]]}), charts=False)


def test_top_level_hill_cannot_be_inherited_by_segments() -> None:
    with pytest.raises(ConfigError, match="cannot share a budget"):
        build_section(make_audit({"curve": "hill", "segments": [{"name": "x"}]}), charts=False)


def test_hill_market_is_solved_numerically_with_a_chart() -> None:
    section = build_section(make_audit({"curve": "hill", "a": 60_000.0, "half_saturation": 20_000.0, "steepness": 2.5}))
    assert section.calculations[0].formula.startswith("P* = argmax")
    assert section.metrics["unconstrained_optimal_spend"] is None
    assert section.metrics["net_at_optimum"] > 0
    (chart,) = section.charts
    assert chart.svg.startswith("<svg") and "P*" in chart.alt
