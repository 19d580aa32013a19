"""Segment allocation: equal marginal returns, the budget, and scipy's constrained optimum."""

from __future__ import annotations

import numpy as np
import pytest
from auditkit.plugins.value.business.allocation import allocate
from auditkit.plugins.value.business.curves import Curve, argmax_net
from scipy.optimize import minimize

CURVES = [
    Curve("saturating", 40_000.0, b=1e-4),
    Curve("saturating", 60_000.0, b=5e-5),
    Curve("logarithmic", 8_000.0, b=5e-4),
]
KS = [1.0, 1.2, 0.9]


def _total_net(spends: list[float] | np.ndarray) -> float:
    return sum(c.revenue(float(p)) - k * float(p) for c, k, p in zip(CURVES, KS, spends, strict=True))


def _slsqp(budget: float) -> np.ndarray:
    """An independent optimiser: SLSQP with Σ P_i <= budget and 0 <= P_i <= budget."""
    found = minimize(
        lambda x: -_total_net(x) / 1e4,
        x0=np.full(3, budget / 3),
        method="SLSQP",
        bounds=[(0.0, budget)] * 3,
        constraints=[{"type": "ineq", "fun": lambda x: (budget - x.sum()) / 1e4}],
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return found.x


def test_binding_budget_is_spent_with_equal_marginal_returns() -> None:
    budget = 20_000.0
    alloc = allocate(CURVES, KS, budget)
    assert alloc.binding and alloc.shadow_price > 0
    assert sum(alloc.spends) == pytest.approx(budget, rel=1e-9)
    for curve, k, spend in zip(CURVES, KS, alloc.spends, strict=True):
        assert spend > 0
        assert curve.marginal(spend) - k == pytest.approx(alloc.shadow_price, rel=1e-8)
    reference = _slsqp(budget)
    assert _total_net(alloc.spends) >= _total_net(reference) - 1e-6
    assert np.allclose(alloc.spends, reference, rtol=1e-3, atol=1.0)


def test_slack_budget_gives_each_segment_its_own_optimum() -> None:
    budget = 1_000_000.0
    alloc = allocate(CURVES, KS, budget)
    assert not alloc.binding and alloc.shadow_price == 0.0
    for curve, k, spend in zip(CURVES, KS, alloc.spends, strict=True):
        assert spend == pytest.approx(argmax_net(curve, k, budget).spend, rel=1e-12)
        assert curve.marginal(spend) == pytest.approx(k, rel=1e-9)  # net marginal 0
    assert sum(alloc.spends) < budget


def test_a_segment_that_never_pays_gets_nothing() -> None:
    curves = [*CURVES, Curve("saturating", 5_000.0, b=1e-4)]  # f'(0) = 0.5 < k = 1
    ks = [*KS, 1.0]
    alloc = allocate(curves, ks, 20_000.0)
    assert alloc.spends[-1] == 0.0
    assert curves[-1].marginal(0.0) - ks[-1] <= alloc.shadow_price
    funded = alloc.spends[:-1]
    assert sum(funded) == pytest.approx(20_000.0, rel=1e-9)


def test_marginal_return_when_the_whole_budget_is_spent() -> None:
    # one segment: λ_B is exactly f'(B) − k, negative when the budget exceeds P*
    curve, k, budget = Curve("saturating", 50_000.0, b=1e-4), 1.0, 30_000.0
    at_budget = allocate([curve], [k], budget, spend_all=True)
    assert at_budget.spends[0] == pytest.approx(budget, rel=1e-9)
    assert at_budget.shadow_price == pytest.approx(curve.marginal(budget) - k, rel=1e-8)
    assert at_budget.shadow_price < 0


def test_zero_budget_spends_nothing() -> None:
    alloc = allocate(CURVES, KS, 0.0)
    assert alloc.spends == (0.0, 0.0, 0.0)
