"""Constraint scores F_c, the fairness score F and the verdict rule.

A difference d has tolerance τ as an upper bound: F_c = min(τ / d, 1) (1 when d ≤ τ or
d = 0). A ratio (folded into [0, 1]) has τ as a lower bound: F_c = min(d / τ, 1).
F = min over the constraints that could be evaluated.

Verdict of one constraint, with the bootstrap interval [lo, hi] of d:
pass when d meets τ; warn when d misses τ but the interval contains τ (the data cannot
tell: an interval that contains the tolerance never fails); fail when the whole interval
is on the wrong side of τ (lo > τ for a difference, hi < τ for a ratio), or when d misses
τ and there is no interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERDICT_RULE = (
    "pass: the measured disparity d meets its tolerance τ. warn: d misses τ but the "
    "{level:.0%} bootstrap interval of d contains τ, so the data cannot tell whether τ is met. "
    "fail: the whole interval is beyond τ (lower bound above τ for a difference, upper bound "
    "below τ for a ratio), or d misses τ and no interval was computed. The interval is that of "
    "the feature whose disparity is d."
)
RATIO_CONVENTION = (
    "Ratios are folded into [0, 1]: between groups a ratio is the smallest group's value "
    "over the largest's (fairlearn's min/max); against a reference group each group's "
    "value over the reference's, with r > 1 folded into 1/r (the 0.8–1.25 band of "
    "Aequitas becomes r ≥ 0.8). A ratio constraint fails when d < τ, and "
    "F_c = min(d / τ, 1); a difference constraint fails when d > τ, and F_c = min(τ / d, 1)."
)


@dataclass
class ConstraintResult:
    """One constraint: its disparity d, tolerance τ, score F_c and verdict."""

    name: str
    kind: str
    tolerance: float
    value: float | None
    ci: tuple[float, float] | None
    score: float | None
    verdict: str  # pass | warn | fail | undefined
    feature: str | None = None
    groups: list[str] = field(default_factory=list)
    metric: str | None = None
    note: str | None = None
    ci_all_features: tuple[float, float] | None = None  # see Disparity.ci_all_features


def constraint_score(kind: str, d: float, tau: float) -> float:
    """F_c = min(τ / d, 1) for a difference, min(d / τ, 1) for a ratio."""
    if kind == "difference":
        return 1.0 if d <= tau or d == 0 else tau / d
    return 1.0 if d >= tau else d / tau


def verdict(kind: str, d: float, tau: float, ci: tuple[float, float] | None) -> str:
    misses = d > tau if kind == "difference" else d < tau
    if not misses:
        return "pass"
    if ci is None:
        return "fail"
    clear = ci[0] > tau if kind == "difference" else ci[1] < tau
    return "fail" if clear else "warn"


def evaluate(
    name: str,
    kind: str,
    tau: float,
    value: float | None,
    ci: tuple[float, float] | None,
    feature: str | None = None,
    groups: list[str] | None = None,
    metric: str | None = None,
    note: str | None = None,
) -> ConstraintResult:
    if value is None:
        return ConstraintResult(
            name,
            kind,
            tau,
            None,
            ci,
            None,
            "undefined",
            feature,
            groups or [],
            metric,
            note or "the disparity is undefined",
        )
    return ConstraintResult(
        name,
        kind,
        tau,
        value,
        ci,
        constraint_score(kind, value, tau),
        verdict(kind, value, tau, ci),
        feature,
        groups or [],
        metric,
        note,
    )


def overall(results: list[ConstraintResult]) -> tuple[float | None, ConstraintResult | None]:
    """F = the weakest constraint's F_c, and the constraint that sets it.

    When every F_c is 1 no constraint binds: the binding one is None (naming the one
    "closest" to its tolerance would pick one of several equal scores arbitrarily).
    """
    scored = [r for r in results if r.score is not None]
    if not scored:
        return None, None
    binding = min(scored, key=lambda r: (r.score, -_closeness(r)))
    return binding.score, (binding if binding.score < 1.0 else None)


def closest(results: list[ConstraintResult]) -> ConstraintResult | None:
    """The constraint whose d is nearest its tolerance (for "all met" summaries, never as binding)."""
    scored = [r for r in results if r.score is not None]
    return max(scored, key=_closeness, default=None)


def _closeness(r: ConstraintResult) -> float:
    """How near d is to τ (1 = at the tolerance): picks the binding one when all F_c are 1."""
    assert r.value is not None
    if r.kind == "difference":
        return r.value / r.tolerance if r.tolerance > 0 else float(r.value > 0)
    return r.tolerance / r.value if r.value > 0 else float("inf")
