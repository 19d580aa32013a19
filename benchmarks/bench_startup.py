"""Start-up: ``auditkit --help`` and ``auditkit plugins`` against loading the heavy stack.

The light commands import no heavy library (tests/test_meta.py checks ``sys.modules``),
so they cost little more than the interpreter itself. The comparison is what they
would cost if the host imported its plugins' libraries eagerly: ``import torch,
transformers, weasyprint, matplotlib, pandas, sklearn`` in a fresh interpreter. Every
command runs as a subprocess, as a user types it (the ``auditkit`` script next to this
interpreter), output discarded.

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --runs 20

Run it on a quiet machine: the table shows median, min and max of several runs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench

HEAVY = ("torch", "transformers", "weasyprint", "matplotlib", "pandas", "sklearn")
LIBRARIES = ("torch", "transformers", "weasyprint", "matplotlib", "pandas", "scikit-learn", "pluggy")
TARGETS = {"--help": 0.25, "plugins": 0.5}


def auditkit_command() -> list[str]:
    """The ``auditkit`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("auditkit")
    if script.exists():
        return [str(script)]
    found = shutil.which("auditkit")
    if found is None:
        raise SystemExit("auditkit is not installed in this environment (pip install -e .)")
    return [found]


def run(command: list[str]) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs of each auditkit command")
    parser.add_argument("--baseline-runs", type=int, default=5, help="runs of the heavy import")
    args = parser.parse_args(argv)
    print(_bench.environment(LIBRARIES))
    print("\nwall seconds of a fresh process, output discarded\n")
    auditkit = auditkit_command()
    heavy = [sys.executable, "-c", f"import {', '.join(HEAVY)}"]
    for command in ([*auditkit, "--help"], [*auditkit, "plugins"], heavy):
        run(command)  # warm the file cache
    table = _bench.Table(width=78)
    table.row("python -c pass (the interpreter alone)", _bench.timed(lambda: run([sys.executable, "-c", "pass"]),
                                                                    args.runs))
    base = table.row(f"python -c 'import {', '.join(HEAVY)}'",
                     _bench.timed(lambda: run(heavy), args.baseline_runs), note="the heavy stack, eagerly")
    missed = []
    for sub, target in TARGETS.items():
        times = _bench.timed(lambda sub=sub: run([*auditkit, sub]), args.runs)
        med = table.row(f"auditkit {sub}", times, reference=base, note=f"target {target:.2f} s")
        if med > target:
            missed.append(f"auditkit {sub}")
    print("\nratio = heavy-stack import median / command median.")
    print("targets missed: " + ", ".join(missed) if missed else "both targets met (median).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
