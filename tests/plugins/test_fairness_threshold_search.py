"""The NumPy threshold search gives fairlearn's ThresholdOptimizer's numbers: the same rule
for every group (probabilities and thresholds, bit for bit) and the same randomised
predictions, for every constraint and objective fairlearn accepts; the same errors."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.fairness import mitigation, threshold_search
from auditkit.plugins.assess.fairness.groups import encode_feature
from fairlearn.postprocessing import ThresholdOptimizer

PAIRS = [
    *itertools.product(sorted(threshold_search.SIMPLE_CONSTRAINTS), sorted(threshold_search.SIMPLE_OBJECTIVES)),
    *itertools.product(["equalized_odds"], sorted(threshold_search.EQUALIZED_ODDS_OBJECTIVES)),
]


def scored(n: int, seed: int, groups: int, decimals: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores that depend on the label and on the group; rounded ones tie a lot."""
    rng = np.random.default_rng(seed)
    g = rng.choice([f"g{i}" for i in range(groups)], size=n).astype(object)
    y = (rng.random(n) < 0.2 + 0.05 * (g == "g1")).astype(int)
    s = np.clip(0.3 * y + 0.5 * rng.random(n) + 0.1 * (g == "g1") - 0.05 * (g == "g2"), 0, 1)
    return (s if decimals is None else s.round(decimals)), y, g


DATA = {
    "few rows, coarse ties": (40, 0, 2, 1),
    "three groups, two decimals": (400, 1, 3, 2),
    "continuous scores": (1500, 2, 5, None),
    "twelve groups": (3000, 3, 12, 3),
}


def fairlearn_fit(s: np.ndarray, y: np.ndarray, g: np.ndarray, constraint: str, objective: str) -> ThresholdOptimizer:
    optimizer = ThresholdOptimizer(
        estimator=mitigation.score_model()(),
        constraints=constraint,
        objective=objective,
        prefit=True,
        predict_method="predict",
    )
    return optimizer.fit(pd.DataFrame({"score": s}), y, sensitive_features=g)


@pytest.mark.parametrize("data", DATA)
@pytest.mark.parametrize(("constraint", "objective"), PAIRS)
def test_the_rules_and_predictions_are_fairlearns(data: str, constraint: str, objective: str) -> None:
    s, y, g = scored(*DATA[data])
    reference = fairlearn_fit(s, y, g, constraint, objective)
    rules = threshold_search.fit(s, y, g, constraint, objective)
    expected = reference.interpolated_thresholder_.interpolation_dict
    assert list(rules) == list(expected)
    for group, bunch in expected.items():
        rule = rules[group]
        got = [rule.p0, rule.operation0.threshold, rule.p1, rule.operation1.threshold]
        want = [bunch.p0, bunch.operation0.threshold, bunch.p1, bunch.operation1.threshold]
        assert np.array_equal(got, want, equal_nan=True), group
        assert (rule.operation0.operator, rule.operation1.operator) == (
            bunch.operation0.operator,
            bunch.operation1.operator,
        )
        assert (rule.p_ignore, rule.prediction_constant) == (bunch.get("p_ignore"), bunch.get("prediction_constant"))
    held_out, _, held_groups = scored(DATA[data][0], 100 + DATA[data][1], DATA[data][2], DATA[data][3])
    want = reference.predict(pd.DataFrame({"score": held_out}), sensitive_features=held_groups, random_state=7)
    assert np.array_equal(threshold_search.predict(rules, held_out, held_groups, random_state=7), want)


def test_a_group_with_one_label_and_an_unknown_objective_fail_as_in_fairlearn() -> None:
    s, y, g = scored(200, 4, 3, 2)
    y[g == "g0"] = 1
    with pytest.raises(ValueError) as ours:
        threshold_search.fit(s, y, g, "demographic_parity")
    with pytest.raises(ValueError) as theirs:
        fairlearn_fit(s, y, g, "demographic_parity", "accuracy_score")
    assert str(ours.value) == str(theirs.value) == "Degenerate labels for sensitive feature value g0"
    for constraint, objective in (("equalized_odds", "selection_rate"), ("demographic_parity", "precision")):
        with pytest.raises(ValueError) as ours:
            threshold_search.fit(s, y, g, constraint, objective)
        with pytest.raises(ValueError) as theirs:
            fairlearn_fit(s, y, g, constraint, objective)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("max_rows", [0, 700])
def test_the_what_if_is_the_same_with_either_engine(max_rows: int) -> None:
    s, y, g = scored(3000, 5, 4, 3)
    yhat = (s > 0.45).astype(np.int64)
    y[(g == "g3") & (np.arange(3000) % 2 == 0)] = 0  # a group with few positives
    grouping = encode_feature(pd.Series(g), "g")
    args = (s, y, yhat, grouping, ["demographic_parity", "equalized_odds"], 11, max_rows)
    ours = mitigation.what_if(*args, fit_with="numpy")
    theirs = mitigation.what_if(*args, fit_with="fairlearn")
    assert ours is not None and theirs is not None and ours.runs and not ours.skipped
    assert (ours.fit_with, theirs.fit_with) == ("numpy", "fairlearn")
    assert ours == dataclasses.replace(theirs, fit_with="numpy")
