"""Hardt et al.'s group thresholds in NumPy: the fit and the prediction of fairlearn's
``ThresholdOptimizer`` (prefit on the scores, ``flip=False``, no ``tol``), step for step.

Why not fairlearn itself: on a 1M-row audit its import (with scikit-learn and SciPy) and
its walk over every row in Python were half of the whole audit. Here the rows are counted
in NumPy (one sort, cumulative sums at each distinct score) and only the trade-off points
are walked, in the same order and with the same float arithmetic as fairlearn, so the
rules and the randomised predictions are the same numbers. ``tests/plugins/
test_fairness_threshold_search.py`` checks that against fairlearn for every constraint and
objective; ``[fairness] mitigation_engine = "fairlearn"`` runs fairlearn's own class instead.

Each group's points are its confusion counts at every threshold between two distinct
scores (from +inf down to -inf), as (constraint metric, objective) pairs; their upper
convex hull is interpolated on a grid of the constraint metric; the best grid point of the
size-weighted objective (or, for equalized odds, of the lowest ROC curve) gives each group
a randomised mix of two thresholds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Counts = dict[str, np.ndarray]

# fairlearn's METRIC_DICT, written in the same operation order (so the same roundings)
METRICS: dict[str, Callable[[Counts], np.ndarray]] = {
    "selection_rate": lambda c: c["predicted_positives"] / c["n"],
    "false_positive_rate": lambda c: c["false_positives"] / c["negatives"],
    "false_negative_rate": lambda c: c["false_negatives"] / c["positives"],
    "true_positive_rate": lambda c: c["true_positives"] / c["positives"],
    "true_negative_rate": lambda c: c["true_negatives"] / c["negatives"],
    "accuracy_score": lambda c: (c["true_positives"] + c["true_negatives"]) / c["n"],
    "balanced_accuracy_score": lambda c: (
        0.5 * c["true_positives"] / c["positives"] + 0.5 * c["true_negatives"] / c["negatives"]
    ),
}

# constraint -> the metric it equalises across groups
SIMPLE_CONSTRAINTS = {
    "selection_rate_parity": "selection_rate",
    "demographic_parity": "selection_rate",
    "false_positive_rate_parity": "false_positive_rate",
    "false_negative_rate_parity": "false_negative_rate",
    "true_positive_rate_parity": "true_positive_rate",
    "true_negative_rate_parity": "true_negative_rate",
}
SIMPLE_OBJECTIVES = {
    "selection_rate", "true_positive_rate", "true_negative_rate", "accuracy_score", "balanced_accuracy_score"
}
EQUALIZED_ODDS_OBJECTIVES = {"accuracy_score", "balanced_accuracy_score"}


@dataclass(frozen=True)
class Operation:
    """Predict positive where the score is above ``threshold`` (fairlearn's ``[>t]``)."""

    threshold: float
    operator: str = ">"

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return scores > self.threshold


@dataclass(frozen=True)
class GroupRule:
    """One group's randomised rule: ``operation0`` with probability ``p0``, else
    ``operation1``; then, with probability ``p_ignore``, ``prediction_constant`` instead
    (equalized odds only; None for the simple constraints, as fairlearn leaves it out)."""

    p0: float
    operation0: Operation
    p1: float
    operation1: Operation
    p_ignore: float | None = None
    prediction_constant: float | None = None


def extend_counts(true_positives: np.ndarray, false_positives: np.ndarray, true_negatives: np.ndarray,
                  false_negatives: np.ndarray) -> Counts:
    """fairlearn's ``_extend_confusion_matrix``: the four counts and the totals implied."""
    return {
        "true_positives": true_positives,
        "false_positives": false_positives,
        "true_negatives": true_negatives,
        "false_negatives": false_negatives,
        "predicted_positives": true_positives + false_positives,
        "predicted_negatives": true_negatives + false_negatives,
        "positives": true_positives + false_negatives,
        "negatives": true_negatives + false_positives,
        "n": true_positives + true_negatives + false_positives + false_negatives,
    }


def check(constraint: str, objective: str) -> None:
    """fairlearn's ValueError for a constraint or objective it does not support."""
    if constraint in SIMPLE_CONSTRAINTS:
        if objective not in SIMPLE_OBJECTIVES:
            raise ValueError(f"For {constraint} only the following objectives are supported: "
                             f"{', '.join(sorted(SIMPLE_OBJECTIVES))}.")
    elif constraint == "equalized_odds":
        if objective not in EQUALIZED_ODDS_OBJECTIVES:
            raise ValueError("For equalized_odds only the following objectives are supported: "
                             f"{', '.join(sorted(EQUALIZED_ODDS_OBJECTIVES))}.")
    else:
        names = sorted([*SIMPLE_CONSTRAINTS, "equalized_odds"])
        raise ValueError(f"Currently only the following constraints are supported: {', '.join(names)}.")


def fit(
    scores: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    constraint: str = "demographic_parity",
    objective: str = "accuracy_score",
    grid_size: int = 1000,
) -> dict[object, GroupRule]:
    """Each group's rule, keyed and ordered by group value as fairlearn's
    ``interpolated_thresholder_.interpolation_dict`` is.

    ``labels`` are 0/1; ``groups`` any sortable values (one per row). A group whose rows
    all have one label raises fairlearn's ``ValueError("Degenerate labels ...")``.
    """
    check(constraint, objective)
    scores = np.asarray(scores, dtype=float)
    labels = np.asarray(labels).astype(np.int64)
    values, codes = np.unique(np.asarray(groups), return_inverse=True)  # sorted, as groupby
    codes = codes.reshape(-1)
    order = np.lexsort((-scores, codes))  # by group, each by descending score
    starts = np.searchsorted(codes[order], np.arange(len(values) + 1))
    x_grid = np.linspace(0, 1, grid_size + 1)
    equalized = constraint == "equalized_odds"
    x_metric = "false_positive_rate" if equalized else SIMPLE_CONSTRAINTS[constraint]
    y_metric = "true_positive_rate" if equalized else objective
    curves = []
    for k, value in enumerate(values):
        rows = order[starts[k] : starts[k + 1]]
        points = _tradeoff_points(scores[rows], labels[rows], value, x_metric, y_metric)
        curves.append(_interpolate(*_upper_hull(*points), x_grid))
    if equalized:
        return _equalized_odds(values, curves, labels, x_grid, objective)
    weighted = [(starts[k + 1] - starts[k]) / len(labels) * curve[1] for k, curve in enumerate(curves)]
    overall = functools.reduce(np.add, weighted)  # fairlearn's column sum: group by group, in order
    best = int(np.nanargmax(overall))
    return {value: GroupRule(*_at(curve, best)) for value, curve in zip(values.tolist(), curves, strict=True)}


def predict(rules: dict[object, GroupRule], scores: np.ndarray, groups: np.ndarray, random_state: int) -> np.ndarray:
    """fairlearn's ``InterpolatedThresholder.predict`` with an int ``random_state``: each
    row positive when its group's probability of a positive is at least a uniform draw from
    ``numpy.random.RandomState(random_state)``; rows of a group without a rule are 0."""
    scores = np.asarray(scores, dtype=float)
    groups = np.asarray(groups)
    positive = 0.0 * scores
    for value, rule in rules.items():
        mixed = rule.p0 * rule.operation0(scores) + rule.p1 * rule.operation1(scores)
        if rule.p_ignore is not None:
            mixed = rule.p_ignore * rule.prediction_constant + (1 - rule.p_ignore) * mixed
        mask = groups == value
        positive[mask] = mixed[mask]
    return (positive >= np.random.RandomState(random_state).rand(len(positive))) * 1


def _tradeoff_points(
    scores: np.ndarray, labels: np.ndarray, value: object, x_metric: str, y_metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, threshold) at +inf and below each distinct score, sorted by (x, y)."""
    n = len(labels)
    n_positive = int(labels.sum())
    n_negative = n - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError(f"Degenerate labels for sensitive feature value {value}")
    last = np.flatnonzero(np.r_[scores[1:] != scores[:-1], True])  # each distinct score's last row
    distinct = scores[last]
    tp = np.r_[0, np.cumsum(labels)[last]]
    fp = np.r_[0, last + 1] - tp
    thresholds = np.r_[np.inf, (distinct + np.r_[distinct[1:], -np.inf]) / 2]
    counts = extend_counts(tp, fp, n_negative - fp, n_positive - tp)
    x, y = METRICS[x_metric](counts), METRICS[y_metric](counts)
    by_xy = np.lexsort((y, x))  # stable, as the sort on ["x", "y"]
    return x[by_xy], y[by_xy], thresholds[by_xy]


def _upper_hull(x: np.ndarray, y: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, ...]:
    """Andrew's monotone chain over points sorted by (x, y), as fairlearn's
    ``_filter_points_to_get_convex_hull``: a middle point on or below the chord is dropped."""
    xs, ys = x.tolist(), y.tolist()
    kept: list[int] = []
    for i, (x2, y2) in enumerate(zip(xs, ys, strict=True)):
        while len(kept) >= 2:
            i0, i1 = kept[-2], kept[-1]
            x0, y0 = xs[i0], ys[i0]
            if (ys[i1] - y0) * (x2 - x0) <= (y2 - y0) * (xs[i1] - x0):
                kept.pop()
            else:
                break
        kept.append(i)
    return x[kept], y[kept], thresholds[kept]


def _interpolate(x: np.ndarray, y: np.ndarray, thresholds: np.ndarray, x_grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """The hull at each grid point, as fairlearn's ``_interpolate_curve``:
    (x, y, p0, threshold0, p1, threshold1) arrays over the grid."""
    indices = np.searchsorted(x, x_grid, side="right") - 1
    indices[1:] = np.where(x_grid[1:] == x[indices[1:]], indices[1:] - 1, indices[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = (x[indices + 1] - x_grid) / (x[indices + 1] - x[indices])
    p1 = 1 - p0
    y_grid = p0 * y[indices] + p1 * y[indices + 1]
    return x_grid, y_grid, p0, thresholds[indices], p1, thresholds[indices + 1]


def _at(curve: tuple[np.ndarray, ...], i: int) -> tuple[float, Operation, float, Operation]:
    _, _, p0, t0, p1, t1 = curve
    return float(p0[i]), Operation(float(t0[i])), float(p1[i]), Operation(float(t1[i]))


def _equalized_odds(
    values: np.ndarray, curves: list[tuple[np.ndarray, ...]], labels: np.ndarray, x_grid: np.ndarray, objective: str
) -> dict[object, GroupRule]:
    """The best point under every group's ROC hull (the lowest TPR at each FPR); a group
    above it mixes in a constant prediction with probability ``p_ignore`` to come down to it."""
    y_min = np.min(np.column_stack([curve[1] for curve in curves]), axis=1)
    n = len(labels)
    n_positive = int(labels.sum())
    n_negative = n - n_positive
    counts = extend_counts(
        true_positives=n_positive * y_min,
        false_positives=n_negative * x_grid,
        true_negatives=n_negative * (1.0 - x_grid),
        false_negatives=n_positive * (1.0 - y_min),
    )
    best = int(np.nanargmax(np.around(METRICS[objective](counts), 15)))
    x_best, y_best = float(x_grid[best]), float(y_min[best])
    rules = {}
    for value, curve in zip(values.tolist(), curves, strict=True):
        x, y = float(curve[0][best]), float(curve[1][best])
        p_ignore = 0.0 if y == x else (y - y_best) / (y - x)
        rules[value] = GroupRule(*_at(curve, best), p_ignore=p_ignore, prediction_constant=x_best)
    return rules
