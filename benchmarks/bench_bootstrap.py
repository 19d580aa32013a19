"""Bootstrap intervals: the multinomial draw over cells against resampling rows.

Resampling n rows with replacement only changes how many rows land in each
(group, label, prediction) cell, and those counts are Multinomial(n, cell shares): one
draw per replicate, whatever n is. The baselines resample rows: the fastest numpy way
(draw n row indices, count the cells they hit: the same counts, so the same metrics
follow) and fairlearn's own ``MetricFrame(n_boot=...)``. Row resampling at 10M rows for
1,000 replicates takes minutes, so the baselines run a few replicates and the table
projects their time per 1,000 (marked "projected").

    python benchmarks/bench_bootstrap.py                 # 10M rows, 1,000 replicates
    python benchmarks/bench_bootstrap.py --rows 1000000 --runs 5

The equality in distribution of the two bootstraps is a test
(tests/plugins/test_fairness_bootstrap.py); this script is about time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench
from bench_group_metrics import make_data


def auditkit(y: np.ndarray, yhat: np.ndarray, frame: pd.DataFrame, n_boot: int) -> object:
    from auditkit.plugins.assess.fairness.api import group_fairness

    return group_fairness(y, yhat, frame, classes=["0", "1"], positive="1", bootstrap=n_boot, seed=1)


def bootstrap_stage(y: np.ndarray, yhat: np.ndarray, frame: pd.DataFrame, n_boot: int):
    """The bootstrap alone, from the cell table a call has already built: draws → intervals."""
    from auditkit.plugins.assess.fairness import assess, engine
    from auditkit.plugins.assess.fairness.groups import build_groupings

    inputs = assess.label_inputs(y, yhat, ["0", "1"], "1")
    groupings = build_groupings(frame, ["a", "b"])
    cells = engine.confusion_cells(groupings, inputs.y, inputs.yhat, 2)

    def stage() -> None:
        aggregators = [engine.Aggregator(cells, g) for g in groupings]
        metric_fn = partial(engine.confusion_metrics, classes=["0", "1"], binary=True)
        for reps in engine.bootstrap(cells, aggregators, metric_fn, n_boot, seed=1):
            for values in reps.values():
                engine.percentile_ci(values, 0.95)

    return stage, len(cells.counts)


def row_resampling(y: np.ndarray, yhat: np.ndarray, frame: pd.DataFrame, n_boot: int) -> np.ndarray:
    """Draw n row indices per replicate and count the (group, label, prediction) cells hit."""
    a = pd.factorize(frame["a"])[0]
    b = pd.factorize(frame["b"])[0]
    cell = ((a * 2 + b) * 2 + y) * 2 + yhat
    size = int(cell.max()) + 1
    rng = np.random.default_rng(1)
    out = np.empty((n_boot, size), dtype=np.int64)
    for r in range(n_boot):
        out[r] = np.bincount(cell[rng.integers(0, len(cell), size=len(cell))], minlength=size)
    return out


def metricframe_boot(y: np.ndarray, yhat: np.ndarray, frame: pd.DataFrame, n_boot: int) -> object:
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    return MetricFrame(
        metrics={"selection_rate": selection_rate, "accuracy": accuracy_score,
                 "precision": partial(precision_score, zero_division=np.nan),
                 "tpr": partial(recall_score, zero_division=np.nan), "fpr": false_positive_rate},
        y_true=y, y_pred=yhat, sensitive_features=frame[["a", "b"]],
        **({"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": 1} if n_boot else {}),
    )


def row(rows: int, name: str, times: list[float], scale: float = 1.0, note: str = "") -> float:
    med = statistics.median(times) * scale
    print(f"{rows:>11,}  {name:<44} {med:>10.3f} {min(times) * scale:>10.3f} {max(times) * scale:>10.3f}  {note}")
    sys.stdout.flush()
    return med


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--boot", type=int, default=1000, help="replicates")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--row-replicates", type=int, default=10, help="replicates timed for the row baseline")
    parser.add_argument("--metricframe-rows", type=int, default=100_000)
    parser.add_argument("--metricframe-boot", type=int, default=3)
    args = parser.parse_args(argv)
    print(_bench.environment(("numpy", "pandas", "scikit-learn", "fairlearn")))
    print(f"\nseconds for {args.boot:,} replicates, two sensitive features (10 groups) and their intersection\n")
    header = f"{'rows':>11}  {'method':<44} {'median s':>10} {'min s':>10} {'max s':>10}  note"
    print(header)
    print("-" * len(header))
    y, yhat, frame = make_data(args.rows)
    auditkit(y[:1000], yhat[:1000], frame.iloc[:1000], 10)  # warm imports
    row(args.rows, "auditkit, no intervals (all metrics)", _bench.timed(lambda: auditkit(y, yhat, frame, 0), args.runs))
    ours = row(args.rows, f"auditkit, {args.boot:,} multinomial replicates",
               _bench.timed(lambda: auditkit(y, yhat, frame, args.boot), args.runs))
    stage, n_cells = bootstrap_stage(y, yhat, frame, args.boot)
    only = row(args.rows, f"auditkit bootstrap stage only ({n_cells} cells)", _bench.timed(stage, args.runs),
               note="draws, metrics of 3 groupings, intervals")
    k = args.row_replicates
    scale = args.boot / k
    rows_med = row(args.rows, f"row resampling (numpy bincount), {k} replicates",
                   _bench.timed(lambda: row_resampling(y, yhat, frame, k), args.runs), scale,
                   note=f"projected to {args.boot:,} replicates")
    print(f"\nrow resampling / auditkit bootstrap stage: {rows_med / only:,.0f}x; "
          f"row resampling / auditkit call with intervals: {rows_med / ours:,.0f}x")
    m = args.metricframe_rows
    yy, pp, ff = y[:m], yhat[:m], frame.iloc[:m]
    nb = args.metricframe_boot
    plain = _bench.timed(lambda: metricframe_boot(yy, pp, ff, 0), 1)[0]
    with_boot = _bench.timed(lambda: metricframe_boot(yy, pp, ff, nb), 1)[0]
    projected = plain + (with_boot - plain) / nb * args.boot  # the fit once, then per replicate
    mf = row(m, f"fairlearn MetricFrame, timed with n_boot=0 and {nb}", [projected],
             note=f"projected to {args.boot:,} replicates")
    small = row(m, f"auditkit, {args.boot:,} multinomial replicates",
                _bench.timed(lambda: auditkit(yy, pp, ff, args.boot), args.runs))
    print(f"\nMetricFrame (projected) / auditkit at {m:,} rows: {mf / small:,.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
