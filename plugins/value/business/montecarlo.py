"""A seeded Monte Carlo over uncertain inputs, and a one-at-a-time tornado.

The Monte Carlo draws every parameter that has a distribution (in sorted name order from
one ``numpy.random.default_rng(seed)``, so a run is reproducible and adding a point
value changes nothing), clips draws to the parameter's bounds and counts the clipped
ones, and runs the caller's model once per draw. The tornado moves one input at a time
from low to high with all others at base: P5 → P95 for an input with a distribution,
base·(1 ∓ swing) for a point value, and ranks inputs by the swing of the output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditkit.plugins.value.business.distributions import Param

QUANTILES = (5.0, 50.0, 95.0)


@dataclass
class MonteCarlo:
    samples: int
    seed: int
    outputs: dict[str, Any]  # output name → numpy array of n values
    percentiles: dict[str, dict[str, float]]  # output name → {"p5", "p50", "p95", "mean"}
    uncertain: list[str]
    clipped: dict[str, int] = field(default_factory=dict)


def monte_carlo(
    params: dict[str, Param],
    model: Callable[[dict[str, float]], dict[str, float]],
    samples: int,
    seed: int,
) -> MonteCarlo:
    """Run ``model`` on ``samples`` draws of every parameter that has a distribution."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base = {name: p.base for name, p in params.items()}
    draws: dict[str, Any] = {}
    clipped: dict[str, int] = {}
    for name in sorted(params):
        param = params[name]
        if param.dist is None:
            continue
        raw = param.draw(rng, samples)
        kept = np.clip(raw, param.lower, param.upper)
        moved = int(np.count_nonzero(kept != raw))
        if moved:
            clipped[name] = moved
        draws[name] = kept.tolist()  # python floats: the model is plain float arithmetic
    results: dict[str, list[float]] = {}
    for i in range(samples):
        values = dict(base)
        for name, column in draws.items():
            values[name] = column[i]
        for key, value in model(values).items():
            results.setdefault(key, []).append(value)
    arrays = {key: np.asarray(vals, dtype=float) for key, vals in results.items()}
    percentiles = {}
    for key, arr in arrays.items():
        p5, p50, p95 = (float(v) for v in np.percentile(arr, QUANTILES))
        percentiles[key] = {"p5": p5, "p50": p50, "p95": p95, "mean": float(arr.mean())}
    return MonteCarlo(samples, seed, arrays, percentiles, sorted(draws), clipped)


@dataclass(frozen=True)
class Bar:
    """One tornado bar: an input moved from low to high and what the output did."""

    name: str
    label: str
    base_input: float
    low_input: float
    high_input: float
    low_output: float
    high_output: float
    range: str  # "P5–P95" or "±10 %"

    @property
    def swing(self) -> float:
        return abs(self.high_output - self.low_output)


def tornado(
    params: dict[str, Param],
    model: Callable[[dict[str, float]], float],
    swing: float,
) -> tuple[float, list[Bar]]:
    """(base output, bars sorted by swing, largest first; ties keep name order)."""
    base = {name: p.base for name, p in params.items()}
    base_output = model(base)
    bars = []
    for name in sorted(params):
        param = params[name]
        if param.width > 0:
            low, high, words = param.quantile(0.05), param.quantile(0.95), "P5–P95"
        else:
            low, high = param.clip(param.base * (1 - swing)), param.clip(param.base * (1 + swing))
            low, high = min(low, high), max(low, high)  # a negative base flips the order
            words = f"±{swing * 100:g} %"
        outs = [model({**base, name: value}) for value in (low, high)]
        bars.append(Bar(name, param.label or name, param.base, low, high, outs[0], outs[1], words))
    bars.sort(key=lambda bar: -bar.swing)
    return base_output, bars
