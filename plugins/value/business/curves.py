"""Response curves f(P) of promotion spend P, the optimum of g(P) = f(P) − k·P, and fits.

Three shapes, all with f(0) = 0:

- saturating  ``a·(1 − e^(−b·P))``: concave, revenue tends to ``a``;
- logarithmic ``a·ln(1 + b·P)``: concave, never saturates;
- hill        ``a·P^s / (h^s + P^s)``: the S-curve of marketing-mix models; not concave
  when s > 1, so its optimum is found numerically.

For the concave shapes g is concave, so P* is where f'(P) = k, clipped to [0, budget]:
the closed forms below. Fits are ordinary least squares (scipy ``curve_fit``) on spend
and revenue scaled to [0, 1], which keeps the optimiser well conditioned whatever the
currency unit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SHAPES = ("saturating", "logarithmic", "hill")
CONCAVE_SHAPES = ("saturating", "logarithmic")
FORMULAS = {
    "saturating": "f(P) = a·(1 − exp(−b·P))",
    "logarithmic": "f(P) = a·ln(1 + b·P)",
    "hill": "f(P) = a·P^s / (h^s + P^s), h = half_saturation, s = steepness",
}
OPTIMUM_FORMULAS = {
    "saturating": "P* = clip(ln(a·b/k)/b, 0, budget) if a·b > k else 0",
    "logarithmic": "P* = clip(a/k − 1/b, 0, budget) if a·b > k else 0",
    "hill": "P* = argmax over [0, budget] of f(P) − k·P (grid of 2001 points, then bounded Brent)",
}


@dataclass(frozen=True)
class Curve:
    """A response curve; ``h`` and ``s`` are used by the hill shape only."""

    shape: str
    a: float
    b: float = 0.0
    h: float = 1.0
    s: float = 1.0

    def revenue(self, p: float) -> float:
        if self.shape == "saturating":
            return self.a * -math.expm1(-self.b * p)
        if self.shape == "logarithmic":
            return self.a * math.log1p(self.b * p)
        if p <= 0:
            return 0.0
        return self.a / (1.0 + (self.h / p) ** self.s) if self.h > 0 else self.a

    def revenue_array(self, ps: Any) -> Any:
        """f over a numpy array of spends (the numeric optimiser's grid)."""
        import numpy as np

        ps = np.asarray(ps, dtype=float)
        if self.shape == "saturating":
            return self.a * -np.expm1(-self.b * ps)
        if self.shape == "logarithmic":
            return self.a * np.log1p(self.b * ps)
        powered = ps**self.s
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.a * powered / (self.h**self.s + powered)
        return np.where(ps > 0, out, 0.0)

    def marginal(self, p: float) -> float:
        """f'(P): the revenue of one more unit of spend."""
        if self.shape == "saturating":
            return self.a * self.b * math.exp(-self.b * p)
        if self.shape == "logarithmic":
            return self.a * self.b / (1.0 + self.b * p)
        if p <= 0:
            return math.inf if self.s < 1 else (self.a / self.h if self.s == 1 else 0.0)
        hs, ps = self.h**self.s, p**self.s
        return self.a * self.s * hs * ps / (p * (hs + ps) ** 2)

    @property
    def concave(self) -> bool:
        return self.shape in CONCAVE_SHAPES or self.s <= 1

    def spend_at_marginal(self, m: float) -> float:
        """The spend where f'(P) = m for a concave shape (0 when even f'(0) < m, inf when m <= 0)."""
        if self.shape not in CONCAVE_SHAPES:
            raise ValueError(f"no closed-form inverse marginal for the {self.shape} shape")
        top = self.a * self.b  # f'(0)
        if top <= m:
            return 0.0
        if m <= 0:
            return math.inf
        if self.shape == "saturating":
            return math.log(top / m) / self.b
        return self.a / m - 1.0 / self.b  # logarithmic

    def params(self) -> dict[str, float]:
        if self.shape == "hill":
            return {"a": self.a, "half_saturation": self.h, "steepness": self.s}
        return {"a": self.a, "b": self.b}


@dataclass(frozen=True)
class Optimum:
    spend: float
    revenue: float
    net: float
    method: str  # "closed form" or "numeric"
    unconstrained: float | None  # argmax without the budget cap (closed form only)


def argmax_net(curve: Curve, k: float, budget: float) -> Optimum:
    """P* = argmax of f(P) − k·P over [0, budget]."""
    if curve.shape in CONCAVE_SHAPES:
        free = curve.spend_at_marginal(k)
        spend = min(free, budget)
        method = "closed form"
    else:
        free = None
        spend = numeric_argmax(lambda p: curve.revenue(p) - k * p, budget, lambda xs: curve.revenue_array(xs) - k * xs)
        method = "numeric"
    revenue = curve.revenue(spend)
    return Optimum(spend, revenue, revenue - k * spend, method, free)


def numeric_argmax(
    func: Callable[[float], float], upper: float, vector: Callable[[Any], Any] | None = None, points: int = 2001
) -> float:
    """Global argmax of a scalar function on [0, upper]: a grid, then Brent around the best point.

    The grid guards against the local optima of an S-curve; ``vector`` evaluates the
    grid in one numpy call when given.
    """
    import numpy as np
    from scipy.optimize import minimize_scalar

    if upper <= 0:
        return 0.0
    grid = np.linspace(0.0, upper, points)
    values = vector(grid) if vector is not None else np.array([func(float(x)) for x in grid])
    best = int(np.argmax(values))
    lo, hi = float(grid[max(best - 1, 0)]), float(grid[min(best + 1, points - 1)])
    refined = minimize_scalar(lambda x: -func(x), bounds=(lo, hi), method="bounded", options={"xatol": upper * 1e-12})
    candidate = float(refined.x)
    at_grid = float(grid[best])
    return candidate if func(candidate) >= func(at_grid) else at_grid


# --------------------------------------------------------------------------------------
# least-squares fit of observed (spend, revenue) points
# --------------------------------------------------------------------------------------


@dataclass
class Fit:
    """A fitted curve with its goodness of fit; ``candidates`` are all shapes tried."""

    curve: Curve
    r2: float
    rss: float
    points: list[tuple[float, float]]
    candidates: list[tuple[str, dict[str, float], float]] = field(default_factory=list)


def _scaled(shape: str, p: object, *theta: float) -> object:
    import numpy as np

    if shape == "saturating":
        return theta[0] * -np.expm1(-theta[1] * p)
    if shape == "logarithmic":
        return theta[0] * np.log1p(theta[1] * p)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ratio = np.where(p > 0, (theta[1] / np.maximum(p, 1e-300)) ** theta[2], np.inf)
    return theta[0] / (1.0 + ratio)


def fit_curve(points: list[tuple[float, float]], shape: str = "auto", concave_only: bool = False) -> Fit:
    """Least-squares fit of a shape; ``auto`` fits every allowed shape and keeps the best R².

    The hill shape has three parameters, so ``auto`` tries it only from four points on.
    """
    if shape != "auto":
        shapes = [shape]
    else:
        shapes = list(CONCAVE_SHAPES) + ([] if concave_only or len(points) < 4 else ["hill"])
    fits = [_fit_one(points, s) for s in shapes]
    best = max(fits, key=lambda f: f.r2)
    best.candidates = [(f.curve.shape, f.curve.params(), f.r2) for f in fits]
    return best


def _fit_one(points: list[tuple[float, float]], shape: str) -> Fit:
    import numpy as np
    from scipy.optimize import curve_fit

    spend = np.array([p for p, _ in points], dtype=float)
    revenue = np.array([r for _, r in points], dtype=float)
    p_scale = float(spend.max()) or 1.0
    r_scale = float(np.abs(revenue).max()) or 1.0
    x, y = spend / p_scale, revenue / r_scale
    starts = [(1.2, 0.5, 1.0), (1.5, 2.0, 2.0), (3.0, 0.2, 1.0), (1.1, 5.0, 3.0)]
    n_theta = 3 if shape == "hill" else 2
    best: tuple[float, object] | None = None
    for start in starts:
        try:
            theta, _ = curve_fit(
                lambda p, *t: _scaled(shape, p, *t),
                x,
                y,
                p0=start[:n_theta],
                bounds=(0.0, np.inf),
                maxfev=20000,
            )
        except (RuntimeError, ValueError):
            continue
        rss = float(np.sum((y - _scaled(shape, x, *theta)) ** 2))
        if best is None or rss < best[0]:
            best = (rss, theta)
    if best is None:
        raise ValueError(f"the least-squares fit of the {shape} curve did not converge; check the points")
    theta = best[1]
    if shape == "hill":
        curve = Curve("hill", float(theta[0]) * r_scale, h=float(theta[1]) * p_scale, s=float(theta[2]))  # type: ignore[index]
    else:
        curve = Curve(shape, float(theta[0]) * r_scale, b=float(theta[1]) / p_scale)  # type: ignore[index]
    fitted = np.array([curve.revenue(float(p)) for p in spend])
    rss = float(np.sum((revenue - fitted) ** 2))
    tss = float(np.sum((revenue - revenue.mean()) ** 2))
    r2 = 1.0 - rss / tss if tss > 0 else (1.0 if rss == 0 else 0.0)
    return Fit(curve, r2, rss, [(float(p), float(r)) for p, r in points])
