"""Valuation: what the model is worth, risk-adjusted, over years, and how sure that is.

V = α·y + β (y measured on the audit's evaluation data), V_net = max(V − C − D − T, 0),
R = (V_net + g(P*)) · F · E, NPV of R over ``horizon_years``; a seeded Monte Carlo over
every input given as a distribution, and a tornado. C and D come from the privacy
section, T from the training section, F from fairness, g(P*) from the market section.

Ordering: the valuation's ``auditkit_value`` is ``trylast=True``, so it runs after the
market plugin's (the runner stores each value section before calling the next hook) and
reads ``market.net_at_optimum``; for the Monte Carlo it re-solves the market through the
shared :class:`auditkit.plugins.value.business.market_model.MarketModel`.
"""

from __future__ import annotations

from typing import Any

from auditkit.plugins.value.business.distributions import validator

from auditkit import Audit, ConfigSection, Option, Section, hookimpl

PRIMARY_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "f1", "precision", "recall", "auc")
ETHICS_KEYS = ("item", "weight", "met", "note")
ETHICS_EXAMPLE = (
    "intended use documented, human oversight, complaint channel, data consent, incident response, model card published"
)


def check_ethics(value: list[dict[str, Any]]) -> None:
    """Each ``[[valuation.ethics]]`` item: a name, a weight >= 0 and met (true/false or 0–1)."""
    seen: set[str] = set()
    for number, entry in enumerate(value, start=1):
        item = entry.get("item")
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f'an item name in every [[valuation.ethics]] table; add item = "..." to entry {number}')
        where = f"ethics item {number} {item!r}"
        if item in seen:
            raise ValueError(f"unique ethics item names; {item!r} appears twice")
        seen.add(item)
        unknown = sorted(set(entry) - set(ETHICS_KEYS))
        if unknown:
            raise ValueError(f"only keys {', '.join(ETHICS_KEYS)} in {where}; remove {', '.join(unknown)}")
        weight = entry.get("weight")
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not 0 <= weight < float("inf"):
            raise ValueError(f"a weight >= 0 in {where}, e.g. weight = 0.25")
        met = entry.get("met")
        if not (isinstance(met, bool) or (isinstance(met, (int, float)) and 0 <= met <= 1)):
            raise ValueError(f"met = true, false or a number from 0 to 1 (partly met) in {where}")
        if "note" in entry and not isinstance(entry["note"], str):
            raise ValueError(f"note as text in {where}")


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    dist = "a number or a distribution table (normal, triangular, uniform)"
    return ConfigSection(
        "valuation",
        [
            Option("currency", "str", "EUR", "currency unit of every amount in the valuation"),
            Option(
                "primary_metric",
                "str",
                "accuracy",
                "technology metric y, measured on the audit's evaluation data",
                choices=PRIMARY_METRICS,
            ),
            Option(
                "alpha",
                "any",
                100000.0,
                f"α in V = α·y + β: money a year per unit of y (y in 0–1); {dist}",
                validate=validator(),
            ),
            Option("beta", "any", 0.0, f"β in V = α·y + β: money a year whatever y; {dist}", validate=validator()),
            Option(
                "training_cost_in",
                "str",
                "net_value",
                "where the training cost T counts: net_value (V_net = "
                "max(V − C − D − T, 0), every year) or upfront (a one-off outflow at year 0 of the NPV)",
                choices=("net_value", "upfront"),
            ),
            Option("horizon_years", "int", 3, "years of cash flows in the NPV", minimum=1, maximum=50),
            Option(
                "growth",
                "any",
                0.0,
                f"yearly growth of the cash flow, CF_t = R·(1 + growth)^(t−1); {dist}",
                validate=validator(-1),
            ),
            Option(
                "discount_rate",
                "any",
                0.08,
                f"yearly discount rate r, NPV = Σ CF_t/(1 + r)^t; {dist}",
                validate=validator(-0.99),
            ),
            Option(
                "monte_carlo_samples",
                "int",
                2000,
                "Monte Carlo draws when any input is a distribution (0: off)",
                minimum=0,
                maximum=200000,
            ),
            Option("seed", "int", 0, "seed of the Monte Carlo", minimum=0, maximum=2**32 - 1),
            Option(
                "tornado_swing",
                "float",
                0.1,
                "tornado range of a point input: base·(1 ∓ swing); inputs with a distribution use their P5–P95",
                minimum=0.001,
                maximum=1,
            ),
            Option("tornado_output", "str", "npv", "what the tornado measures", choices=("npv", "risk_adjusted_value")),
            Option(
                "ethics",
                "list[table]",
                [],
                "[[valuation.ethics]] checklist: item, weight, met (true/false or "
                f"0–1), note; E = min(Σ weight·met, 1). Typical items: {ETHICS_EXAMPLE}",
                validate=check_ethics,
            ),
        ],
        help="Valuation: V = α·y + β, V_net = max(V − C − D − T, 0), (V_net + g(P*))·F·E, NPV and uncertainty.",
    )


@hookimpl(trylast=True)
def auditkit_value(audit: Audit) -> Section:
    from auditkit.plugins.value.business.valuation_report import build_section

    return build_section(audit)
