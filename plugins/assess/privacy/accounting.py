"""DP-SGD privacy accounting with Google's dp-accounting: RDP and PLD, two RDP conversions.

DP-SGD is ``steps`` self-compositions of a Poisson-subsampled Gaussian mechanism
(noise multiplier σ, sampling rate q). The PLD accountant gives the tightest ε and is the
headline. The RDP accountant is reported with two RDP→(ε, δ) conversions, because
published figures use both:

- ``classic``: Mironov 2017, Prop. 3, ε = min_α RDP(α) + log(1/δ)/(α − 1). TF-Privacy's
  2019 tables and the older Opacus README use it.
- ``improved``: Balle et al. 2020 (Prop. 12 of arXiv:2004.00010, also Canonne et al. 2020),
  what dp-accounting and current Opacus use; always at most the classic figure.

Imported only inside hook bodies: dp-accounting takes over a second to import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import dp_accounting
import numpy as np
from dp_accounting import pld, rdp
from dp_accounting.rdp.rdp_privacy_accountant import compute_epsilon

ACCOUNTANTS = ("rdp", "pld")
CONVERSIONS = ("improved", "classic")
CONVERSION_SOURCES = {"improved": "Balle et al. 2020", "classic": "Mironov 2017"}
CONVERSION_LABELS = {name: f"{name} ({source})" for name, source in CONVERSION_SOURCES.items()}
DEFAULT_DISCRETIZATION = 1e-4
# charts compose the PLD at many step counts: a coarser grid keeps that fast, and a
# coarser discretisation is still a valid (slightly pessimistic) upper bound
CHART_DISCRETIZATION = 1e-3


def classic_epsilon(orders: np.ndarray, rdp_values: np.ndarray, delta: float) -> tuple[float, float]:
    """Mironov 2017, Prop. 3: ε = min over α of RDP(α) + log(1/δ)/(α − 1); returns (ε, α)."""
    orders = np.asarray(orders, dtype=float)
    rdp_values = np.asarray(rdp_values, dtype=float)
    eps = rdp_values + math.log(1.0 / delta) / (orders - 1.0)
    best = int(np.nanargmin(eps))
    return max(0.0, float(eps[best])), float(orders[best])


class ClassicRdpAccountant(rdp.RdpAccountant):
    """dp-accounting's RDP accountant with the classic conversion, for calibration."""

    def get_epsilon(self, target_delta: float) -> float:
        return classic_epsilon(self.orders, self.rdp, target_delta)[0]


def dpsgd_event(noise_multiplier: float, sample_rate: float, steps: int) -> Any:
    """The DpEvent of DP-SGD: ``steps`` Poisson-subsampled Gaussian mechanisms."""
    gaussian = dp_accounting.GaussianDpEvent(noise_multiplier)
    sampled = gaussian if sample_rate >= 1.0 else dp_accounting.PoissonSampledDpEvent(sample_rate, gaussian)
    return dp_accounting.SelfComposedDpEvent(sampled, int(steps))


def make_accountant(
    accountant: str, conversion: str = "improved", discretization: float = DEFAULT_DISCRETIZATION
) -> Any:
    if accountant == "pld":
        return pld.PLDAccountant(value_discretization_interval=discretization)
    if accountant == "rdp":
        return ClassicRdpAccountant() if conversion == "classic" else rdp.RdpAccountant()
    raise ValueError(f"unknown accountant {accountant!r}; choose from {', '.join(ACCOUNTANTS)}")


def epsilon(
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    accountant: str = "pld",
    conversion: str = "improved",
    discretization: float = DEFAULT_DISCRETIZATION,
) -> float:
    """ε of DP-SGD at δ with one accountant (``conversion`` applies to RDP only)."""
    acc = make_accountant(accountant, conversion, discretization)
    acc.compose(dpsgd_event(noise_multiplier, sample_rate, steps))
    return float(acc.get_epsilon(delta))


@dataclass
class Accounting:
    """ε of one DP-SGD run by every accountant and conversion, with the optimal RDP orders."""

    noise_multiplier: float
    sample_rate: float
    steps: int
    delta: float
    pld: float
    rdp_improved: float
    rdp_classic: float
    order_improved: float
    order_classic: float
    discretization: float

    def by_key(self) -> dict[str, float]:
        return {"pld": self.pld, "rdp": self.rdp_improved, "rdp_classic": self.rdp_classic}


def account(
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    discretization: float = DEFAULT_DISCRETIZATION,
) -> Accounting:
    """Compute ε with PLD and with RDP under both conversions."""
    event = dpsgd_event(noise_multiplier, sample_rate, steps)
    rdp_acc = rdp.RdpAccountant()
    rdp_acc.compose(event)
    improved, order_improved = rdp_acc.get_epsilon_and_optimal_order(delta)
    classic, order_classic = classic_epsilon(rdp_acc.orders, rdp_acc.rdp, delta)
    pld_acc = pld.PLDAccountant(value_discretization_interval=discretization)
    pld_acc.compose(event)
    return Accounting(
        noise_multiplier=noise_multiplier,
        sample_rate=sample_rate,
        steps=int(steps),
        delta=delta,
        pld=float(pld_acc.get_epsilon(delta)),
        rdp_improved=float(improved),
        rdp_classic=float(classic),
        order_improved=float(order_improved),
        order_classic=float(order_classic),
        discretization=discretization,
    )


def step_grid(steps: int, points: int = 12) -> list[int]:
    """Log-spaced step counts from 1 to ``steps`` (inclusive), without duplicates."""
    grid = np.unique(np.round(np.geomspace(1, max(int(steps), 1), num=points)).astype(int))
    return [int(s) for s in grid]


def epsilon_by_steps(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float, points: int = 12
) -> dict[str, list[float]]:
    """ε after each step count of :func:`step_grid`: PLD, RDP improved and RDP classic.

    RDP is additive over steps, so one step's RDP curve scaled by t gives every point.
    """
    grid = step_grid(steps, points)
    one = rdp.RdpAccountant()
    one.compose(dpsgd_event(noise_multiplier, sample_rate, 1))
    orders, per_step = one.orders, one.rdp
    improved = [float(compute_epsilon(orders, per_step * t, delta)[0]) for t in grid]
    classic = [classic_epsilon(orders, per_step * t, delta)[0] for t in grid]
    pld_values = [
        epsilon(noise_multiplier, sample_rate, t, delta, "pld", discretization=CHART_DISCRETIZATION) for t in grid
    ]
    return {"steps": grid, "pld": pld_values, "rdp": improved, "rdp_classic": classic}


def epsilon_by_delta(
    noise_multiplier: float, sample_rate: float, steps: int, deltas: list[float]
) -> dict[str, list[float]]:
    """ε at each δ for the whole run: one composition per accountant, many queries."""
    event = dpsgd_event(noise_multiplier, sample_rate, steps)
    rdp_acc = rdp.RdpAccountant()
    rdp_acc.compose(event)
    pld_acc = pld.PLDAccountant(value_discretization_interval=CHART_DISCRETIZATION)
    pld_acc.compose(event)
    return {
        "delta": list(deltas),
        "pld": [float(pld_acc.get_epsilon(d)) for d in deltas],
        "rdp": [float(rdp_acc.get_epsilon(d)) for d in deltas],
        "rdp_classic": [classic_epsilon(rdp_acc.orders, rdp_acc.rdp, d)[0] for d in deltas],
    }


def noise_for_epsilon(
    target_epsilon: float,
    sample_rate: float,
    steps: int,
    delta: float,
    accountant: str = "pld",
    conversion: str = "improved",
    discretization: float = CHART_DISCRETIZATION,
    tol: float = 1e-4,
) -> float:
    """The smallest noise multiplier whose ε at δ is at most ``target_epsilon``.

    dp-accounting's ``calibrate_dp_mechanism`` (Brent's method) on a bracket found here,
    rounded up to ``tol`` so the answer stays on the safe side of the target.
    """

    def eps_at(sigma: float) -> float:
        return epsilon(sigma, sample_rate, steps, delta, accountant, conversion, discretization)

    # ε falls as σ grows: double or halve from σ = 1 until the target is bracketed
    if eps_at(1.0) > target_epsilon:
        low, high = 1.0, 2.0
        while eps_at(high) > target_epsilon:
            low, high = high, high * 2
            if high > 1e4:
                raise ValueError(f"no noise multiplier up to 1e4 reaches ε = {target_epsilon:g}")
    else:
        low, high = 0.5, 1.0
        while eps_at(low) <= target_epsilon:
            low, high = low / 2, low
            if low < 1e-3:
                return round_up(high, tol)
    sigma = dp_accounting.calibrate_dp_mechanism(
        lambda: make_accountant(accountant, conversion, discretization),
        lambda s: dpsgd_event(s, sample_rate, steps),
        target_epsilon,
        delta,
        bracket_interval=dp_accounting.ExplicitBracketInterval(low, high),
        tol=tol / 2,
    )
    return round_up(float(sigma), tol)


def round_up(value: float, step: float) -> float:
    return round(math.ceil(value / step - 1e-9) * step, 10)
