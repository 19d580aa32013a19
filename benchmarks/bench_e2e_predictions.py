"""A whole audit of 1M prediction rows against one fairlearn MetricFrame on the same rows.

A predictions-mode model dir (a vendor's scores file, no weights) is built with two
sensitive features (5 x 2 = 10 intersectional groups), and the real CLI runs as a user
types it, in a fresh process each time:

    auditkit run DIR --format json -p no:privacy -p no:training

That is the whole audit: reading and checking the file, every count metric with 1,000
bootstrap replicates, subgroup/BPSN/BNSP AUCs with their intervals, the disparities and
F, the ThresholdOptimizer what-if (fitted by auditkit's NumPy port of fairlearn's algorithm,
the same thresholds and predictions), valuation, policy and audit.json. Beside it, in this
process, one fairlearn ``MetricFrame`` of point estimates only (selection rate, TPR, FPR,
accuracy by the two features) on the same rows, already in memory (reading them is not
timed). The ratio is MetricFrame / audit. Peak RSS is that of the audit's process alone.

    python benchmarks/bench_e2e_predictions.py                     # 1M rows, 2 audit runs
    python benchmarks/bench_e2e_predictions.py --rows 10000000 --runs 1 --baseline-runs 0   # memory at 10M
    python benchmarks/bench_e2e_predictions.py --without-what-if   # and a row with [fairness] mitigation = false
    python benchmarks/bench_e2e_predictions.py --fairlearn-what-if  # and a row fitting with fairlearn's own class

Run it on a quiet machine: the table shows median, min and max of the runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench

# a fresh parent whose only child is auditkit, so RUSAGE_CHILDREN is that child's peak
# (and its helper processes', each on its own)
MEASURE = """
import resource, subprocess, sys
cli = "import sys; from auditkit.cli import main; sys.exit(main())"
code = subprocess.call([sys.executable, "-c", cli, *sys.argv[1:]])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Scores, outcomes and two sensitive columns (10 groups) with a group effect to find."""
    rng = np.random.default_rng(seed)
    a = rng.choice(np.array(["a0", "a1", "a2", "a3", "a4"]), size=rows, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    b = rng.choice(np.array(["x", "y"]), size=rows, p=[0.6, 0.4])
    outcome = (rng.random(rows) < 0.35).astype(np.int8)
    shift = 0.05 * (a == "a4") - 0.03 * (b == "y")
    score = np.clip(0.3 + 0.35 * outcome + shift + 0.25 * rng.standard_normal(rows), 0, 1).round(4)
    return pd.DataFrame({"score": score, "outcome": outcome, "a": a, "b": b})


def write_model_dir(folder: Path, frame: pd.DataFrame, fmt: str) -> Path:
    """The predictions-mode dir: the data file and an auditkit.toml naming its columns."""
    folder.mkdir(parents=True)
    name = f"scores.{fmt}"
    if fmt == "parquet":
        frame.to_parquet(folder / name, index=False)
    else:
        frame.to_csv(folder / name, index=False)
    (folder / "auditkit.toml").write_text(
        f'[data]\npath = "{name}"\nlabel = "outcome"\nsensitive = ["a", "b"]\n\n'
        f'[predictions]\nfile = "{name}"\nscore = "score"\nthreshold = 0.5\n',
        encoding="utf-8",
    )
    return folder


def third_party_plugins() -> list[str]:
    """Plugins installed in this environment besides the built-ins (the example calibration
    plugin, say): the benchmark times auditkit's own audit, so they are blocked."""
    from importlib.metadata import entry_points

    from auditkit.manager import BUILTIN_PLUGINS

    builtin = {name for name, _ in BUILTIN_PLUGINS}
    return sorted({e.name for e in entry_points(group="auditkit")} - builtin)


def run_audit(model_dir: Path, out: Path, peaks: list[float], blocked: list[str], extra: tuple[str, ...] = ()) -> dict:
    """One cold `auditkit run` in a fresh process; its peak RSS (bytes) goes to ``peaks``."""
    shutil.rmtree(out, ignore_errors=True)
    args = ["run", str(model_dir), "--out", str(out), "--format", "json", "-q", "-p", "no:privacy", "-p", "no:training"]
    args += [arg for name in blocked for arg in ("-p", f"no:{name}")] + list(extra)
    proc = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True, check=False)
    peak_kb, code = map(int, proc.stdout.split()[-2:])
    if code not in (0, 1):  # 1: a policy failed, which is a result, not an error
        raise SystemExit(f"auditkit run exited {code}:\n{proc.stderr[-2000:]}")
    peaks.append(peak_kb * 1024.0)
    return json.loads((out / model_dir.name / "audit.json").read_text(encoding="utf-8"))


def run_metricframe(frame: pd.DataFrame) -> pd.DataFrame:
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate
    from sklearn.metrics import accuracy_score, recall_score

    y = frame["outcome"].to_numpy()
    yhat = (frame["score"].to_numpy() >= 0.5).astype(np.int8)
    mf = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": partial(recall_score, zero_division=np.nan),
            "fpr": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=yhat,
        sensitive_features=frame[["a", "b"]],
    )
    return mf.by_group


def max_difference(audit: dict, by_group: pd.DataFrame) -> float:
    """Largest |audit − MetricFrame| over the intersectional groups and the four metrics."""
    rows = {r["group"]: r for r in audit["sections"]["fairness"]["groups"] if r["feature"] == "a & b"}
    worst = 0.0
    for key, row in by_group.iterrows():
        label = " & ".join(map(str, key))
        group = rows.get(label)
        if group is None:
            return float("nan")
        metrics = ("selection_rate", "tpr", "fpr", "accuracy")
        worst = max(worst, *(abs(float(group[m]) - float(row[m])) for m in metrics))
    return worst


def _load_average() -> list[str]:
    try:
        with open("/proc/loadavg", encoding="utf-8") as handle:
            return handle.read().split()[:3]
    except OSError:
        return ["?"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2, help="cold `auditkit run`s, each a fresh process")
    parser.add_argument("--baseline-runs", type=int, default=1, help="MetricFrame runs (0: skip)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="the scores file's format")
    parser.add_argument("--keep", type=Path, help="build the model dir here and keep it (default: a temporary dir)")
    parser.add_argument(
        "--without-what-if",
        action="store_true",
        help="also time the audit with --set fairness.mitigation=false (what the ThresholdOptimizer what-if costs)",
    )
    parser.add_argument(
        "--fairlearn-what-if",
        action="store_true",
        help="also time the audit with --set fairness.mitigation_engine=fairlearn (fairlearn's ThresholdOptimizer "
        "fits the what-if, in a warm process, instead of the NumPy port)",
    )
    args = parser.parse_args(argv)
    print(_bench.environment(("numpy", "pandas", "pyarrow", "scikit-learn", "fairlearn")))
    print()
    root = args.keep or Path(tempfile.mkdtemp(prefix="auditkit-bench-"))
    try:
        start = time.perf_counter()
        frame = make_frame(args.rows)
        model_dir = write_model_dir(root / f"vendor-{args.rows}", frame, args.format)
        size = (model_dir / f"scores.{args.format}").stat().st_size
        print(f"{args.rows:,} rows, {size / 1e6:.0f} MB {args.format}, built in {time.perf_counter() - start:.1f} s\n")
        table = _bench.Table(width=56)
        base_med = None
        diff = float("nan")
        if args.baseline_runs:
            run_metricframe(frame.head(1000))  # imports, untimed
            kept: list = []
            base_t = _bench.timed(lambda: run_metricframe(frame), args.baseline_runs, results=kept)
            base_med = table.row("fairlearn MetricFrame, 4 metrics by a x b (points)", base_t)
        peaks: list[float] = []
        audits: list[dict] = []
        blocked = third_party_plugins()
        if blocked:
            print(f"third-party plugins blocked (-p no:NAME): {', '.join(blocked)}\n")
        times = _bench.timed(lambda: run_audit(model_dir, root / "out", peaks, blocked), args.runs, results=audits)
        if args.baseline_runs:
            diff = max_difference(audits[-1], kept[-1])
        timings = audits[-1].get("timings", {})
        note = f"peak RSS {max(peaks) / 1e9:.2f} GB"
        table.row("auditkit run (whole audit, --format json)", times, base_med, note)
        if args.without_what_if:
            bare = ("--set", "fairness.mitigation=false")
            runs = _bench.timed(lambda: run_audit(model_dir, root / "out", [], blocked, bare), args.runs)
            table.row("  the same without the what-if (mitigation = false)", runs, base_med)
        if args.fairlearn_what_if:
            engine = ("--set", "fairness.mitigation_engine=fairlearn")
            runs = _bench.timed(lambda: run_audit(model_dir, root / "out", [], blocked, engine), args.runs)
            table.row("  the same, what-if fitted by fairlearn's class", runs, base_med)
        print("\nratio = MetricFrame median / audit median; audit median includes process start-up.")
        if not np.isnan(diff):
            print(f"max |audit − MetricFrame| over the 10 groups x 4 metrics: {diff:.1e}")
        if timings:
            print("audit.json timings:", json.dumps(timings)[:600])
        print("load average at the end:", " ".join(_load_average()))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
