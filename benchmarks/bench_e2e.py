"""End to end: `auditkit run` on the demo model with 10,000 evaluation rows.

The demo model (``auditkit demo``'s MiniLM toxicity classifier; pass ``--model`` to use one
you trained, otherwise ``auditkit demo --quick`` builds one, about a minute) is copied with
its audit config, and its madlibs evaluation file is grown to 10,000 distinct sentences the
way the madlibs were made: each template sentence with its identity term swapped for
another of the 50. Then the real CLI runs as a user types it:

1. a cold run (empty output folder, so no cache), all formats (JSON, Markdown, HTML, PDF;
   ``--format json`` shows what the audit costs without the reports);
2. the same run again, which takes every prediction from the caches.

Inference is every model call of the run, in any phase (the evaluation rows, the
counterfactual variants, the membership samples), as the runner records it in
``audit.json`` ``timings.inference``; "beyond inference" is the rest of the wall time of
the whole command, process start-up included. Its CPU time (the command's and its PDF
workers' CPU less what the command used during model calls, ``timings.inference_cpu``)
divided by the cores is the least wall time that work could take, were it spread
perfectly over every core. For scale, the last row is the model's own
inference the usual way: a fresh process that loads the model with
``transformers.pipeline("text-classification")`` and classifies the same evaluation
texts (no audit at all).

    python benchmarks/bench_e2e.py                      # builds a demo model first
    python benchmarks/bench_e2e.py --model auditkit-demo --runs 3
    python benchmarks/bench_e2e.py --model auditkit-demo --chart e2e.svg   # and where the time goes

``--chart`` draws the median cold run and its re-run as bars split into model calls and
the rest (start-up and loading, assessment beyond the model calls, valuation, reports),
with the target (inference + 15 %) and the CPU floor of the work beyond inference marked.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench

ROWS = 10_000
ALL_FORMATS = "html,pdf,json,md"


def demo_model(folder: Path) -> Path:
    subprocess.run(
        ["auditkit", "demo", "--quick", "--out", str(folder / "demo"), "--reports", str(folder / "demo-reports")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return folder / "demo"


def grow_madlibs(frame: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` distinct sentences: the originals, then each (shuffled) sentence with its
    identity term swapped for the next term, the one after, and so on."""
    terms = sorted(frame["identity"].dropna().unique())
    order = frame.sample(frac=1, random_state=seed).to_dict("records")
    seen, extra = set(frame["text"]), []
    for shift in range(1, len(terms)):
        for record in order:
            if len(frame) + len(extra) >= rows:
                return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
            term = terms[(terms.index(record["identity"]) + shift) % len(terms)]
            text = str(record["text"]).replace(str(record["identity"]), term)
            if text not in seen:
                seen.add(text)
                extra.append({**record, "text": text, "identity": term})
    return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


def write_full_audit_config(model: Path) -> None:
    """The demo's audit settings without --quick's sampling: every row is audited."""
    from auditkit.plugins.assess.training.demo import audit_config
    from auditkit.plugins.assess.training.records import toml_document

    (model / "auditkit.toml").write_text(toml_document(audit_config(pairs=True), []), encoding="utf-8")


def timed_run(model: Path, out: Path, formats: str = ALL_FORMATS) -> tuple[float, float, dict[str, float]]:
    """Wall seconds, CPU seconds of the command and every process it waited for (its PDF
    and what-if workers), and the run's audit.json timings."""
    start, before = time.perf_counter(), _children_cpu()
    command = ["auditkit", "run", str(model), "--out", str(out), "--format", formats, "-q"]
    proc = subprocess.run(command, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - before
    if proc.returncode not in (0, 1):
        raise SystemExit(f"auditkit run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    audit = json.loads((out / model.name / "audit.json").read_text(encoding="utf-8"))
    return wall, cpu, audit["timings"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PIPELINE = """
import sys, pandas as pd
from transformers import pipeline
texts = pd.read_csv(sys.argv[2])["text"].astype(str).tolist()
classify = pipeline("text-classification", model=sys.argv[1], device="cpu")
classify(texts, batch_size=32, truncation=True)
"""


def pipeline_run(model: Path) -> float:
    """Wall seconds of a fresh process: load with transformers.pipeline, classify every text."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PIPELINE, str(model), str(model / "madlibs.csv")],
                   check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return time.perf_counter() - start


def row(name: str, values: list[float], note: str = "") -> str:
    return (f"{name:<44} {statistics.median(values):>9.2f} {min(values):>8.2f} {max(values):>8.2f}  {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a demo model dir (default: build one with auditkit demo --quick)")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--runs", type=int, default=3, help="cold runs, each followed by a cached re-run")
    parser.add_argument("--format", default=ALL_FORMATS, help="auditkit run --format (default: all)")
    parser.add_argument("--pipeline-runs", type=int, default=1, help="runs of the pipeline reference (0: none)")
    parser.add_argument("--chart", type=Path, help="also draw where the median cold run's time goes (an SVG file)")
    args = parser.parse_args(argv)
    print(_bench.environment(("torch", "transformers", "fairlearn", "weasyprint", "matplotlib")))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = args.model or demo_model(work)
        model = work / "demo-10k"
        shutil.copytree(source, model, ignore=shutil.ignore_patterns("auditkit-reports"))
        write_full_audit_config(model)
        madlibs = pd.read_csv(model / "madlibs.csv")
        grow_madlibs(madlibs, args.rows).to_csv(model / "madlibs.csv", index=False)
        rows = len(pd.read_csv(model / "madlibs.csv"))
        walls, inference, beyond, beyond_cpu, rerun, phases, rerun_phases = [], [], [], [], [], [], []
        for i in range(args.runs):
            out = work / f"out-{i}"
            wall, cpu, timings = timed_run(model, out, args.format)
            walls.append(wall)
            inference.append(timings["inference"])
            beyond.append(wall - timings["inference"])
            beyond_cpu.append(cpu - timings["inference_cpu"])
            phases.append(timings)
            again, _, again_timings = timed_run(model, out, args.format)
            rerun.append(again)
            rerun_phases.append(again_timings)
            sys.stdout.flush()
        usual = [pipeline_run(model) for _ in range(args.pipeline_runs)]
    share = [b / i for b, i in zip(beyond, inference, strict=True)]
    shown = "all formats (json, md, html, pdf)" if args.format == ALL_FORMATS else f"--format {args.format}"
    print(f"\n{rows:,} evaluation rows, {shown}\n")
    header = f"{'':<44} {'median s':>9} {'min s':>8} {'max s':>8}"
    print(header)
    print("-" * len(header))
    print(row("cold run: whole command", walls))
    print(row("  inference (every model call)", inference))
    print(row("  beyond inference", beyond, f"{statistics.median(share):.0%} of inference (target < 15%)"))
    cores = len(os.sched_getaffinity(0))
    floor = statistics.median(beyond_cpu) / cores / statistics.median(inference)
    print(row("  beyond inference, CPU s (every process)", beyond_cpu,
              f"on {cores} cores at least {floor:.0%} of inference, however well overlapped"))
    print(row("re-run with the caches: whole command", rerun, "(target < 10 s)"))
    if usual:
        share = statistics.median(walls) / statistics.median(usual)
        print(row("pipeline: load + classify, no audit", usual, f"(the usual way; the cold audit takes {share:.0%})"))
    middle = sorted(range(args.runs), key=walls.__getitem__)[args.runs // 2]  # the median cold run
    last = phases[middle]
    if args.chart:
        cold = (walls[middle], last)
        again = (rerun[middle], rerun_phases[middle])
        draw_chart(args.chart, cold, again, beyond_cpu[middle] / cores, shown)
        print(f"chart: {args.chart}")
    print("\nphases of the median cold run (audit.json timings, s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in last.items() if "." not in k))
    print("per plugin: " + ", ".join(f"{k} {v:.2f}" for k, v in last.items() if "." in k))
    return 0


def time_split(wall: float, timings: dict[str, float]) -> dict[str, float]:
    """A run's wall time in parts: its model calls, and the rest by phase. Model calls made
    while assessing (counterfactual variants, membership samples) count as inference; the
    part of the predict phase that is no model call (the model's deferred load, the
    prediction cache) counts as loading."""
    inference = timings.get("inference", 0.0)
    predicting = timings.get("predict_inference", 0.0)
    loading = timings.get("load_model", 0.0) + timings.get("load_data", 0.0)
    loading += max(0.0, timings.get("predict", 0.0) - predicting)
    assessing = max(0.0, timings.get("assess", 0.0) - (inference - predicting))
    valuing = timings.get("value", 0.0)
    return {
        "model calls (inference)": inference,
        "loading the model and data": loading,
        "assessment beyond model calls": assessing,
        "valuation": valuing,
        "start-up, reports, exit": max(0.0, wall - inference - loading - assessing - valuing),
    }


def draw_chart(path: Path, cold: tuple[float, dict[str, float]], rerun: tuple[float, dict[str, float]],
               floor: float, shown: str) -> None:
    """Two stacked bars (cold run, re-run) with the cold target and CPU floor marked."""
    from auditkit.charts import PALETTE, new_figure

    fig, ax = new_figure(7.2, 2.8)
    bars = {"cold run": time_split(*cold), "re-run (caches)": time_split(*rerun)}
    for y, parts in enumerate(reversed(list(bars.values()))):
        left = 0.0
        for colour, (part, seconds) in zip(PALETTE, parts.items(), strict=False):
            ax.barh(y, seconds, left=left, color=colour, label=part if y == 0 else None, height=0.55)
            left += seconds
        ax.text(left + 0.3, y, f"{left:.1f} s", va="center", fontsize=8)
    inference = cold[1].get("inference", 0.0)
    ax.axvline(inference * 1.15, color="black", linestyle="--", linewidth=1)
    ax.text(inference * 1.15, 1.42, " target: inference + 15 %", fontsize=7.5, va="bottom")
    ax.axvline(inference + floor, color="black", linestyle=":", linewidth=1)
    ax.text(inference + floor, -0.42, " inference + CPU beyond it / cores", fontsize=7.5, va="top")
    ax.set_yticks(range(len(bars)), list(reversed(bars)))
    ax.set_ylim(-0.75, 1.75)
    ax.set_xlabel("seconds")
    ax.set_title(f"auditkit run, demo model, {shown}: where the time goes", fontsize=9, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize=7.5, frameon=False)
    fig.savefig(path, format="svg", bbox_inches="tight")


if __name__ == "__main__":
    if os.environ.get("AUDITKIT_DISABLE_PLUGIN_AUTOLOAD") is None:
        os.environ["AUDITKIT_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the built-ins only, as in the README figures
    raise SystemExit(main())
