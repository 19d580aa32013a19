"""Numbers that may be uncertain: a point value, or a normal, triangular or uniform table.

Wherever the business config takes a number it also takes a distribution table, e.g.
``{dist = "normal", mean = 1.0, sd = 0.1}``. The deterministic (base) value of a
distribution is its central value: the mean of a normal, the mode of a triangular (the
"most likely" value an estimator writes down) and the midpoint of a uniform. This module
imports only the standard library: the plugins use it at load time to validate config.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

DIST_KEYS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd"),
    "triangular": ("low", "mode", "high"),
    "uniform": ("low", "high"),
}
EXAMPLES = (
    '{dist = "normal", mean = 1.0, sd = 0.1}, {dist = "triangular", low = 0.8, mode = 1.0, high = 1.3} '
    'or {dist = "uniform", low = 0.8, high = 1.2}'
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Param:
    """One input of the value chain: base value, optional distribution, bounds and origin.

    ``source`` says who set the value, one of ``auditkit.config.SOURCE_KINDS``: ``default``
    (the documented default), ``model dir``, ``reviewer config``, ``flag``, ``policy``, or
    ``measured`` (computed from the audit's data by another section).
    Samples and quantiles are clipped to ``[lower, upper]`` (a cost cannot be negative).
    """

    name: str
    base: float
    dist: str | None = None
    args: tuple[float, ...] = ()
    lower: float = -math.inf
    upper: float = math.inf
    source: str = "reviewer config"
    label: str = ""

    @property
    def width(self) -> float:
        """Spread of the distribution (sd or high − low); 0 for a point value."""
        if self.dist is None:
            return 0.0
        if self.dist == "normal":
            return self.args[1]
        return self.args[-1] - self.args[0]

    def quantile(self, q: float) -> float:
        """The q-quantile of the distribution (the base value for a point), clipped."""
        if self.dist is None or self.width == 0:
            return self.base
        if self.dist == "normal":
            mean, sd = self.args
            value = NormalDist(mean, sd).inv_cdf(q)
        elif self.dist == "uniform":
            low, high = self.args
            value = low + q * (high - low)
        else:
            low, mode, high = self.args
            cut = (mode - low) / (high - low)
            if q < cut:
                value = low + math.sqrt(q * (high - low) * (mode - low))
            else:
                value = high - math.sqrt((1 - q) * (high - low) * (high - mode))
        return self.clip(value)

    def clip(self, value: float) -> float:
        return min(max(value, self.lower), self.upper)

    def draw(self, rng: Any, n: int) -> Any:
        """``n`` unclipped draws from ``rng`` (a numpy Generator).

        A zero-width table gives the base value exactly (numpy's triangular refuses
        low == high, and the Monte Carlo must then reproduce the deterministic value).
        """
        import numpy as np

        if self.dist is None or self.width == 0:
            return np.full(n, self.base, dtype=float)
        if self.dist == "normal":
            return rng.normal(self.args[0], self.args[1], n)
        if self.dist == "uniform":
            return rng.uniform(self.args[0], self.args[1], n)
        return rng.triangular(self.args[0], self.args[1], self.args[2], n)

    def describe(self) -> str:
        """How the input was given, for the assumptions table."""
        if self.dist is None:
            return f"{self.base:g}"
        inner = ", ".join(f"{k}={v:g}" for k, v in zip(DIST_KEYS[self.dist], self.args, strict=True))
        return f"{self.dist}({inner})"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "base": self.base, "source": self.source}
        if self.dist is not None:
            out["dist"] = self.dist
            out.update(zip(DIST_KEYS[self.dist], self.args, strict=True))
        return out


def check_value(value: Any, lower: float | None = None, upper: float | None = None) -> None:
    """Raise ValueError saying what was expected when ``value`` is no number or distribution.

    The message completes the host's "…: expected <message>" line, so it starts with
    what a valid value looks like and ends with the fix.
    """
    bounds = _bounds_words(lower, upper)
    if _is_number(value):
        if (lower is not None and value < lower) or (upper is not None and value > upper):
            raise ValueError(f"a number {bounds}")
        return
    if not isinstance(value, dict):
        raise ValueError(f"a number {bounds} or a distribution table such as {EXAMPLES}")
    dist = value.get("dist")
    if dist not in DIST_KEYS:
        raise ValueError(f'a distribution table whose dist is "normal", "triangular" or "uniform" (got {dist!r})')
    keys = DIST_KEYS[dist]
    wanted = ", ".join(keys)
    extra = sorted(set(value) - {"dist", *keys})
    missing = [k for k in keys if k not in value]
    if extra or missing:
        raise ValueError(f"a {dist} table with exactly dist, {wanted}; fix keys {', '.join(extra + missing)}")
    bad = [k for k in keys if not _is_number(value[k])]
    if bad:
        raise ValueError(f"a {dist} table whose {', '.join(bad)} are finite numbers")
    args = [float(value[k]) for k in keys]
    if dist == "normal":
        if args[1] < 0:
            raise ValueError("a normal table with sd >= 0")
        centre = args[0]
    elif dist == "triangular":
        if not args[0] <= args[1] <= args[2]:
            raise ValueError("a triangular table with low <= mode <= high; reorder the three values")
        centre = args[1]
    else:
        if args[0] > args[1]:
            raise ValueError("a uniform table with low <= high; swap the two values")
        centre = (args[0] + args[1]) / 2
    support = (centre, centre) if dist == "normal" else (args[0], args[-1])
    if (lower is not None and support[0] < lower) or (upper is not None and support[1] > upper):
        what = "mean" if dist == "normal" else "low and high"
        raise ValueError(f"a {dist} table whose {what} are {bounds}")


def _bounds_words(lower: float | None, upper: float | None) -> str:
    if lower is not None and upper is not None:
        return f"between {lower:g} and {upper:g}"
    if lower is not None:
        return f">= {lower:g}"
    if upper is not None:
        return f"<= {upper:g}"
    return "(any finite value)"


def validator(lower: float | None = None, upper: float | None = None) -> Callable[[Any], None]:
    """An ``Option(validate=...)`` callable for a number-or-distribution key."""

    def validate(value: Any) -> None:
        check_value(value, lower, upper)

    return validate


def to_param(
    name: str,
    value: Any,
    lower: float = -math.inf,
    upper: float = math.inf,
    source: str = "reviewer config",
    label: str = "",
) -> Param:
    """Turn a validated config value (number or table) into a :class:`Param`."""
    if isinstance(value, dict):
        dist = value["dist"]
        args = tuple(float(value[k]) for k in DIST_KEYS[dist])
        if dist == "normal":
            base = args[0]
        elif dist == "triangular":
            base = args[1]
        else:
            base = (args[0] + args[1]) / 2
        return Param(name, base, dist, args, lower, upper, source, label or name)
    return Param(name, float(value), None, (), lower, upper, source, label or name)
