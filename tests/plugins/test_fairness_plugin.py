"""The fairness plugin through its hook: F and the verdict by hand, the JSON contract,
missing and undefined values, mitigation, and bad configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairnessaudit import assess, fairness_audit

from auditkit.audit import Audit
from auditkit.errors import ConfigError, DataError

LABELS = ["neg", "pos"]


def make_audit(
    frame: pd.DataFrame,
    y: Any,
    yhat: Any,
    scores: Any = None,
    sensitive: tuple[str, ...] = ("g",),
    config: dict[str, Any] | None = None,
    labels: list[str] = LABELS,
    task: str = "sequence-classification",
) -> Audit:
    """An Audit built by hand, as the runner would hand it to an assess hook."""
    return fairness_audit(frame, y, yhat, scores, sensitive=sensitive, config=config, labels=labels, task=task)


def hand_case(sel_a: tuple[int, int], sel_b: tuple[int, int]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Two groups of 100 rows, 50 positives each; (TP, FP) per group set the rates."""
    rows, y, yhat = [], [], []
    for group, (tp, fp) in (("A", sel_a), ("B", sel_b)):
        for i in range(100):
            positive = i < 50
            predicted = i < tp if positive else i - 50 < fp
            rows.append(group)
            y.append("pos" if positive else "neg")
            yhat.append("pos" if predicted else "neg")
    return pd.DataFrame({"g": rows}), y, yhat



def test_score_and_fail_verdict_by_hand() -> None:
    # A: TP 40, FP 20 → selection 0.60, TPR 0.8, FPR 0.4; B: TP 25, FP 5 → 0.30, 0.5, 0.1
    frame, y, yhat = hand_case((40, 20), (25, 5))
    section = assess(make_audit(frame, y, yhat, config={"bootstrap": 400, "mitigation": False}))
    d = section.data["disparities"]
    assert d["demographic_parity_difference"]["value"] == pytest.approx(0.30, abs=1e-12)
    assert d["demographic_parity_difference"]["groups"] == ["A", "B"]
    assert d["demographic_parity_difference"]["score"] == pytest.approx(0.10 / 0.30, abs=1e-12)
    assert d["demographic_parity_ratio"]["value"] == pytest.approx(0.5, abs=1e-12)
    assert d["demographic_parity_ratio"]["score"] == pytest.approx(0.5 / 0.8, abs=1e-12)
    assert d["equalized_odds_difference"]["value"] == pytest.approx(0.30, abs=1e-12)
    # F = min(1/3, 0.625, 1/3); a difference of 0.30 on 100 + 100 rows is far beyond noise
    assert section.data["score"] == pytest.approx(1 / 3, abs=1e-12)
    assert section.metrics["score"] == section.data["score"]
    assert d["demographic_parity_difference"]["ci"][0] > 0.10
    assert section.verdict == "fail"
    assert {f.code for f in section.findings if f.severity == "fail"} == {"fairness-constraint-failed"}
    assert section.summary.startswith("Fairness verdict: FAIL. F = 0.33")
    calc = {c.name: c for c in section.calculations}
    assert calc["F"].result == pytest.approx(1 / 3)
    assert calc["F_c demographic_parity_ratio"].inputs["d"] == pytest.approx(0.5)


@pytest.mark.parametrize(("tau", "verdict", "score"), [(0.10, "warn", 0.10 / 0.15), (0.20, "pass", 1.0)])
def test_warn_when_the_interval_reaches_the_tolerance(tau: float, verdict: str, score: float) -> None:
    # selection 0.45 vs 0.30: d = 0.15; on 100 rows a group the interval is about ±0.13
    frame, y, yhat = hand_case((30, 15), (20, 10))
    config = {"constraints": {"demographic_parity_difference": tau}, "bootstrap": 400, "mitigation": False}
    section = assess(make_audit(frame, y, yhat, config=config))
    entry = section.data["disparities"]["demographic_parity_difference"]
    assert entry["value"] == pytest.approx(0.15, abs=1e-12)
    assert entry["ci"][0] < tau < entry["ci"][1] or verdict == "pass"
    assert entry["verdict"] == verdict == section.verdict
    assert section.data["score"] == pytest.approx(score, abs=1e-12)


def _biased(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], size=n, p=[0.55, 0.4, 0.05]).astype(object)
    y = (rng.random(n) < 0.4).astype(int)
    scores = np.clip(0.3 * y + 0.55 * rng.random(n) + 0.2 * (g == "b"), 0, 1)
    g[:30] = None
    labels = np.where(y == 1, "pos", "neg")
    return pd.DataFrame({"g": g}), labels, np.where(scores > 0.5, "pos", "neg"), scores


def test_json_contract_and_undefined_metrics() -> None:
    frame, y, yhat, scores = _biased()
    frame["h"] = np.where(np.arange(len(frame)) < 12, "rare", "common")
    y[:12] = "neg"  # 'rare' has no positives: TPR, FNR and AUC are undefined there
    audit = make_audit(frame, y, yhat, scores, sensitive=("g", "h"), config={"bootstrap": 100, "auc_bootstrap": 20})
    section = assess(audit)
    out = json.loads(json.dumps(section.to_json(), allow_nan=False))
    assert out["score"] == audit.metric("fairness.score") == section.metrics["score"]
    features = {row["feature"] for row in out["groups"]}
    assert features == {"g", "h", "g & h"}
    for row in out["groups"]:
        for key in (
            "group",
            "n",
            "selection_rate",
            "accuracy",
            "precision",
            "tpr",
            "fpr",
            "fnr",
            "f1",
            "auc",
            "bpsn_auc",
            "bnsp_auc",
        ):
            assert key in row, key
        for key in ("selection_rate", "tpr", "auc"):
            assert key + "_ci" in row
            if row[key] is None:
                assert row[key + "_note"] and row[key + "_ci"] is None
    rare = next(r for r in out["groups"] if r["feature"] == "h" and r["group"] == "rare")
    assert rare["tpr"] is None and "positive label" in rare["tpr_note"]
    assert rare["auc"] is None and rare["fnr"] is None
    assert rare["n"] == 12 and rare["small"] is True
    for name in ("demographic_parity_difference", "equalized_odds_difference", "demographic_parity_ratio"):
        entry = out["disparities"][name]
        assert set(entry) >= {"value", "tolerance", "score", "groups", "ci"}
        assert len(entry["groups"]) == 2 and len(entry["ci"]) == 2
    # missing sensitive values: counted in a finding and left out of that feature's groups
    missing = [f for f in section.findings if f.code == "fairness-missing-sensitive"]
    assert len(missing) == 1 and missing[0].message.startswith("30 of 3000 rows have no value for 'g'")
    assert sum(r["n"] for r in out["groups"] if r["feature"] == "g") == 2970
    assert sum(r["n"] for r in out["groups"] if r["feature"] == "h") == 3000
    assert any(f.code == "fairness-small-groups" for f in section.findings)
    assert section.charts and all(c.svg.startswith("<svg") and c.alt for c in section.charts)
    assert {"fairness-disparity-tolerance", "fairness-groups-g", "fairness-mitigation"} <= {
        c.name for c in section.charts
    }


def test_threshold_optimizer_lowers_the_disparity_on_held_out_data() -> None:
    frame, y, yhat, scores = _biased(n=4000, seed=3)
    section = assess(make_audit(frame, y, yhat, scores, config={"bootstrap": 0, "auc_bootstrap": 0}))
    mitigation = section.data["mitigation"]
    assert mitigation["feature"] == "g" and mitigation["test_rows"] + mitigation["train_rows"] == 3970
    runs = {r["constraint"]: r for r in mitigation["runs"]}
    dp = runs["demographic_parity"]
    before, after = dp["before"]["demographic_parity_difference"], dp["after"]["demographic_parity_difference"]
    assert before > 0.15 and after < before / 2
    eo = runs["equalized_odds"]
    assert eo["after"]["equalized_odds_difference"] < eo["before"]["equalized_odds_difference"]
    assert {t["group"] for t in dp["thresholds"]} == {"a", "b", "c"}
    assert any(f.code == "fairness-mitigation-needs-sensitive" for f in section.findings)


def test_small_groups_can_be_left_out_of_disparities() -> None:
    frame, y, yhat, _scores = _biased()
    base = {"bootstrap": 0, "mitigation": False, "min_group_size": 200}
    kept = assess(make_audit(frame, y, yhat, config=base)).data["disparities"]
    left = assess(make_audit(frame, y, yhat, config={**base, "small_groups": "exclude"})).data["disparities"]
    assert "c" not in left["demographic_parity_difference"]["groups"]
    assert left["demographic_parity_difference"]["value"] <= kept["demographic_parity_difference"]["value"]


def test_multiclass_and_token_tasks() -> None:
    rng = np.random.default_rng(0)
    classes = ["a", "b", "c"]
    y = rng.choice(classes, size=600)
    yhat = np.where(rng.random(600) < 0.7, y, rng.choice(classes, size=600))
    frame = pd.DataFrame({"g": rng.choice(["x", "y"], size=600)})
    section = assess(make_audit(frame, y, yhat, labels=classes, config={"bootstrap": 50}))
    assert section.data["task"] == "multiclass"
    assert {"macro_f1", "recall_a", "selection_rate_c"} <= set(section.data["groups"][0])
    assert section.data["disparities"]["demographic_parity_difference"]["value"] is not None
    assert section.data["score"] is not None

    true = [["B-PER", "O"], ["O", "B-LOC", "I-LOC"], ["B-PER", "I-PER"], ["O"]] * 10
    pred = [["B-PER", "O"], ["O", "B-LOC", "O"], ["B-PER", "I-PER"], ["O"]] * 10
    tokens = make_audit(
        pd.DataFrame({"g": ["x", "y"] * 20}),
        ["x"] * 40,
        ["x"] * 40,
        labels=["O", "B-PER"],
        task="token-classification",
        config={"bootstrap": 50, "min_group_size": 20},
    )
    tokens.token_true, tokens.predictions.token_labels = true, pred
    section = assess(tokens)
    groups = {r["group"]: r for r in section.data["groups"]}
    # x holds examples 0 and 2 of each block (all correct), y holds 1 and 3 (LOC missed)
    assert groups["x"]["entity_f1"] == 1.0
    assert groups["y"]["entity_f1"] == 0.0 and groups["y"]["entity_precision"] == 0.0
    assert section.data["disparities"]["entity_f1_difference"]["value"] == 1.0
    assert section.data["score"] == pytest.approx(0.1)


def test_no_sensitive_features_is_a_warning_not_a_score() -> None:
    frame, y, yhat, _ = _biased()
    section = assess(make_audit(frame, y, yhat, sensitive=()))
    assert section.data["score"] is None and section.verdict == "warn"


def test_bad_configuration_names_key_and_fix() -> None:
    frame, y, yhat, _ = _biased()
    with pytest.raises(ConfigError, match=r"reference_groups: g = 'zzz' is not a group"):
        assess(make_audit(frame, y, yhat, config={"reference_groups": {"g": "zzz"}, "bootstrap": 0}))
    with pytest.raises(ConfigError, match=r"auditkit.toml: \[fairness\] constraints = .*a disparity name"):
        make_audit(frame, y, yhat, config={"constraints": {"parity": 0.1}})
    with pytest.raises(DataError, match=r"\[data\] sensitive: column\(s\) \['nope'\] not in the evaluation data"):
        assess(make_audit(frame, y, yhat, sensitive=("nope",)))


def test_plugin_import_stays_light() -> None:
    code = (
        "import sys, auditkit.plugins.assess.fairness as f; f.auditkit_config_schema(); "
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'fairlearn', 'matplotlib', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_tiny_data_skips_the_what_if_instead_of_failing() -> None:
    frame = pd.DataFrame({"g": ["m", "f", "f"]})
    section = assess(make_audit(frame, ["pos", "neg", "pos"], ["pos", "pos", "neg"], scores=[0.9, 0.6, 0.2]))
    assert section.data["mitigation"] is None
    assert any(f.code == "fairness-mitigation-skipped" for f in section.findings)
    assert {r["group"]: r["n"] for r in section.data["groups"]} == {"f": 2, "m": 1}


def test_the_what_if_in_a_warm_process_equals_the_one_here(monkeypatch) -> None:
    """fairlearn's own ThresholdOptimizer fits in a warm process; the NumPy default needs none
    and gives the same section."""
    from auditkit.plugins.assess.fairness import run as fairness_run

    frame, y, yhat, scores = _biased(n=2000, seed=5)
    config = {"bootstrap": 0, "auc_bootstrap": 0, "mitigation_engine": "fairlearn"}
    launched = []
    real = fairness_run._mitigation_process
    monkeypatch.setattr(fairness_run, "cores", lambda: 2)
    monkeypatch.setattr(fairness_run, "_fairlearn_loaded", lambda: False)  # as in `auditkit run`
    monkeypatch.setattr(fairness_run, "_mitigation_process", lambda: launched.append(real()) or launched[-1])
    there = assess(make_audit(frame, y, yhat, scores, config=config)).data["mitigation"]
    side = launched[0]
    assert side is not None and side.used and side.proc.returncode == 0  # it ran the what-if
    monkeypatch.setattr(fairness_run, "cores", lambda: 1)  # one core: no side process
    monkeypatch.setattr(fairness_run, "_mitigation_process", real)
    here = assess(make_audit(frame, y, yhat, scores, config=config)).data["mitigation"]
    assert there == here and there["runs"]
    monkeypatch.setattr(fairness_run, "cores", lambda: 2)
    monkeypatch.setattr(fairness_run, "_mitigation_process", lambda: launched.append(real()) or launched[-1])
    default = {"bootstrap": 0, "auc_bootstrap": 0}
    numpy = assess(make_audit(frame, y, yhat, scores, config=default)).data["mitigation"]
    assert numpy == {**here, "fit_with": "numpy"}
    assert here["fit_with"] == "fairlearn"
    assert len(launched) == 1  # the NumPy fit started no process


def test_a_rerun_takes_the_what_if_from_the_cache_and_a_change_misses_it(tmp_path, monkeypatch) -> None:
    from auditkit.plugins.assess.fairness import mitigation as mitigation_module
    from auditkit.plugins.assess.fairness import run as fairness_run

    frame, y, yhat, scores = _biased(n=2000, seed=6)
    config = {"bootstrap": 0, "auc_bootstrap": 0}
    audit = make_audit(frame, y, yhat, scores, config=config)
    audit.cache_dir = str(tmp_path)
    first = assess(audit).data["mitigation"]
    kept = list(tmp_path.glob("fairness-mitigation/*/*.json"))
    assert len(kept) == 1 and first["runs"]

    launched = []
    monkeypatch.setattr(fairness_run, "cores", lambda: 2)
    monkeypatch.setattr(fairness_run, "_fairlearn_loaded", lambda: False)  # as in `auditkit run`
    monkeypatch.setattr(fairness_run, "WarmProcess", lambda modules: launched.append(modules))
    monkeypatch.setattr(mitigation_module, "what_if", lambda *a: pytest.fail("the what-if ran again"))
    again = make_audit(frame, y, yhat, scores, config=config)
    again.cache_dir = str(tmp_path)
    assert assess(again).data["mitigation"] == first and not launched  # no process started either

    kept[0].write_text("{not json", encoding="utf-8")  # a half-written entry is a miss
    monkeypatch.undo()
    assert assess(again).data["mitigation"] == first
    other = make_audit(frame, y, yhat, scores, config={**config, "seed": 1})  # another split
    other.cache_dir = str(tmp_path)
    assert assess(other).data["mitigation"] != first
    assert len(list(tmp_path.glob("fairness-mitigation/*/*.json"))) == 2
