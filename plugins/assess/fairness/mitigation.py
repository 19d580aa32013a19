"""What-if mitigation: Hardt et al.'s group thresholds (fairlearn's ThresholdOptimizer) on
the model's own scores.

The thresholds are fitted on one half of the evaluation data (a seeded split, stratified by
group, :func:`stratified_halves`) and judged on the other half, so the "after" figures are
not measured on the data the thresholds were chosen from. Each group gets a (randomised)
threshold, so the mitigated model needs the sensitive feature at prediction time.

The fit is :mod:`.threshold_search` by default, fairlearn's algorithm in NumPy with the same
numbers, or fairlearn's own class with ``[fairness] mitigation_engine = "fairlearn"``.
On large data the thresholds are fitted on a seeded sample of the fitting half, stratified
by group x label, of at most ``[fairness] mitigation_max_rows`` rows (:func:`fit_sample`):
the fit walks every distinct score of every group in Python, while the thresholds it finds
settle long before 500,000 rows. The "after" figures are still measured on the whole
held-out half.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from auditkit.plugins.assess.fairness import disparity, engine, threshold_search
from auditkit.plugins.assess.fairness.groups import Grouping

REPORTED = ("demographic_parity_difference", "equalized_odds_difference")


@functools.cache
def score_model() -> type:
    """The class of a prefit 'estimator' whose prediction is the score column it is given
    (made on first use: scikit-learn is imported only where the what-if runs)."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class ScoreModel(ClassifierMixin, BaseEstimator):
        def fit(self, X: Any, y: Any = None) -> ScoreModel:
            return self

        def predict(self, X: Any) -> np.ndarray:
            return np.asarray(X, dtype=float)[:, 0]

        def __sklearn_is_fitted__(self) -> bool:
            return True

    return ScoreModel


@dataclass
class MitigationRun:
    constraint: str
    accuracy_before: float
    accuracy_after: float
    before: dict[str, float | None]
    after: dict[str, float | None]
    thresholds: list[dict[str, Any]]


@dataclass
class MitigationResult:
    feature: str
    train_rows: int
    test_rows: int
    seed: int
    runs: list[MitigationRun] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    left_out_groups: list[str] = field(default_factory=list)
    # rows the thresholds were fitted on: train_rows, or a sample of them (mitigation_max_rows)
    fit_rows: int | None = None
    # what fitted them ([fairness] mitigation_engine): "numpy" (threshold_search) or "fairlearn"
    fit_with: str = "numpy"

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> MitigationResult | None:
        """The result again from ``dataclasses.asdict`` of it, as JSON gives it back."""
        if data is None:
            return None
        return cls(**{**data, "runs": [MitigationRun(**run) for run in data["runs"]]})


def _measure(
    y: np.ndarray, yhat: np.ndarray, codes: np.ndarray, labels: list[str]
) -> tuple[float, dict[str, float | None]]:
    g = len(labels)
    counts = np.bincount((codes * 2 + y) * 2 + yhat, minlength=g * 4).reshape(g, 4)
    metrics = engine.confusion_metrics(counts.astype(float), ["0", "1"], binary=True)
    eligible = np.ones(g, dtype=bool)
    out: dict[str, float | None] = {}
    for name in REPORTED:
        comps = disparity.components(name, "binary", [])
        assert comps is not None
        out[name] = disparity.compute(name, comps, "", labels, metrics, eligible).value
    return float((y == yhat).mean()), out


def _describe(bunch: Any) -> str:
    parts = []
    for p, op in ((bunch.p0, bunch.operation0), (bunch.p1, bunch.operation1)):
        if p > 0:
            parts.append(f"score {op.operator} {op.threshold:.4g} (p = {p:.3g})")
    rule = " or ".join(parts)
    if getattr(bunch, "p_ignore", 0):
        rule += f"; with p = {bunch.p_ignore:.3g} predict {bunch.prediction_constant:.3g} instead"
    return rule


def fit_sample(rows: np.ndarray, strata: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """At most ``max_rows`` of ``rows`` (ascending), drawn without replacement within each
    stratum in proportion to its size (largest remainders), every stratum keeping a row so
    no group or label of the fitting half goes missing; ``rows`` itself when it is no larger
    (or ``max_rows`` is 0, or there are more strata than ``max_rows``).

    ``strata`` holds each of ``rows``' stratum, as small non-negative integers.
    """
    if max_rows <= 0 or len(rows) <= max_rows:
        return rows
    counts = np.bincount(strata)
    present = np.flatnonzero(counts)
    sizes = counts[present]
    if len(sizes) > max_rows:
        return rows
    number = np.zeros(len(counts), dtype=np.int16 if len(sizes) < 2**15 else np.int64)
    number[present] = np.arange(len(sizes))
    inverse = number[strata]  # each row's stratum, numbered 0.. in order
    share = (sizes - 1) * (max_rows - len(sizes)) / (len(rows) - len(sizes))  # beyond one row each
    quota = 1 + np.floor(share).astype(np.int64)
    short = max_rows - int(quota.sum())
    quota[np.argsort(np.floor(share) - share, kind="stable")[:short]] += 1
    quota = np.minimum(quota, sizes)
    shuffled = np.random.default_rng(seed).permutation(len(rows))
    order = shuffled[np.argsort(inverse[shuffled], kind="stable")]  # by stratum, shuffled within
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rank = np.arange(len(rows)) - starts[inverse[order]]
    return np.sort(rows[order[rank < quota[inverse[order]]]])


def stratified_halves(rows: np.ndarray, codes: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of ``rows`` in two halves, stratified by ``codes`` (each row's group,
    >= 0): each group's rows shuffled, the first half of them (rounded down) fitting.
    O(n) in NumPy: scikit-learn's ``train_test_split`` sorts, and its import alone was
    0.25 s of a 1M-row audit."""
    shuffled = np.random.default_rng(seed).permutation(len(rows))
    keys = codes[shuffled]
    order = shuffled[np.argsort(keys.astype(np.int16) if keys.max() < 2**15 else keys, kind="stable")]
    sizes = np.bincount(codes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    rank = np.arange(len(rows)) - starts[codes[order]]
    fitting = rank < (sizes // 2)[codes[order]]
    return rows[order[fitting]], rows[order[~fitting]]


def what_if(
    scores: np.ndarray,
    y: np.ndarray,
    yhat: np.ndarray,
    grouping: Grouping,
    constraints: list[str],
    seed: int,
    max_rows: int = 0,
    fit_with: str = "numpy",
) -> MitigationResult | None:
    """Fit on a seeded half (or a stratified sample of at most ``max_rows`` of it, 0: all),
    report accuracy and disparities before and after on the other half. ``fit_with`` is
    :mod:`.threshold_search` ("numpy") or fairlearn's ThresholdOptimizer ("fairlearn"),
    ``[fairness] mitigation_engine``.

    None when there is too little data: two groups of at least 4 rows and 20 rows in all.
    """
    codes = grouping.codes
    sizes = np.bincount(codes[codes >= 0], minlength=len(grouping.groups))
    usable = (codes >= 0) & (sizes[np.maximum(codes, 0)] >= 4)  # two rows in each half
    left_out = [grouping.groups[g] for g in np.flatnonzero(sizes < 4)]
    rows = np.flatnonzero(usable)
    if (sizes >= 4).sum() < 2 or len(rows) < 20:
        return None
    train, test = stratified_halves(rows, codes[rows], seed)
    fit = fit_sample(train, codes[train] * 2 + (y[train] != 0), max_rows, seed)
    result = MitigationResult(grouping.feature, len(train), len(test), seed, left_out_groups=left_out)
    result.fit_rows, result.fit_with = len(fit), fit_with
    labels = np.asarray(grouping.groups, dtype=object)
    test_codes = np.unique(codes[test], return_inverse=True)[1]
    test_labels = [grouping.groups[g] for g in np.unique(codes[test])]
    y_test = y[test].astype(np.int64)
    acc_before, before = _measure(y_test, yhat[test].astype(np.int64), test_codes, test_labels)
    fit_and_predict = _FITTERS[fit_with]
    for constraint in constraints:
        try:
            rules, mitigated = fit_and_predict(
                scores[fit], y[fit].astype(int), labels[codes[fit]], constraint, scores[test], labels[codes[test]], seed
            )
        except (ValueError, ZeroDivisionError) as exc:  # e.g. a group with one label only
            result.skipped.append({"constraint": constraint, "reason": str(exc)})
            continue
        acc_after, after = _measure(y_test, np.asarray(mitigated, dtype=np.int64), test_codes, test_labels)
        thresholds = [{"group": str(g), "rule": _describe(b)} for g, b in rules.items()]
        result.runs.append(MitigationRun(constraint, acc_before, acc_after, before, after, thresholds))
    return result


def _numpy_fit(
    scores: np.ndarray, y: np.ndarray, groups: np.ndarray, constraint: str,
    test_scores: np.ndarray, test_groups: np.ndarray, seed: int,
) -> tuple[dict[Any, Any], np.ndarray]:
    rules = threshold_search.fit(scores, y, groups, constraint, objective="accuracy_score")
    return rules, threshold_search.predict(rules, test_scores, test_groups, random_state=seed)


def _fairlearn_fit(
    scores: np.ndarray, y: np.ndarray, groups: np.ndarray, constraint: str,
    test_scores: np.ndarray, test_groups: np.ndarray, seed: int,
) -> tuple[dict[Any, Any], np.ndarray]:
    import pandas as pd
    from fairlearn.postprocessing import ThresholdOptimizer

    optimizer = ThresholdOptimizer(
        estimator=score_model()(),
        constraints=constraint,
        objective="accuracy_score",
        prefit=True,
        predict_method="predict",
    )
    optimizer.fit(pd.DataFrame({"score": scores}), y, sensitive_features=groups)
    held_out = pd.DataFrame({"score": test_scores})
    mitigated = optimizer.predict(held_out, sensitive_features=test_groups, random_state=seed)
    return optimizer.interpolated_thresholder_.interpolation_dict, mitigated


# [fairness] mitigation_engine -> (fitting rows..., held-out rows, seed) -> (rules by group, predictions)
_FITTERS = {"numpy": _numpy_fit, "fairlearn": _fairlearn_fit}
