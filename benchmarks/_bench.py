"""What every benchmark script prints: the machine, the library versions and a timing table.

Each script times its subject and the alternative a user would compare it with, several
runs each, and prints median, min and max side by side with the ratio. Run them on a
quiet machine (the load average is printed with the environment).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def environment(libraries: Iterable[str]) -> str:
    """Python and library versions, the CPU and the load average, as two lines."""
    libs = ", ".join(f"{n} {_version(n)}" for n in libraries)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"python {platform.python_version()}, {libs}\nCPU: {cpu_model()}, {os.cpu_count()} logical cores; "
            f"load average {load}")


def timed(
    fn: Callable[[], Any],
    runs: int,
    cpu: list[float] | None = None,
    before: Callable[[], Any] | None = None,
    results: list[Any] | None = None,
) -> list[float]:
    """Wall seconds of ``runs`` calls of ``fn``; their CPU seconds go to ``cpu`` if given,
    and what the last call returned to ``results`` (one item: holding on to every call's
    result makes each call fault in fresh memory, which the 1M-row group metrics showed as
    twice the time); ``before`` runs ahead of each call, untimed."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
        if results is not None:
            results[:] = [result]
        del result
    return times


class Table:
    """A side-by-side table: one row per method, median / min / max seconds, ratio, note."""

    def __init__(self, first: str = "method", width: int = 52) -> None:
        self.width = width
        header = f"{first:<{width}} {'median s':>9} {'min s':>8} {'max s':>8}  {'ratio':>7}  note"
        print(header)
        print("-" * len(header))

    def row(self, name: str, times: list[float], reference: float | None = None, note: str = "") -> float:
        """Print one row; ``reference`` is the baseline's median (ratio = reference / this median)."""
        med = statistics.median(times)
        ratio = f"{reference / med:>6.1f}x" if reference else " " * 7
        print(f"{name:<{self.width}} {med:>9.3f} {min(times):>8.3f} {max(times):>8.3f}  {ratio}  {note}".rstrip())
        sys.stdout.flush()
        return med
