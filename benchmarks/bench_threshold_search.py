"""The what-if's threshold fit and prediction: auditkit's NumPy port against fairlearn's
ThresholdOptimizer, on the same rows, side by side.

Both fit per-group thresholds for demographic parity and for equalized odds on the
fitting rows and predict the held-out rows (random_state 0); each row checks that the two
give the same rules and predictions before it is printed. fairlearn's import (with
scikit-learn and SciPy) is not timed: it is done before the first run.

    python benchmarks/bench_threshold_search.py                       # 100k and 500k rows, 10 groups
    python benchmarks/bench_threshold_search.py --rows 50000 --decimals 2 --runs 5

Run it on a quiet machine: the table shows median, min and max of the runs.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench


def make_rows(rows: int, groups: int, decimals: int | None, seed: int) -> tuple[np.ndarray, ...]:
    """Scores that depend on the label and the group (continuous, or rounded: many ties)."""
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array([f"g{i}" for i in range(groups)], dtype=object), size=rows)
    y = (rng.random(rows) < 0.35).astype(int)
    s = np.clip(0.3 + 0.35 * y + 0.03 * (g == "g1") + 0.25 * rng.standard_normal(rows), 0, 1)
    return (s if decimals is None else s.round(decimals)), y, g


def numpy_fit(s: np.ndarray, y: np.ndarray, g: np.ndarray, held: tuple[np.ndarray, ...], constraint: str) -> tuple:
    from auditkit.plugins.assess.fairness import threshold_search

    rules = threshold_search.fit(s, y, g, constraint)
    return rules, threshold_search.predict(rules, held[0], held[2], random_state=0)


def fairlearn_fit(s: np.ndarray, y: np.ndarray, g: np.ndarray, held: tuple[np.ndarray, ...], constraint: str) -> tuple:
    from auditkit.plugins.assess.fairness.mitigation import score_model
    from fairlearn.postprocessing import ThresholdOptimizer

    optimizer = ThresholdOptimizer(
        estimator=score_model()(), constraints=constraint, prefit=True, predict_method="predict"
    )
    optimizer.fit(pd.DataFrame({"score": s}), y, sensitive_features=g)
    predicted = optimizer.predict(pd.DataFrame({"score": held[0]}), sensitive_features=held[2], random_state=0)
    return optimizer.interpolated_thresholder_.interpolation_dict, predicted


def same(ours: tuple, theirs: tuple) -> bool:
    """The same rule for every group (probabilities and thresholds) and the same predictions."""
    rules, bunches = ours[0], theirs[0]
    if list(rules) != list(bunches) or not np.array_equal(ours[1], theirs[1]):
        return False
    for group, bunch in bunches.items():
        rule = rules[group]
        got = [rule.p0, rule.operation0.threshold, rule.p1, rule.operation1.threshold]
        want = [bunch.p0, bunch.operation0.threshold, bunch.p1, bunch.operation1.threshold]
        if not np.array_equal(got, want, equal_nan=True):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 500_000], help="fitting rows")
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--decimals", type=int, default=None, help="round the scores (default: continuous)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(_bench.environment(("numpy", "pandas", "scikit-learn", "fairlearn")))
    print()
    import fairlearn.postprocessing  # noqa: F401  (the import is not what is timed)

    table = _bench.Table(width=66)
    for rows in args.rows:
        fit_rows = make_rows(rows, args.groups, args.decimals, seed=0)
        held = make_rows(rows, args.groups, args.decimals, seed=1)
        for constraint in ("demographic_parity", "equalized_odds"):
            theirs: list = []
            ours: list = []
            job = (*fit_rows, held, constraint)
            base = _bench.timed(partial(fairlearn_fit, *job), args.runs, results=theirs)
            mine = _bench.timed(partial(numpy_fit, *job), args.runs, results=ours)
            label = f"{rows:,} rows, {constraint}"
            reference = table.row(f"fairlearn ThresholdOptimizer, {label}", base)
            note = "same rules and predictions" if same(ours[0], theirs[0]) else "DIFFERENT RESULT"
            table.row(f"auditkit threshold_search, {label}", mine, reference, note)
    print("\nratio = fairlearn median / auditkit median; each: fit on the rows, predict as many held-out rows.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
