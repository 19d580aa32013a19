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
