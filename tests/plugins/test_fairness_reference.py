"""The per-group reference table (Aequitas's crosstab and disparity columns), small groups
that do not set F, no arbitrary binding constraint, and intervals that contain the
tolerance never failing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.fairness.constraints import verdict
from fairnessaudit import assess, fairness_audit

from auditkit.audit import Audit

# The race groups of ProPublica's COMPAS file (7,214 rows); the data set itself is not in
# this checkout, so a seeded frame with its group sizes stands in for it.
COMPAS_SIZES = {
    "African-American": 3696,
    "Caucasian": 2454,
    "Hispanic": 637,
    "Other": 377,
    "Asian": 32,
    "Native American": 18,
}


def make_audit(frame: pd.DataFrame, y: Any, yhat: Any, config: dict[str, Any] | None = None) -> Audit:
    """Labels "0"/"1" as strings, every column of ``frame`` sensitive, no what-if unless asked."""
    text = lambda values: [str(v) for v in values]  # noqa: E731
    config = {"mitigation": False, **(config or {})}
    return fairness_audit(frame, text(y), text(yhat), config=config, labels=["0", "1"])



def compas_like(seed: int = 0, native_rate: float = 0.9) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """COMPAS-sized race groups; 'Native American' (18 rows) is predicted positive far more often."""
    rng = np.random.default_rng(seed)
    race = np.concatenate([[g] * n for g, n in COMPAS_SIZES.items()])
    base = {"African-American": 0.52, "Caucasian": 0.39, "Hispanic": 0.37, "Other": 0.36, "Asian": 0.28}
    y = (rng.random(len(race)) < np.array([base.get(r, 0.5) for r in race])).astype(int)
    flip = np.array([native_rate if r == "Native American" else 0.30 for r in race])
    yhat = np.where(rng.random(len(race)) < 0.65, y, rng.random(len(race)) < flip).astype(int)
    yhat[race == "Native American"] = (rng.random(18) < native_rate).astype(int)
    return pd.DataFrame({"race": race}), y, yhat


def test_reference_table_matches_a_hand_calculation() -> None:
    # A: 10 rows, TP 3, FN 1, FP 2, TN 4.  B: 5 rows, TP 1, FN 1, FP 2, TN 1.
    a = [(1, 1)] * 3 + [(1, 0)] + [(0, 1)] * 2 + [(0, 0)] * 4
    b = [(1, 1), (1, 0), (0, 1), (0, 1), (0, 0)]
    frame = pd.DataFrame({"g": ["A"] * 10 + ["B"] * 5})
    y, yhat = zip(*(a + b), strict=True)
    section = assess(make_audit(frame, y, yhat, {"bootstrap": 0, "min_group_size": 1}))
    rows = {r["attribute_value"]: r for r in section.data["reference_table"]}
    assert section.data["reference_groups_used"] == {"g": {"group": "A", "rule": "largest group"}}
    A, B = rows["A"], rows["B"]
    assert (A["tp"], A["fn"], A["fp"], A["tn"], A["group_size"], A["pp"], A["pn"]) == (3, 1, 2, 4, 10, 5, 5)
    assert (B["tp"], B["fn"], B["fp"], B["tn"], B["group_size"], B["pp"], B["pn"]) == (1, 1, 2, 1, 5, 3, 2)
    hand_b = {
        "tpr": 1 / 2, "tnr": 1 / 3, "for": 1 / 2, "fdr": 2 / 3, "fpr": 2 / 3, "fnr": 1 / 2,
        "npv": 1 / 2, "precision": 1 / 3, "ppr": 3 / 8, "pprev": 3 / 5, "prev": 2 / 5,
    }  # fmt: skip
    hand_a = {
        "tpr": 3 / 4, "tnr": 4 / 6, "for": 1 / 5, "fdr": 2 / 5, "fpr": 2 / 6, "fnr": 1 / 4,
        "npv": 4 / 5, "precision": 3 / 5, "ppr": 5 / 8, "pprev": 5 / 10, "prev": 4 / 10,
    }  # fmt: skip
    for m in hand_b:
        assert B[m] == pytest.approx(hand_b[m]) and A[m] == pytest.approx(hand_a[m]), m
        assert B[f"{m}_disparity"] == pytest.approx(hand_b[m] / hand_a[m]), m
        assert B[f"{m}_difference"] == pytest.approx(hand_b[m] - hand_a[m]), m
        assert A[f"{m}_disparity"] == 1.0 and A[f"{m}_difference"] == 0.0
    assert B["fpr_disparity"] == pytest.approx(2.0)  # unfolded: 0.667 / 0.333, not 0.5
    table = next(t for t in section.tables if t.name == "reference-g")
    assert "'A'" in table.caption and "largest group" in table.caption
    fpr_row = table.frame.set_index("metric").loc["fpr"]
    assert fpr_row.iloc[1] == "0.667 ×2.00 (+0.333)"

    # the configured reference (what --reference g=B sets) flips the direction
    section = assess(make_audit(frame, y, yhat, {"bootstrap": 0, "min_group_size": 1, "reference_groups": {"g": "B"}}))
    rows = {r["attribute_value"]: r for r in section.data["reference_table"]}
    assert rows["A"]["fpr_disparity"] == pytest.approx(0.5) and rows["B"]["is_reference"]
    assert section.data["reference_groups_used"]["g"]["rule"] == "configured"


def test_reference_table_matches_fairlearn_metricframe_on_compas_sized_groups() -> None:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import confusion_matrix, precision_score

    frame, y, yhat = compas_like(seed=3)

    def npv(t: Any, p: Any) -> float:
        tn, _, fn, _ = confusion_matrix(t, p, labels=[0, 1]).ravel()
        return tn / (tn + fn)

    def fdr(t: Any, p: Any) -> float:
        return 1 - precision_score(t, p)

    def false_omission(t: Any, p: Any) -> float:
        return 1 - npv(t, p)

    mf = MetricFrame(
        metrics={
            "tpr": true_positive_rate, "tnr": true_negative_rate, "fpr": false_positive_rate,
            "fnr": false_negative_rate, "pprev": selection_rate, "group_size": count, "precision": precision_score,
            "npv": npv, "fdr": fdr, "for": false_omission, "prev": lambda t, p: np.mean(t),
            "pp": lambda t, p: int(np.sum(p)),
        },
        y_true=y, y_pred=yhat, sensitive_features=frame["race"],
    )  # fmt: skip
    expected = mf.by_group
    expected["ppr"] = expected["pp"] / yhat.sum()
    section = assess(make_audit(frame, y, yhat, {"bootstrap": 0}))
    rows = {r["attribute_value"]: r for r in section.data["reference_table"]}
    assert set(rows) == set(COMPAS_SIZES)
    assert section.data["reference_groups_used"]["race"]["group"] == "African-American"  # the largest
    for group, want in expected.iterrows():
        for m in ("tpr", "tnr", "fpr", "fnr", "pprev", "precision", "npv", "fdr", "for", "prev", "ppr"):
            assert rows[group][m] == pytest.approx(want[m]), (group, m)
            ratio = want[m] / expected.loc["African-American", m]
            assert rows[group][f"{m}_disparity"] == pytest.approx(ratio), (group, m)
        assert rows[group]["group_size"] == want["group_size"]
    # "Hispanic vs African-American FPR" is the plain quotient, read either way round
    section = assess(make_audit(frame, y, yhat, {"bootstrap": 0, "reference_groups": {"race": "Hispanic"}}))
    aa = next(r for r in section.data["reference_table"] if r["attribute_value"] == "African-American")
    fpr = expected["fpr"]
    assert aa["fpr_disparity"] == pytest.approx(fpr["African-American"] / fpr["Hispanic"])
    assert aa["fpr_disparity"] > 1


def test_a_small_group_is_reported_but_does_not_set_f_unless_included() -> None:
    frame, y, yhat = compas_like(seed=1, native_rate=1.0)
    section = assess(make_audit(frame, y, yhat, {"bootstrap": 0}))
    native = next(r for r in section.data["groups"] if r["group"] == "Native American")
    assert native["small"] and native["n"] == 18
    dp = section.data["disparities"]["demographic_parity_difference"]
    assert "Native American" not in dp["groups"]
    assert any(r["attribute_value"] == "Native American" for r in section.data["reference_table"])
    small = next(f for f in section.findings if f.code == "fairness-small-groups")
    assert "do not" in section.summary.lower() or "left out" in small.message
    # by hand: the selection rates of the large groups only
    rates = {g: yhat[frame["race"] == g].mean() for g in COMPAS_SIZES if COMPAS_SIZES[g] >= 30}
    assert dp["value"] == pytest.approx(max(rates.values()) - min(rates.values()))

    included = assess(make_audit(frame, y, yhat, {"bootstrap": 0, "small_groups": "include"}))
    dp = included.data["disparities"]["demographic_parity_difference"]
    assert "Native American" in dp["groups"]
    assert included.data["score"] < section.data["score"]


def test_no_binding_constraint_when_every_constraint_scores_one() -> None:
    frame = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40})
    y = ([1] * 20 + [0] * 20) * 2
    section = assess(make_audit(frame, y, list(y), {"bootstrap": 0}))
    assert section.data["score"] == 1.0
    assert section.data["binding_constraint"] is None
    assert "none binds" in section.summary and "Closest" not in section.summary
    assert section.key_metrics == ["score"]


@pytest.mark.parametrize("seed", range(6))
def test_an_interval_that_contains_the_tolerance_never_fails(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 300))
    frame = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n), "h": rng.choice(["x", "y"], n)})
    y = rng.integers(0, 2, n)
    yhat = np.where(rng.random(n) < 0.6, y, rng.integers(0, 2, n))
    yhat[frame["g"] == "a"] |= rng.random((frame["g"] == "a").sum()) < 0.2
    section = assess(make_audit(frame, y, yhat, {"bootstrap": 200, "seed": seed, "min_group_size": 5}))
    for c in section.data["constraints"]:
        if c["value"] is None or c["ci"] is None:
            continue
        low, high = c["ci"]
        # the interval shown is the feature's own: the one in the per-feature JSON
        assert list(c["ci"]) == section.data["disparities"][c["name"]]["by_feature"][c["feature"]]["ci"]
        if low <= c["tolerance"] <= high:
            assert c["verdict"] in ("pass", "warn"), c
        if c["verdict"] == "warn":
            message = next(f.message for f in section.findings if c["name"] in f.message)
            assert "cannot tell" in message


def test_verdict_rule_by_hand() -> None:
    assert verdict("difference", 0.15, 0.10, (0.09, 0.22)) == "warn"  # interval contains τ
    assert verdict("difference", 0.15, 0.10, (0.11, 0.22)) == "fail"
    assert verdict("difference", 0.15, 0.10, None) == "fail"
    assert verdict("ratio", 0.70, 0.80, (0.60, 0.85)) == "warn"
    assert verdict("ratio", 0.70, 0.80, (0.60, 0.79)) == "fail"
    assert verdict("ratio", 0.90, 0.80, (0.60, 0.99)) == "pass"


def test_reference_flag_in_init_and_run(tmp_path: Any) -> None:
    from auditkit.cli import with_reference
    from auditkit.config import read_toml
    from auditkit.errors import UsageError
    from auditkit.init_cmd import parse_reference
    from auditkit.testing import run_cli

    assert parse_reference(["race=Hispanic", "sex = F"]) == {"race": "Hispanic", "sex": "F"}
    with pytest.raises(UsageError, match="expected FEATURE=GROUP"):
        parse_reference(["race"])
    merged = with_reference({"fairness": {"reference_groups": {"sex": "M"}, "seed": 1}}, ["race=Asian"])
    assert merged == {"fairness": {"reference_groups": {"sex": "M", "race": "Asian"}, "seed": 1}}
    assert with_reference({}, []) == {}

    frame, y, yhat = compas_like()
    pd.DataFrame({"race": frame["race"], "y": y, "s": yhat * 0.8 + 0.1}).to_csv(tmp_path / "p.csv", index=False)
    base = ["init", tmp_path / "m", "--predictions", tmp_path / "p.csv", "--score", "s", "--threshold", "0.5",
            "--label", "y", "--sensitive", "race"]  # fmt: skip
    wrong = run_cli([*base, "--reference", "race=Martian"])
    assert wrong.exit_code == 2 and "no group 'Martian'" in wrong.stderr and "Traceback" not in wrong.stderr
    assert run_cli([*base, "--reference", "sex=F"]).exit_code == 2
    done = run_cli([*base, "--reference", "race=Hispanic"])
    assert done.exit_code == 0, done.stderr
    assert read_toml(tmp_path / "m" / "auditkit.toml")["fairness"]["reference_groups"] == {"race": "Hispanic"}
