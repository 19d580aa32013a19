"""The fast count engine against fairlearn's and sklearn's own functions, to 1e-12.

Random frames with one and two sensitive features, imbalanced and tiny groups, groups
without positives or without negatives, and missing sensitive values. Where a metric is
0/0 the engine reports null; the reference is then computed the way that convention says
(sklearn's ``zero_division=np.nan``, or fairlearn's function on the groups where the
metric is defined).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.fairness.api import group_fairness
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    false_positive_rate_difference,
    false_positive_rate_ratio,
    selection_rate,
    zero_one_loss_difference,
)
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

TOL = 1e-12
SEEDS = [0, 1, 2, 3]


def random_frame(seed: int, n: int = 3000, two: bool = True) -> pd.DataFrame:
    """Imbalanced groups, a tiny group, a group without positives, one without negatives."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["a0", "a1", "a2", "a3"], size=n, p=[0.7, 0.2, 0.08, 0.02]).astype(object)
    a[:4] = "tiny"
    a[4:12] = "nopos"
    a[12:20] = "noneg"
    base = {"a0": 0.3, "a1": 0.5, "a2": 0.1, "a3": 0.7, "tiny": 0.5, "nopos": 0.0, "noneg": 1.0}
    y = (rng.random(n) < np.array([base[v] for v in a])).astype(int)
    flip = rng.random(n) < np.where(a == "a1", 0.35, 0.15)
    yhat = np.where(flip, 1 - y, y)
    frame = pd.DataFrame({"y": y, "yhat": yhat, "a": a})
    if two:
        frame["b"] = rng.choice(["x", "y", "z"], size=n, p=[0.6, 0.35, 0.05])
    frame.loc[rng.choice(np.arange(20, n), size=25, replace=False), "a"] = None  # missing values
    return frame


def _metric_frame(frame: pd.DataFrame, columns: list[str]) -> MetricFrame:
    rows = frame.dropna(subset=columns)
    nan = {"zero_division": np.nan}
    return MetricFrame(
        metrics={
            "n": count,
            "selection_rate": selection_rate,
            "accuracy": accuracy_score,
            "precision": partial(precision_score, **nan),
            "tpr": partial(recall_score, **nan),
            "f1": partial(f1_score, **nan),
            "fpr": false_positive_rate,
            "fnr": false_negative_rate,
        },
        y_true=rows["y"],
        y_pred=rows["yhat"],
        sensitive_features=rows[columns],
    )


def _label(key: object) -> str:
    return " & ".join(map(str, key)) if isinstance(key, tuple) else str(key)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("two", [False, True])
def test_group_metrics_equal_fairlearn(seed: int, two: bool) -> None:
    frame = random_frame(seed, two=two)
    sensitive = ["a", "b"] if two else ["a"]
    result = group_fairness(frame["y"], frame["yhat"], frame[sensitive], positive="1", bootstrap=0)
    views = [(["a"], "a")] + ([(["b"], "b"), (["a", "b"], "a & b")] if two else [])
    for columns, feature in views:
        mf = _metric_frame(frame, columns)
        view = result.view(feature)
        assert view.grouping.groups == sorted(view.grouping.groups)
        # MetricFrame lists every combination of two features, also those with no rows
        expected = {_label(k): row for k, row in mf.by_group.iterrows() if row["n"] > 0}
        rows = frame.dropna(subset=columns)
        labels = rows[columns].astype(str).agg(" & ".join, axis=1)
        has = {v: rows.groupby(labels)["y"].apply(lambda s, v=v: bool((s == v).any())) for v in (0, 1)}
        assert set(expected) == set(view.grouping.groups)
        for g, label in enumerate(view.grouping.groups):
            ref = expected[label]
            assert view.point["n"][g] == ref["n"]
            for metric in ("selection_rate", "accuracy", "precision", "tpr", "f1"):
                ours, theirs = view.point[metric][g], ref[metric]
                assert np.isnan(ours) == np.isnan(theirs), (feature, label, metric)
                if not np.isnan(ours):
                    assert abs(ours - theirs) <= TOL, (feature, label, metric, ours, theirs)
            # fairlearn writes 0 where FPR/FNR are 0/0; the engine writes null with a reason
            for metric, needs in (("fpr", 0), ("fnr", 1)):
                if has[needs][label]:
                    assert abs(view.point[metric][g] - ref[metric]) <= TOL, (feature, label, metric)
                else:
                    assert np.isnan(view.point[metric][g]) and ref[metric] == 0
                    assert "label in this group" in view.notes[metric][g]


def _defined_rows(frame: pd.DataFrame, column: str, label_value: int) -> pd.DataFrame:
    rows = frame.dropna(subset=[column])
    has = rows.groupby(column)["y"].apply(lambda s: bool((s == label_value).any()))
    return rows[rows[column].map(has)]


@pytest.mark.parametrize("seed", SEEDS)
def test_disparities_equal_fairlearn(seed: int) -> None:
    frame = random_frame(seed, two=True)
    result = group_fairness(frame["y"], frame["yhat"], frame[["a", "b"]], positive="1", bootstrap=0)
    for feature in ("a", "b"):
        view = result.view(feature)
        rows = frame.dropna(subset=[feature])
        kw = {"sensitive_features": rows[feature]}
        d = {k: v.value for k, v in view.disparities.items()}
        assert abs(d["demographic_parity_difference"] - demographic_parity_difference(rows.y, rows.yhat, **kw)) <= TOL
        assert abs(d["demographic_parity_ratio"] - demographic_parity_ratio(rows.y, rows.yhat, **kw)) <= TOL
        assert abs(d["error_rate_difference"] - zero_one_loss_difference(rows.y, rows.yhat, **kw)) <= TOL
        # TPR is defined only in groups with positives, FPR only in groups with negatives
        pos, neg = _defined_rows(frame, feature, 1), _defined_rows(frame, feature, 0)
        tpr_d = equal_opportunity_difference(pos.y, pos.yhat, sensitive_features=pos[feature])
        fpr_d = false_positive_rate_difference(neg.y, neg.yhat, sensitive_features=neg[feature])
        tpr_r = equal_opportunity_ratio(pos.y, pos.yhat, sensitive_features=pos[feature])
        fpr_r = false_positive_rate_ratio(neg.y, neg.yhat, sensitive_features=neg[feature])
        assert abs(d["equal_opportunity_difference"] - tpr_d) <= TOL
        assert abs(d["equal_opportunity_ratio"] - tpr_r) <= TOL
        assert abs(d["equalized_odds_difference"] - max(tpr_d, fpr_d)) <= TOL
        assert abs(d["equalized_odds_ratio"] - min(tpr_r, fpr_r)) <= TOL
        mf = _metric_frame(frame, [feature])
        assert abs(d["predictive_parity_difference"] - mf.difference()["precision"]) <= TOL
        assert abs(d["f1_difference"] - mf.difference()["f1"]) <= TOL
        # the two groups named are the ones with the extreme selection rates
        dp = view.disparities["demographic_parity_difference"]
        rates = dict(zip(view.grouping.groups, view.point["selection_rate"], strict=True))
        assert rates[dp.groups[0]] == max(rates.values()) and rates[dp.groups[1]] == min(rates.values())


@pytest.mark.parametrize("seed", SEEDS)
def test_equalized_odds_equals_fairlearn_when_every_group_has_both_labels(seed: int) -> None:
    frame = random_frame(seed, two=True)
    rows = frame.dropna(subset=["a"])
    rows = rows[~rows["a"].isin(["nopos", "noneg"])]
    result = group_fairness(rows["y"], rows["yhat"], rows[["a"]], positive="1", bootstrap=0)
    d = result.view("a").disparities
    kw = {"sensitive_features": rows["a"]}
    assert abs(d["equalized_odds_difference"].value - equalized_odds_difference(rows.y, rows.yhat, **kw)) <= TOL
    assert abs(d["equalized_odds_ratio"].value - equalized_odds_ratio(rows.y, rows.yhat, **kw)) <= TOL


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.filterwarnings("ignore:Supplied .func. had no __name__")
def test_multiclass_equals_sklearn_and_one_vs_rest_fairlearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2500
    classes = ["cat", "dog", "eel"]
    y = rng.choice(classes, size=n, p=[0.5, 0.4, 0.1])
    yhat = np.where(rng.random(n) < 0.3, rng.choice(classes, size=n), y)
    group = rng.choice(["g0", "g1", "g2", "tiny"], size=n, p=[0.6, 0.3, 0.098, 0.002])
    result = group_fairness(y, yhat, {"g": group}, classes=classes, bootstrap=0)
    view = result.view("g")
    for i, label in enumerate(view.grouping.groups):
        m = group == label
        assert abs(view.point["accuracy"][i] - accuracy_score(y[m], yhat[m])) <= TOL
        assert abs(view.point["macro_f1"][i] - f1_score(y[m], yhat[m], average="macro")) <= TOL
        for c in classes:
            ref = recall_score(y[m] == c, yhat[m] == c, zero_division=np.nan)
            ours = view.point[f"recall_{c}"][i]
            assert (np.isnan(ours) and np.isnan(ref)) or abs(ours - ref) <= TOL
    dp = max(demographic_parity_difference(y == c, yhat == c, sensitive_features=group) for c in classes)
    assert abs(view.disparities["demographic_parity_difference"].value - dp) <= TOL
    mf = MetricFrame(metrics=partial(f1_score, average="macro"), y_true=y, y_pred=yhat, sensitive_features=group)
    assert abs(view.disparities["macro_f1_difference"].value - mf.difference()) <= TOL


def test_reference_group_ratio_is_folded() -> None:
    # selection rates: a 0.5, b 0.25, c 0.75 (hand-made); reference b
    sens = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    yhat = [1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0]
    result = group_fairness(yhat, yhat, {"s": sens}, positive="1", bootstrap=0, reference_groups={"s": "b"})
    d = result.view("s").disparities
    # a/b = 2 → 1/2; c/b = 3 → 1/3: the smallest folded ratio is 1/3, set by c against b
    assert d["demographic_parity_ratio"].value == pytest.approx(1 / 3, abs=1e-15)
    assert d["demographic_parity_ratio"].groups == ["c", "b"]
    assert d["demographic_parity_difference"].value == pytest.approx(0.5, abs=1e-15)
    between = group_fairness(yhat, yhat, {"s": sens}, positive="1", bootstrap=0).view("s").disparities
    assert between["demographic_parity_ratio"].value == pytest.approx(0.25 / 0.75, abs=1e-15)
    assert between["demographic_parity_ratio"].groups == ["b", "c"]


def test_token_entity_f1_equals_seqeval() -> None:
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = np.random.default_rng(0)
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-PER", "E-LOC", "S-PER"]
    true, pred, group = [], [], []
    for i in range(300):
        length = int(rng.integers(1, 12))
        t = [str(x) for x in rng.choice(tags, size=length)]
        p = [x if rng.random() < 0.8 else str(rng.choice(tags)) for x in t]
        true.append(t)
        pred.append(p)
        group.append("g0" if i % 3 else "g1")
    from auditkit.plugins.assess.fairness.api import entity_fairness

    view = entity_fairness(true, pred, {"g": group}, bootstrap=0).view("g")
    for i, label in enumerate(view.grouping.groups):
        t = [x for x, g in zip(true, group, strict=True) if g == label]
        p = [x for x, g in zip(pred, group, strict=True) if g == label]
        assert abs(view.point["entity_f1"][i] - seqeval.f1_score(t, p)) <= TOL
        assert abs(view.point["entity_precision"][i] - seqeval.precision_score(t, p)) <= TOL
        assert abs(view.point["entity_recall"][i] - seqeval.recall_score(t, p)) <= TOL
