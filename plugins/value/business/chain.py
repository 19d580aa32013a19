"""The value chain of the seed's four models, and its multi-year NPV.

    V     = α·y + β                                  technology value
    V_net = max(V − C − D − T_net, 0)                governance (T_net: training cost, itemised)
    R     = (V_net + g(P*)) · F · E                  risk-adjusted value (one year)
    CF_t  = R · (1 + growth)^(t−1),  t = 1 … H        cash flows
    NPV   = Σ_t CF_t / (1 + r)^t − T_upfront

The training cost T enters either V_net (the default, as the issue itemises it with the
governance costs) or the NPV as a one-off outflow at t = 0 (``training_cost_in =
"upfront"``), never both. :func:`evaluate` is pure Python arithmetic on floats and is the
only path: the deterministic result, every Monte Carlo draw and every tornado bar go
through it, which is why zero-width distributions reproduce the point value exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# parameter names of the chain's own inputs (market inputs are named market.*)
Y, ALPHA, BETA = "valuation.y", "valuation.alpha", "valuation.beta"
C, D, T = "privacy.protection_cost", "privacy.compliance_cost", "training.training_cost"
F, E = "fairness.score", "valuation.ethics_score"
GROWTH, RATE = "valuation.growth", "valuation.discount_rate"


@dataclass(frozen=True)
class ChainSettings:
    """What is fixed for a whole run: the horizon, where T goes, and how g(P*) is had."""

    horizon: int
    training_upfront: bool
    market: Callable[[dict[str, float]], float]


@dataclass
class ChainResult:
    y: float
    alpha: float
    beta: float
    technology_value: float
    privacy_cost: float
    compliance_cost: float
    training_cost: float
    training_cost_in_net: float
    before_clamp: float
    net_value: float
    market_value: float
    fairness_score: float
    ethics_score: float
    risk_adjusted_value: float
    growth: float
    discount_rate: float
    upfront: float
    npv: float
    cash_flows: list[float] = field(default_factory=list)
    present_values: list[float] = field(default_factory=list)

    @property
    def clamped(self) -> bool:
        return self.before_clamp < 0


def evaluate(values: dict[str, float], settings: ChainSettings) -> ChainResult:
    """Run the chain on one set of input values (keys as named above)."""
    y, alpha, beta = values[Y], values[ALPHA], values[BETA]
    c, d, t = values[C], values[D], values[T]
    technology = alpha * y + beta
    t_net = 0.0 if settings.training_upfront else t
    before = technology - c - d - t_net
    net = max(before, 0.0)
    market = settings.market(values)
    f, e = values[F], values[E]
    risk_adjusted = (net + market) * f * e
    growth, rate = values[GROWTH], values[RATE]
    flows = [risk_adjusted * (1.0 + growth) ** (year - 1) for year in range(1, settings.horizon + 1)]
    present = [flow / (1.0 + rate) ** year for year, flow in enumerate(flows, start=1)]
    upfront = t if settings.training_upfront else 0.0
    return ChainResult(
        y,
        alpha,
        beta,
        technology,
        c,
        d,
        t,
        t_net,
        before,
        net,
        market,
        f,
        e,
        risk_adjusted,
        growth,
        rate,
        upfront,
        sum(present) - upfront,
        flows,
        present,
    )


def outputs(result: ChainResult) -> dict[str, float]:
    """The numbers the Monte Carlo and the tornado look at."""
    return {"risk_adjusted_value": result.risk_adjusted_value, "npv": result.npv}
