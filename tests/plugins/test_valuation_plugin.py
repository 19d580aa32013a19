"""The valuation section on hand-built audits: the chain from JSON, inputs, gaps, verdicts."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from auditkit.plugins.value import market, valuation
from auditkit.plugins.value.business import market_report, valuation_report
from sklearn.metrics import f1_score, roc_auc_score

from auditkit.audit import Audit, DatasetInfo, ModelInfo, Predictions, Section
from auditkit.config import build_config, collect_schemas
from auditkit.errors import ConfigError

LABELS = ["negative", "positive"]


def make_audit(
    config: dict[str, Any] | None = None,
    others: dict[str, dict[str, Any]] | None = None,
    with_market: bool = True,
    task: str = "sequence-classification",
    n: int = 200,
) -> Audit:
    """A binary audit with seeded labels and scores, other sections' metrics, and the market section."""
    rng = np.random.default_rng(0)
    y = rng.choice(LABELS, n).astype(object)
    scores = np.clip(np.where(y == "positive", 0.65, 0.35) + rng.normal(0, 0.25, n), 0, 1)
    predicted = np.where(scores >= 0.5, "positive", "negative").astype(object)
    plugins = [market, valuation] if with_market else [valuation]
    schemas = collect_schemas([p.auditkit_config_schema() for p in plugins], [p.__name__ for p in plugins])
    cfg = build_config(schemas, [("auditkit.toml", config)] if config else [])
    info = ModelInfo("m", "/nonexistent", task, list(LABELS), "test")
    data = DatasetInfo("eval.csv", "0" * 64, n, "csv", ["text", "label"], "text", "label", [], positive="positive")
    proba = None if task == "scores" else np.column_stack([1 - scores, scores])
    audit = Audit(
        info,
        cfg,
        "/nonexistent",
        "/tmp/out",
        "r",
        dataset=data,
        y_true=y,
        predictions=Predictions(predicted, list(LABELS), proba, scores),
    )
    for name, metrics in (others or {}).items():
        audit.sections[name] = Section(name, name, metrics=dict(metrics))
    if with_market:
        audit.sections["market"] = market_report.build_section(audit, charts=False)
    return audit


FULL = {
    "fairness": {"score": 0.8},
    "privacy": {"protection_cost": 12_000.0, "compliance_cost": 3_000.0},
    "training": {"training_cost": 500.0},
}
ETHICS = [
    {"item": "intended use documented", "weight": 0.4, "met": True},
    {"item": "human oversight", "weight": 0.3, "met": 0.5},
    {"item": "complaint channel", "weight": 0.3, "met": False, "note": "planned for Q3"},
]


def value(audit: Audit) -> dict[str, Any]:
    """The section as audit.json holds it."""
    return json.loads(json.dumps(valuation_report.build_section(audit, charts=False).to_json()))


def test_the_chain_can_be_recomputed_from_the_json_alone() -> None:
    audit = make_audit(
        {
            "valuation": {
                "primary_metric": "macro_f1",
                "alpha": 90_000.0,
                "beta": 2_000.0,
                "growth": 0.04,
                "discount_rate": 0.1,
                "horizon_years": 4,
                "ethics": ETHICS,
            }
        },
        FULL,
    )
    doc = value(audit)
    m = doc["metrics"]
    y = f1_score(audit.y_true, audit.predictions.labels, average="macro")  # measured independently
    assert m["primary_metric_value"] == pytest.approx(y, rel=1e-12)
    assert m["technology_value"] == pytest.approx(90_000.0 * y + 2_000.0, rel=1e-12)
    assert (m["privacy_cost"], m["compliance_cost"], m["training_cost"]) == (12_000.0, 3_000.0, 500.0)
    assert m["net_value"] == pytest.approx(max(m["technology_value"] - 12_000.0 - 3_000.0 - 500.0, 0), rel=1e-12)
    assert m["market_value"] == audit.metric("market.net_at_optimum")
    assert m["fairness_score"] == 0.8
    assert m["ethics_score"] == pytest.approx(0.4 + 0.15, rel=1e-12)
    assert m["risk_adjusted_value"] == pytest.approx((m["net_value"] + m["market_value"]) * 0.8 * 0.55, rel=1e-12)
    npv = sum(m["risk_adjusted_value"] * 1.04 ** (t - 1) / 1.1**t for t in range(1, 5))
    assert m["npv"] == pytest.approx(npv, rel=1e-12)
    names = {c["name"] for c in doc["calculations"]}
    assert {
        "technology_value",
        "net_value",
        "market_value",
        "fairness_score",
        "ethics_score",
        "risk_adjusted_value",
        "npv",
        "cash_flow[4]",
        "present_value[4]",
    } <= names
    assert [row["item"] for row in doc["ethics"]] == [e["item"] for e in ETHICS]
    assert doc["verdict"] == "pass"  # nothing to warn about: all inputs present, value positive


def test_contract_metrics_are_all_there() -> None:
    m = value(
        make_audit(
            {"valuation": {"alpha": {"dist": "normal", "mean": 1e5, "sd": 1e4}, "monte_carlo_samples": 200}}, FULL
        )
    )["metrics"]
    for key in (
        "technology_value",
        "privacy_cost",
        "compliance_cost",
        "net_value",
        "market_value",
        "fairness_score",
        "ethics_score",
        "risk_adjusted_value",
        "npv",
        "risk_adjusted_value_p5",
        "risk_adjusted_value_p50",
        "risk_adjusted_value_p95",
    ):
        assert isinstance(m[key], float), key
    assert m["risk_adjusted_value_p5"] < m["risk_adjusted_value_p50"] < m["risk_adjusted_value_p95"]


def test_zero_width_monte_carlo_equals_the_deterministic_value_exactly() -> None:
    zero = {"dist": "normal", "mean": 1e5, "sd": 0.0}
    audit = make_audit(
        {
            "valuation": {
                "alpha": zero,
                "growth": {"dist": "uniform", "low": 0.02, "high": 0.02},
                "monte_carlo_samples": 100,
            },
            "market": {"k": {"dist": "triangular", "low": 1.0, "mode": 1.0, "high": 1.0}},
        },
        FULL,
    )
    m = value(audit)["metrics"]
    for key in ("risk_adjusted_value", "npv"):
        assert m[f"{key}_p5"] == m[f"{key}_p50"] == m[f"{key}_p95"] == m[key]


def test_market_uncertainty_flows_into_the_monte_carlo() -> None:
    audit = make_audit(
        {
            "valuation": {"monte_carlo_samples": 300},
            "market": {"a": {"dist": "uniform", "low": 30_000.0, "high": 70_000.0}},
        },
        FULL,
    )
    doc = value(audit)
    assert doc["monte_carlo"]["uncertain"] == ["market.a"]
    m = doc["metrics"]
    assert m["risk_adjusted_value_p5"] < m["risk_adjusted_value"] < m["risk_adjusted_value_p95"]
    assert doc["tornado"]["bars"][0]["name"] == "market.a"


def test_net_value_clamps_at_zero_with_a_warning() -> None:
    others = {**FULL, "privacy": {"protection_cost": 400_000.0, "compliance_cost": 1.0}}
    doc = value(make_audit({"valuation": {"alpha": 100_000.0}}, others))  # given: not illustrative
    m = doc["metrics"]
    assert m["net_value"] == 0.0
    assert m["risk_adjusted_value"] == pytest.approx(m["market_value"] * 0.8, rel=1e-12)
    codes = {f["code"]: f["severity"] for f in doc["findings"]}
    assert codes["valuation-costs-exceed-value"] == "warn"


def test_zero_value_and_negative_npv_are_warnings() -> None:
    others = {**FULL, "fairness": {"score": 0.0}, "training": {"training_cost": 50_000.0}}
    doc = value(make_audit({"valuation": {"training_cost_in": "upfront"}}, others))
    assert doc["metrics"]["risk_adjusted_value"] == 0.0
    assert doc["metrics"]["npv"] == -50_000.0
    codes = {f["code"]: f["severity"] for f in doc["findings"]}
    assert codes["valuation-zero-value"] == "warn" and codes["valuation-negative-npv"] == "warn"
    assert "F = 0" in next(f["message"] for f in doc["findings"] if f["code"] == "valuation-zero-value")


def test_missing_inputs_have_documented_fallbacks_and_findings() -> None:
    # alpha given (its default value): the section is not illustrative, so severities are as documented
    doc = value(make_audit({"valuation": {"alpha": 100_000.0}}, None, with_market=False))
    m = doc["metrics"]
    assert (m["fairness_score"], m["ethics_score"], m["market_value"]) == (1.0, 1.0, 0.0)
    assert (m["privacy_cost"], m["compliance_cost"], m["training_cost"]) == (0.0, 0.0, 0.0)
    codes = {f["code"]: f["severity"] for f in doc["findings"]}
    assert codes["valuation-fairness-missing"] == "warn"
    assert codes["valuation-ethics-missing"] == "info"  # ethics not assessed: no finding against the model
    assert codes["valuation-market-disabled"] == "warn"
    assert codes["valuation-privacy-cost-absent"] == "info"
    assert codes["valuation-training-cost-absent"] == "info"
    assert "valuation-defaults" not in codes and doc["illustrative"] is False
    assert m["risk_adjusted_value"] == pytest.approx(100_000.0 * m["accuracy"], rel=1e-12)


def test_undefined_fairness_score_counts_as_one_with_a_warning() -> None:
    doc = value(make_audit(None, {**FULL, "fairness": {"score": None}}))
    assert doc["metrics"]["fairness_score"] == 1.0
    assert "valuation-fairness-undefined" in {f["code"] for f in doc["findings"]}


def test_a_failed_market_plugin_is_told_apart_from_a_disabled_one() -> None:
    audit = make_audit(None, FULL)
    del audit.sections["market"]  # registered (its config exists) but produced nothing
    doc = value(audit)
    assert doc["metrics"]["market_value"] == 0.0
    assert "valuation-market-missing" in {f["code"] for f in doc["findings"]}


def test_auc_in_predictions_mode_ranks_by_the_vendor_score() -> None:
    audit = make_audit({"valuation": {"primary_metric": "auc"}}, FULL, task="scores")
    expected = roc_auc_score(audit.y_true == "positive", audit.predictions.scores)
    assert value(audit)["metrics"]["primary_metric_value"] == pytest.approx(expected, rel=1e-12)


def test_binary_metric_on_a_multiclass_model_says_what_to_use() -> None:
    audit = make_audit({"valuation": {"primary_metric": "f1"}}, FULL)
    audit.predictions.classes = ["a", "b", "c"]
    with pytest.raises(ValueError, match="needs a binary task; this model has 3 labels: use macro_f1"):
        value(audit)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"ethics": [{"item": "x", "weight": -1, "met": True}]}, "a weight >= 0 in ethics item 1 'x'"),
        ({"ethics": [{"item": "x", "weight": 1, "met": 2}]}, "met = true, false or a number from 0 to 1"),
        ({"ethics": [{"weight": 1, "met": True}]}, 'add item = "..." to entry 1'),
        ({"discount_rate": -1.5}, "discount_rate = -1.5: expected a number >= -0.99"),
        ({"primary_metric": "top5"}, "expected one of 'accuracy'"),
        ({"alpha": {"dist": "normal", "mean": 1}}, "fix keys sd"),
    ],
)
def test_bad_valuation_config_names_file_key_and_fix(config: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_audit({"valuation": config})
    assert str(caught.value).startswith("auditkit.toml: [valuation] ")
    assert words in str(caught.value)


def test_the_value_hook_runs_after_market_and_draws_every_chart() -> None:
    assert valuation.auditkit_value.auditkit_impl["trylast"] is True  # type: ignore[attr-defined]
    audit = make_audit(
        {
            "valuation": {
                "alpha": {"dist": "triangular", "low": 8e4, "mode": 1e5, "high": 1.3e5},
                "monte_carlo_samples": 200,
            }
        },
        FULL,
    )
    section = valuation.auditkit_value(audit)
    assert [c.name for c in section.charts] == ["valuation-waterfall", "valuation-monte-carlo", "valuation-tornado"]
    assert all(c.svg.startswith("<svg") and c.alt for c in section.charts)
    assert section.report == "business" and section.order == 700


def test_numpy_scores_from_other_sections_are_read() -> None:
    doc = value(make_audit(None, {**FULL, "fairness": {"score": np.float32(0.5)}}))
    assert doc["metrics"]["fairness_score"] == 0.5


def test_token_tasks_measure_y_over_every_word_tag() -> None:
    audit = make_audit({"valuation": {"primary_metric": "macro_f1"}}, FULL, task="token-classification", n=3)
    audit.token_true = [["O", "B-PER", "I-PER"], ["O", "O"], ["B-LOC", "O", "O", "O"]]
    audit.predictions.token_labels = [["O", "B-PER", "O"], ["O", "O"], ["B-LOC", "O", "B-PER", "O"]]
    truth = [t for row in audit.token_true for t in row]
    guess = [t for row in audit.predictions.token_labels for t in row]
    expected = f1_score(truth, guess, average="macro", zero_division=0)
    assert value(audit)["metrics"]["primary_metric_value"] == pytest.approx(expected, rel=1e-12)


def test_market_disabled_for_one_model_by_run_disable() -> None:
    from auditkit.audit import PluginInfo

    audit = make_audit(None, FULL)
    del audit.sections["market"]
    audit.plugins = [PluginInfo("valuation", "0", "built-in", ["auditkit_value"])]  # market left out by [run]
    doc = value(audit)
    assert "valuation-market-disabled" in {f["code"] for f in doc["findings"]}


@pytest.mark.parametrize("name", ["accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "f1", "precision",
                                  "recall", "auc"])
def test_every_primary_metric_equals_sklearns(name: str) -> None:
    from auditkit.plugins.value.business.metrics import measure
    from sklearn import metrics as skm

    audit = make_audit()
    y, guess = audit.y_true, audit.predictions.labels
    expected = {
        "accuracy": lambda: skm.accuracy_score(y, guess),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, guess),
        "macro_f1": lambda: skm.f1_score(y, guess, average="macro"),
        "weighted_f1": lambda: skm.f1_score(y, guess, average="weighted"),
        "f1": lambda: skm.f1_score(y, guess, pos_label="positive"),
        "precision": lambda: skm.precision_score(y, guess, pos_label="positive"),
        "recall": lambda: skm.recall_score(y, guess, pos_label="positive"),
        "auc": lambda: skm.roc_auc_score(y == "positive", audit.predictions.scores),
    }[name]()
    measured = measure(audit, name)
    assert measured.value == pytest.approx(expected, abs=1e-12)
    assert measured.formula.endswith("as sklearn.metrics")


@pytest.mark.parametrize("segments", [False, True])
def test_business_charts_are_drawn_only_for_formats_that_show_them(segments: bool) -> None:
    """A json-only run keeps every chart's name, title and text alternative without its SVG:
    audit.json is the same whichever formats are written."""
    config = {"market": {"segments": [{"name": "north"}, {"name": "south", "k": 1.5}]}} if segments else None
    sections = {}
    for formats in (["json", "html"], ["json", "md", "junit"]):
        audit = make_audit(config, FULL)
        audit.formats = formats
        audit.sections["market"] = market_report.build_section(audit)
        sections[formats[-1]] = [audit.sections["market"], valuation_report.build_section(audit)]
    names = [c.name for s in sections["html"] for c in s.charts]
    assert names == [c.name for s in sections["junit"] for c in s.charts]
    assert ("market-segments" if segments else "market-response") in names and "valuation-tornado" in names
    assert all(c.svg.startswith("<svg") for s in sections["html"] for c in s.charts)
    assert all(c.svg == "" and c.alt for s in sections["junit"] for c in s.charts)
    for drawn, undrawn in zip(sections["html"], sections["junit"], strict=True):
        assert undrawn.to_json() == drawn.to_json()
