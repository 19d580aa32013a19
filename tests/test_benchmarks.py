"""The benchmark scripts still start: each imports what it needs (from its neighbours too)
and parses its command line. They time things, so they are run by hand, never here; this
only catches a script broken by a change elsewhere before a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


def test_every_target_has_its_script() -> None:
    names = {p.stem for p in BENCHMARKS}
    assert {"bench_group_metrics", "bench_bootstrap", "bench_inference", "bench_startup", "bench_reports",
            "bench_e2e"} <= names


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_the_script_starts_and_explains_itself(script: Path) -> None:
    proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage:") and "--" in proc.stdout


def test_the_e2e_chart_splits_a_run_as_its_timings_say(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS[0].parent))
    try:
        import bench_e2e
    finally:
        sys.path.pop(0)
    timings = {"load_model": 0.3, "load_data": 0.4, "predict": 17.0, "predict_inference": 15.8,
               "assess": 12.0, "value": 0.5, "inference": 24.0, "inference_cpu": 46.0}
    parts = bench_e2e.time_split(34.0, timings)
    # by hand: loading 0.3 + 0.4 + (17.0 - 15.8); assessment 12.0 - (24.0 - 15.8); the rest of 34 s
    expected = {"model calls (inference)": 24.0, "loading the model and data": 1.9,
                "assessment beyond model calls": 3.8, "valuation": 0.5, "start-up, reports, exit": 3.8}
    assert parts == pytest.approx(expected)
    assert sum(parts.values()) == pytest.approx(34.0)
    chart = tmp_path / "e2e.svg"
    bench_e2e.draw_chart(chart, (34.0, timings), (7.5, {"predict": 0.1, "assess": 2.0}), 7.0, "all formats")
    svg = chart.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "target: inference + 15" in svg
