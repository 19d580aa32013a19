"""Distributions, the seeded Monte Carlo, the tornado and the NPV of the value chain."""

from __future__ import annotations

import numpy as np
import pytest
from auditkit.plugins.value.business import chain
from auditkit.plugins.value.business.distributions import Param, check_value, to_param
from auditkit.plugins.value.business.market_model import MarketModel
from auditkit.plugins.value.business.montecarlo import monte_carlo, tornado
from scipy import stats


def _params(**overrides: object) -> dict[str, Param]:
    values: dict[str, object] = {
        chain.Y: 0.8,
        chain.ALPHA: 100_000.0,
        chain.BETA: 5_000.0,
        chain.C: 10_000.0,
        chain.D: 4_000.0,
        chain.T: 1_000.0,
        chain.F: 0.9,
        chain.E: 0.95,
        chain.GROWTH: 0.05,
        chain.RATE: 0.08,
    }
    values.update(overrides)
    return {name: to_param(name, value) for name, value in values.items()}


def _settings(market: float = 12_000.0, upfront: bool = False, horizon: int = 3) -> chain.ChainSettings:
    return chain.ChainSettings(horizon, upfront, lambda values: market)


def test_chain_and_npv_match_a_hand_calculation() -> None:
    values = {name: p.base for name, p in _params(**{chain.GROWTH: 0.1, chain.RATE: 0.1}).items()}
    r = chain.evaluate(values, _settings())
    # V = 100,000·0.8 + 5,000 = 85,000; V_net = 85,000 − 10,000 − 4,000 − 1,000 = 70,000
    assert r.technology_value == pytest.approx(85_000.0)
    assert r.net_value == pytest.approx(70_000.0)
    # R = (70,000 + 12,000)·0.9·0.95 = 70,110
    assert r.risk_adjusted_value == pytest.approx(70_110.0)
    # growth = r = 10 %: every discounted cash flow is R/1.1, so NPV = 3·R/1.1
    assert r.cash_flows == pytest.approx([70_110.0, 77_121.0, 84_833.1])
    assert r.npv == pytest.approx(3 * 70_110.0 / 1.1)


def test_training_cost_upfront_moves_from_net_value_to_year_zero() -> None:
    values = {name: p.base for name, p in _params().items()}
    every_year = chain.evaluate(values, _settings(upfront=False))
    upfront = chain.evaluate(values, _settings(upfront=True))
    assert upfront.net_value == every_year.net_value + 1_000.0
    assert upfront.npv == pytest.approx(sum(upfront.present_values) - 1_000.0)


def test_net_value_clamps_at_zero() -> None:
    values = {name: p.base for name, p in _params(**{chain.C: 200_000.0}).items()}
    r = chain.evaluate(values, _settings(market=12_000.0))
    assert r.before_clamp == pytest.approx(85_000.0 - 200_000.0 - 4_000.0 - 1_000.0)
    assert r.net_value == 0.0 and r.clamped
    assert r.risk_adjusted_value == pytest.approx(12_000.0 * 0.9 * 0.95)  # only g(P*) is left


def test_zero_width_distributions_reproduce_the_deterministic_value_exactly() -> None:
    market = MarketModel.from_config(
        {
            "budget": {"dist": "uniform", "low": 90_000.0, "high": 90_000.0},
            "curve": "saturating",
            "a": {"dist": "triangular", "low": 50_000.0, "mode": 50_000.0, "high": 50_000.0},
            "b": {"dist": "normal", "mean": 1e-4, "sd": 0.0},
            "k": 1.0,
            "segments": [],
        },
        None,
    )
    params = _params(
        **{
            chain.ALPHA: {"dist": "normal", "mean": 100_000.0, "sd": 0.0},
            chain.GROWTH: {"dist": "triangular", "low": 0.03, "mode": 0.03, "high": 0.03},
            chain.RATE: {"dist": "uniform", "low": 0.07, "high": 0.07},
        }
    )
    params.update(market.params)
    settings = chain.ChainSettings(4, False, market.net)
    point = chain.evaluate({n: p.base for n, p in params.items()}, settings)
    mc = monte_carlo(params, lambda v: chain.outputs(chain.evaluate(v, settings)), 300, seed=11)
    for key, exact in (("risk_adjusted_value", point.risk_adjusted_value), ("npv", point.npv)):
        assert set(mc.outputs[key].tolist()) == {exact}
        assert mc.percentiles[key]["p5"] == mc.percentiles[key]["p50"] == mc.percentiles[key]["p95"] == exact
    assert len(mc.uncertain) == 6


def test_monte_carlo_is_seeded_and_unbiased_for_a_linear_model() -> None:
    params = _params(**{chain.ALPHA: {"dist": "normal", "mean": 100_000.0, "sd": 10_000.0}})
    settings = _settings(market=0.0)
    model = lambda v: chain.outputs(chain.evaluate(v, settings))  # noqa: E731
    first = monte_carlo(params, model, 4000, seed=3)
    again = monte_carlo(params, model, 4000, seed=3)
    other = monte_carlo(params, model, 4000, seed=4)
    assert np.array_equal(first.outputs["npv"], again.outputs["npv"])
    assert not np.array_equal(first.outputs["npv"], other.outputs["npv"])
    # R is linear in α: R = (α·0.8 + 5,000 − 15,000)·0.9·0.95, so its P50 and spread are known
    slope = 0.8 * 0.9 * 0.95
    centre = (100_000.0 * 0.8 - 10_000.0) * 0.9 * 0.95
    pct = first.percentiles["risk_adjusted_value"]
    assert pct["p50"] == pytest.approx(centre, rel=0.01)
    assert pct["p95"] - pct["p5"] == pytest.approx(2 * 1.6449 * 10_000.0 * slope, rel=0.06)


def test_draws_outside_the_bounds_are_clipped_and_counted() -> None:
    params = {chain.F: to_param(chain.F, {"dist": "normal", "mean": 0.95, "sd": 0.1}, 0.0, 1.0)}
    mc = monte_carlo(params, lambda v: {"f": v[chain.F]}, 2000, seed=0)
    assert mc.outputs["f"].max() == 1.0
    assert mc.clipped[chain.F] == int((mc.outputs["f"] == 1.0).sum()) > 0


def test_tornado_ranks_the_dominant_input_first() -> None:
    params = _params(
        **{
            chain.BETA: {"dist": "uniform", "low": 4_000.0, "high": 6_000.0},
            chain.ALPHA: {"dist": "normal", "mean": 100_000.0, "sd": 30_000.0},  # dominant by far
            chain.C: {"dist": "triangular", "low": 9_000.0, "mode": 10_000.0, "high": 12_000.0},
        }
    )
    settings = _settings()
    base, bars = tornado(params, lambda v: chain.evaluate(v, settings).npv, 0.1)
    assert bars[0].name == chain.ALPHA
    assert bars[0].range == "P5–P95"
    assert bars[0].low_input == pytest.approx(stats.norm.ppf(0.05, 100_000.0, 30_000.0), rel=1e-9)
    assert [b.swing for b in bars] == sorted((b.swing for b in bars), reverse=True)
    # a point value moves ±10 %
    compliance = {b.name: b for b in bars}[chain.D]
    assert (compliance.low_input, compliance.high_input) == pytest.approx((3_600.0, 4_400.0))
    assert compliance.range == "±10 %"
    assert base == pytest.approx(chain.evaluate({n: p.base for n, p in params.items()}, settings).npv)


@pytest.mark.parametrize(
    ("spec", "reference"),
    [
        ({"dist": "normal", "mean": 3.0, "sd": 0.5}, stats.norm(3.0, 0.5)),
        ({"dist": "uniform", "low": 2.0, "high": 7.0}, stats.uniform(2.0, 5.0)),
        ({"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0}, stats.triang(0.2, loc=1.0, scale=5.0)),
    ],
)
def test_quantiles_match_scipy(spec: dict, reference: object) -> None:
    param = to_param("x", spec)
    for q in (0.05, 0.3, 0.5, 0.95):
        assert param.quantile(q) == pytest.approx(reference.ppf(q), rel=1e-9)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({"dist": "gamma", "shape": 2}, 'dist is "normal", "triangular" or "uniform"'),
        ({"dist": "normal", "mean": 1.0}, "fix keys sd"),
        ({"dist": "normal", "mean": 1.0, "sd": -0.1}, "sd >= 0"),
        ({"dist": "triangular", "low": 3.0, "mode": 1.0, "high": 5.0}, "low <= mode <= high"),
        ({"dist": "uniform", "low": 3.0, "high": 1.0}, "low <= high"),
        ({"dist": "uniform", "low": -3.0, "high": 1.0}, "low and high are >= 0"),
        ({"dist": "normal", "mean": "1", "sd": 0.1}, "finite numbers"),
        (-2.0, "a number >= 0"),
        ("many", "or a distribution table"),
    ],
)
def test_bad_values_say_what_is_expected(value: object, words: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_value(value, 0.0)
    assert words in str(caught.value)


def test_base_values_are_the_central_values() -> None:
    assert to_param("x", {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0}).base == 2.0
    assert to_param("x", {"dist": "uniform", "low": 1.0, "high": 6.0}).base == 3.5
    assert to_param("x", {"dist": "normal", "mean": 4.0, "sd": 1.0}).base == 4.0
    assert to_param("x", 7).base == 7.0
