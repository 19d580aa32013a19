"""Response curves: closed-form P* against a hand calculation and scipy; least-squares fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from auditkit.plugins.value.business.curves import Curve, argmax_net, fit_curve
from scipy.optimize import minimize_scalar
from sklearn.metrics import r2_score


def _scipy_argmax(curve: Curve, k: float, budget: float) -> float:
    """An independent numeric optimiser: bounded Brent on −g over [0, budget]."""
    found = minimize_scalar(
        lambda p: -(curve.revenue(p) - k * p),
        bounds=(0.0, budget),
        method="bounded",
        options={"xatol": 1e-9 * max(budget, 1.0)},
    )
    ends = [0.0, budget, float(found.x)]
    return max(ends, key=lambda p: curve.revenue(p) - k * p)


def test_saturating_optimum_matches_a_hand_calculation() -> None:
    # f(P) = 50,000·(1 − e^(−0.0001·P)), k = 1: f'(P) = 5·e^(−0.0001·P) = 1 ⇒ P* = ln 5 / 0.0001
    opt = argmax_net(Curve("saturating", 50_000.0, b=1e-4), k=1.0, budget=100_000.0)
    assert opt.method == "closed form"
    assert opt.spend == pytest.approx(16_094.379124341003, rel=1e-12)
    assert opt.revenue == pytest.approx(40_000.0, rel=1e-12)  # a·(1 − k/(a·b)) = 50,000·0.8
    assert opt.net == pytest.approx(40_000.0 - 16_094.379124341003, rel=1e-12)


def test_logarithmic_optimum_matches_a_hand_calculation() -> None:
    # f'(P) = a·b/(1 + b·P) = k ⇒ P* = a/k − 1/b = 20,000 − 2,000
    opt = argmax_net(Curve("logarithmic", 20_000.0, b=5e-4), k=1.0, budget=100_000.0)
    assert opt.spend == pytest.approx(18_000.0, rel=1e-12)
    assert opt.revenue == pytest.approx(20_000.0 * math.log(10.0), rel=1e-12)


@pytest.mark.parametrize(
    ("shape", "a", "b", "k", "budget"),
    [
        ("saturating", 50_000.0, 1e-4, 1.0, 100_000.0),  # interior optimum
        ("saturating", 50_000.0, 1e-4, 1.0, 5_000.0),  # the budget binds
        ("saturating", 8_000.0, 1e-4, 1.0, 50_000.0),  # a·b < k: spending never pays
        ("saturating", 1_000.0, 3e-3, 0.4, 10_000.0),
        ("logarithmic", 20_000.0, 5e-4, 1.0, 100_000.0),
        ("logarithmic", 20_000.0, 5e-4, 1.0, 9_000.0),
        ("logarithmic", 300.0, 2e-3, 0.9, 10_000.0),  # a·b < k
        ("logarithmic", 5_000.0, 1e-2, 2.5, 10_000.0),
    ],
)
def test_closed_form_optimum_equals_scipy(shape: str, a: float, b: float, k: float, budget: float) -> None:
    curve = Curve(shape, a, b=b)
    opt = argmax_net(curve, k, budget)
    numeric = _scipy_argmax(curve, k, budget)
    assert opt.spend == pytest.approx(numeric, rel=1e-6, abs=1e-3)
    assert opt.net == pytest.approx(curve.revenue(numeric) - k * numeric, rel=1e-9, abs=1e-6)
    assert 0.0 <= opt.spend <= budget


def test_hill_optimum_is_numeric_and_global() -> None:
    # an S-curve: g has a local maximum at P = 0 and the global one further out
    curve = Curve("hill", 60_000.0, h=20_000.0, s=2.5)
    opt = argmax_net(curve, k=1.0, budget=100_000.0)
    assert opt.method == "numeric"
    grid = np.linspace(0.0, 100_000.0, 200_001)
    best = float(np.max(curve.revenue_array(grid) - grid))
    assert opt.net >= best - 1e-6
    assert opt.spend > 0  # not fooled by the local optimum at 0
    # first-order condition at the interior optimum
    assert curve.marginal(opt.spend) == pytest.approx(1.0, abs=1e-4)


def test_marginal_is_the_derivative() -> None:
    for curve in (
        Curve("saturating", 500.0, b=0.01),
        Curve("logarithmic", 500.0, b=0.01),
        Curve("hill", 500.0, h=80.0, s=2.0),
    ):
        for p in (10.0, 75.0, 300.0):
            h = 1e-4
            numeric = (curve.revenue(p + h) - curve.revenue(p - h)) / (2 * h)
            assert curve.marginal(p) == pytest.approx(numeric, rel=1e-6)


@pytest.mark.parametrize(
    "truth",
    [
        Curve("saturating", 42_000.0, b=7e-5),
        Curve("logarithmic", 9_000.0, b=3e-4),
        Curve("hill", 55_000.0, h=15_000.0, s=2.2),
    ],
)
def test_fit_recovers_known_parameters_exactly(truth: Curve) -> None:
    spends = np.linspace(0.0, 60_000.0, 15)
    points = [(float(p), truth.revenue(float(p))) for p in spends]
    fit = fit_curve(points, truth.shape)
    for key, value in truth.params().items():
        assert fit.curve.params()[key] == pytest.approx(value, rel=1e-4)
    assert fit.r2 == pytest.approx(1.0, abs=1e-9)


def test_fit_of_noisy_points_reports_the_r2_sklearn_computes() -> None:
    rng = np.random.default_rng(7)
    truth = Curve("saturating", 30_000.0, b=1e-4)
    spends = np.linspace(0.0, 40_000.0, 25)
    revenue = np.array([truth.revenue(float(p)) for p in spends]) + rng.normal(0, 900.0, spends.size)
    fit = fit_curve(list(zip(spends.tolist(), revenue.tolist(), strict=True)), "saturating")
    predicted = [fit.curve.revenue(float(p)) for p in spends]
    assert fit.r2 == pytest.approx(r2_score(revenue, predicted), rel=1e-12)
    assert 0.95 < fit.r2 < 1.0
    assert fit.curve.a == pytest.approx(30_000.0, rel=0.05)
    assert fit.curve.b == pytest.approx(1e-4, rel=0.15)


def test_auto_fit_keeps_the_shape_with_the_best_r2() -> None:
    truth = Curve("logarithmic", 9_000.0, b=3e-4)
    points = [(float(p), truth.revenue(float(p))) for p in np.linspace(0.0, 80_000.0, 12)]
    fit = fit_curve(points, "auto", concave_only=True)
    assert fit.curve.shape == "logarithmic"
    assert {shape for shape, _, _ in fit.candidates} == {"saturating", "logarithmic"}
    assert fit.r2 == max(r2 for _, _, r2 in fit.candidates)
