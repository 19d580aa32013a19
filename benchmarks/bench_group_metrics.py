"""Group metrics: auditkit's one-pass count engine against fairlearn's MetricFrame.

Both compute five confusion-matrix metrics (selection rate, accuracy, precision, TPR,
FPR) per group over two sensitive features (5 x 2 = 10 intersectional groups) plus the
differences between groups. auditkit also computes every other count metric (base rate,
FNR, F1), each feature alone and all its disparities in the same call, so it does more
work, not less. The values are checked equal (max |difference| is printed).

    python benchmarks/bench_group_metrics.py                  # 100k and 1M rows
    python benchmarks/bench_group_metrics.py --rows 100000 --runs 5 --baseline-runs 3

Run it on a quiet machine: the table shows median, min and max of several runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench


def make_data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """0/1 labels and predictions; two str sensitive columns as read from a CSV (10 groups)."""
    rng = np.random.default_rng(seed)
    a = rng.choice(["a0", "a1", "a2", "a3", "a4"], size=rows, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    b = rng.choice(["x", "y"], size=rows, p=[0.6, 0.4])
    y = (rng.random(rows) < 0.35).astype(np.int64)
    yhat = np.where(rng.random(rows) < 0.2, 1 - y, y)
    return y, yhat, pd.DataFrame({"a": a, "b": b})


METRICS = ("selection_rate", "accuracy", "precision", "tpr", "fpr")


def run_metricframe(y: np.ndarray, yhat: np.ndarray, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    mf = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "accuracy": accuracy_score,
            "precision": partial(precision_score, zero_division=np.nan),
            "tpr": partial(recall_score, zero_division=np.nan),
            "fpr": false_positive_rate,
        },
        y_true=y,
        y_pred=yhat,
        sensitive_features=frame[["a", "b"]],
    )
    return mf.by_group, mf.difference()


def run_auditkit(y: np.ndarray, yhat: np.ndarray, frame: pd.DataFrame) -> object:
    from auditkit.plugins.assess.fairness.api import group_fairness

    return group_fairness(y, yhat, frame[["a", "b"]], classes=["0", "1"], positive="1", bootstrap=0)


def max_difference(ours: object, theirs: tuple[pd.DataFrame, pd.Series]) -> float:
    """Largest |auditkit − fairlearn| over every intersectional group, metric and difference."""
    view = ours.view("a & b")  # type: ignore[attr-defined]
    by_group, difference = theirs
    worst = 0.0
    for key, row in by_group.iterrows():
        label = " & ".join(map(str, key))
        if label in view.grouping.groups:
            g = view.grouping.groups.index(label)
            worst = max(worst, *(abs(float(view.point[m][g]) - float(row[m])) for m in METRICS))
    for m in METRICS:
        ours_d = float(np.nanmax(view.point[m]) - np.nanmin(view.point[m]))
        worst = max(worst, abs(ours_d - float(difference[m])))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=7, help="runs of the auditkit engine")
    parser.add_argument("--baseline-runs", type=int, default=3, help="runs of MetricFrame")
    args = parser.parse_args(argv)
    print(_bench.environment(("numpy", "pandas", "scikit-learn", "fairlearn")))
    print()
    header = f"{'rows':>10}  {'method':<30} {'median s':>10} {'min s':>10} {'max s':>10}  {'ratio':>9}  max |diff|"
    print(header)
    print("-" * len(header))
    y, yhat, frame = make_data(1000)
    run_auditkit(y, yhat, frame)  # warm the imports for both sides
    run_metricframe(y, yhat, frame)
    for rows in args.rows:
        y, yhat, frame = make_data(rows)
        ours: list[Any] = []
        base: list[Any] = []
        ours_t = _bench.timed(lambda: run_auditkit(y, yhat, frame), args.runs, results=ours)  # noqa: B023
        base_t = _bench.timed(lambda: run_metricframe(y, yhat, frame), args.baseline_runs, results=base)  # noqa: B023
        diff = max_difference(ours[-1], base[-1])
        ratio = statistics.median(base_t) / statistics.median(ours_t)
        for name, times, note in (
            ("fairlearn MetricFrame", base_t, ""),
            ("auditkit count engine", ours_t, f"{ratio:>8,.0f}x  {diff:.1e}"),
        ):
            print(f"{rows:>10,}  {name:<30} {statistics.median(times):>10.4f} {min(times):>10.4f} "
                  f"{max(times):>10.4f}  {note}")
        sys.stdout.flush()
    print("\nratio = MetricFrame median / auditkit median; max |diff| over every group and metric.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
