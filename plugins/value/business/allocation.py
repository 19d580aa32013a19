"""Split one promotion budget across market segments: equal marginal returns.

Maximise Σ_i [f_i(P_i) − k_i·P_i] subject to Σ_i P_i ≤ B and P_i ≥ 0. With concave f_i
this is a concave programme and the KKT conditions are necessary and sufficient: there
is a λ ≥ 0 (the shadow price of the budget) with f_i'(P_i) − k_i = λ for every funded
segment and f_i'(0) − k_i ≤ λ for every unfunded one, and λ > 0 only when the budget is
spent in full. Each P_i(λ) is the closed-form inverse marginal, and Σ P_i(λ) falls as λ
rises, so λ is the root of Σ P_i(λ) = B (Brent's method). S-shaped curves are refused
upstream: for them equal marginals are not enough for an optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditkit.plugins.value.business.curves import Curve


@dataclass(frozen=True)
class Allocation:
    """Spend per segment and the common net marginal return λ they share."""

    spends: tuple[float, ...]
    shadow_price: float
    binding: bool


def _spends(curves: list[Curve], ks: list[float], lam: float) -> list[float]:
    """P_i(λ) without the budget cap: the cap would make Σ P_i flat and hide the root."""
    return [curve.spend_at_marginal(k + lam) for curve, k in zip(curves, ks, strict=True)]


def allocate(curves: list[Curve], ks: list[float], budget: float, spend_all: bool = False) -> Allocation:
    """The optimal split of ``budget``; ``spend_all`` forces Σ P_i = B (λ may then be < 0).

    With ``spend_all`` the returned λ is the net marginal return of the last unit when the
    whole budget is spent optimally: the "marginal return at the budget" of the report.
    """
    import math

    from scipy.optimize import brentq

    top = max(c.a * c.b - k for c, k in zip(curves, ks, strict=True))  # no one spends above this λ
    if budget <= 0:
        return Allocation(tuple(0.0 for _ in curves), top if spend_all else max(top, 0.0), not spend_all)
    low = -min(ks) if spend_all else 0.0  # at −min k the cheapest segment alone would take any budget
    if not spend_all:
        free = _spends(curves, ks, 0.0)
        if sum(free) <= budget:
            return Allocation(tuple(free), 0.0, False)

    def excess(lam: float) -> float:
        return sum(_spends(curves, ks, lam)) - budget

    if top <= low:  # every curve is flat: nothing to buy
        return Allocation(tuple(0.0 for _ in curves), top, spend_all)
    start = low
    if not math.isfinite(excess(start)):  # k_i + λ = 0: that segment would spend without limit
        start = low + (top - low) * 1e-12
    if excess(start) <= 0:  # even the last representable step spends less than B: λ is low
        return Allocation(tuple(min(s, budget) for s in _spends(curves, ks, start)), start, True)
    lam = float(brentq(excess, start, top, xtol=1e-14, rtol=1e-15, maxiter=500))
    spends = [min(max(s, 0.0), budget) for s in _spends(curves, ks, lam)]
    total = sum(spends)
    if total > budget:  # Brent stops within tolerance; never hand back more than B
        spends = [s * budget / total for s in spends]
    return Allocation(tuple(spends), lam, True)
