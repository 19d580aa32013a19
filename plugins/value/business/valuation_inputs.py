"""Gather the valuation's inputs: config, measured y, other sections' C, D, T, F, and g(P*).

Every input becomes a :class:`~.distributions.Param` with its source, and every gap gets
a finding instead of a silent zero: a missing fairness section means F = 1 (``warn``: the
value is not risk-adjusted for fairness), missing privacy costs mean C = D = 0 (``info``),
a missing market section means g(P*) = 0 (``warn``), no ethics checklist E = 1 (``info``:
not assessed). A fallback value's source is "default"; C, D and T carry the weakest source
of their own calculation's inputs (a cost priced from default rates is a default).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from auditkit.plugins.value.business import chain
from auditkit.plugins.value.business.distributions import Param, to_param
from auditkit.plugins.value.business.market_model import MarketModel
from auditkit.plugins.value.business.metrics import Measured, measure
from auditkit.plugins.value.business.sources import combine, kind_of

from auditkit.audit import Audit, Section
from auditkit.config import DEFAULT, MEASURED


@dataclass
class Inputs:
    params: dict[str, Param]
    measured: Measured
    accuracy: float
    market_value: float
    market_model: MarketModel | None
    market_source: str
    fairness_measured: Any
    ethics: list[dict[str, Any]] = field(default_factory=list)
    market_kind: str = DEFAULT  # who set the inputs g(P*) rests on (auditkit.config.SOURCE_KINDS)


def gather(audit: Audit, cfg: dict[str, Any], section: Section) -> Inputs:
    source = kind_of(audit.config)
    measured = measure(audit, cfg["primary_metric"])
    accuracy = measured.value if measured.name == "accuracy" else measure(audit, "accuracy").value
    params = {
        chain.Y: Param(chain.Y, measured.value, lower=0.0, upper=1.0, source=MEASURED, label=f"y ({measured.name})"),
        chain.ALPHA: to_param(
            chain.ALPHA, cfg["alpha"], source=source("valuation.alpha"), label="α (value per unit y)"
        ),
        chain.BETA: to_param(chain.BETA, cfg["beta"], source=source("valuation.beta"), label="β (base value)"),
        chain.GROWTH: to_param(chain.GROWTH, cfg["growth"], -1.0, source=source("valuation.growth"), label="growth"),
        chain.RATE: to_param(
            chain.RATE, cfg["discount_rate"], -0.99, source=source("valuation.discount_rate"), label="discount rate r"
        ),
    }
    params[chain.C], params[chain.D] = _privacy_costs(audit, section)
    params[chain.T] = _training_cost(audit, section)
    fairness_measured = audit.metric("fairness.score")
    params[chain.F] = _fairness(audit, section, fairness_measured)
    ethics_rows, ethics_score, given = _ethics(cfg["ethics"], section)
    params[chain.E] = Param(
        chain.E,
        ethics_score,
        lower=0.0,
        upper=1.0,
        source=source("valuation.ethics") if given else DEFAULT,
        label="E (ethics score)",
    )
    market_value, model, market_source = _market(audit, section)
    if model is not None:
        params.update(model.params)
    return Inputs(
        params,
        measured,
        accuracy,
        market_value,
        model,
        market_source,
        fairness_measured,
        ethics_rows,
        _market_kind(audit, model),
    )


def calculation_kind(audit: Audit, dotted: str) -> str:
    """Who set the inputs of another section's number (``privacy.protection_cost``): the
    weakest source among its calculation's inputs; "measured" when it records none."""
    name, _, key = dotted.partition(".")
    found = audit.sections.get(name)
    calc = next((c for c in found.calculations if c.name == key), None) if found is not None else None
    return combine(calc.sources.values()) if calc is not None and calc.sources else MEASURED


def _market_kind(audit: Audit, model: MarketModel | None) -> str:
    if model is not None:
        return combine(p.source for p in model.params.values())
    return calculation_kind(audit, "market.net_at_optimum") if "market" in audit.sections else DEFAULT


def _finite(value: Any) -> bool:
    """A real number (numpy scalars included), not a bool, not NaN or infinite."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _cost(audit: Audit, section: Section, dotted: str, label: str, what: str) -> Param:
    value = audit.metric(dotted)
    name = dotted.partition(".")[0]
    if value is None:
        where = f"no {name} section" if name not in audit.sections else f"the {name} section has no {dotted}"
        section.add_finding("info", f"valuation-{what}-absent", f"{where}: {label} = 0")
        return Param(dotted, 0.0, lower=0.0, source=DEFAULT, label=label)
    if not _finite(value) or value < 0:
        section.add_finding(
            "warn",
            f"valuation-{what}-invalid",
            f"{dotted} = {value!r} is not a cost >= 0: {label} = 0 is used; fix the {name} section's inputs",
        )
        return Param(dotted, 0.0, lower=0.0, source=DEFAULT, label=label)
    return Param(dotted, float(value), lower=0.0, source=calculation_kind(audit, dotted), label=label)


def _privacy_costs(audit: Audit, section: Section) -> tuple[Param, Param]:
    return (
        _cost(audit, section, chain.C, "C (privacy protection cost)", "privacy-cost"),
        _cost(audit, section, chain.D, "D (compliance cost)", "compliance-cost"),
    )


def _training_cost(audit: Audit, section: Section) -> Param:
    return _cost(audit, section, chain.T, "T (training cost)", "training-cost")


def _fairness(audit: Audit, section: Section, score: Any) -> Param:
    label = "F (fairness score)"
    if "fairness" not in audit.sections:
        section.add_finding(
            "warn",
            "valuation-fairness-missing",
            "no fairness section (the fairness plugin is disabled or failed): F = 1 is used, so "
            "the value is not risk-adjusted for fairness",
        )
        return Param(chain.F, 1.0, lower=0.0, upper=1.0, source=DEFAULT, label=label)
    if not _finite(score):
        section.add_finding(
            "warn",
            "valuation-fairness-undefined",
            "the fairness score F is undefined (see the fairness section for why): F = 1 is used, "
            "so the value is not risk-adjusted for fairness",
        )
        return Param(chain.F, 1.0, lower=0.0, upper=1.0, source=DEFAULT, label=label)
    if not 0 <= score <= 1:
        section.add_finding(
            "warn", "valuation-fairness-out-of-range", f"fairness.score = {score:g} lies outside [0, 1]; it is clipped"
        )
    return Param(chain.F, min(max(float(score), 0.0), 1.0), lower=0.0, upper=1.0, source=MEASURED, label=label)


def _ethics(items: list[dict[str, Any]], section: Section) -> tuple[list[dict[str, Any]], float, bool]:
    """E = min(Σ weight·met, 1), item by item; no checklist means E = 1, noted at info: ethics
    was not assessed, which is no finding against the model (a fairness pass stays a pass)."""
    if not items:
        section.add_finding(
            "info",
            "valuation-ethics-missing",
            "ethics not assessed: no [[valuation.ethics]] checklist, so E = 1 (a default) is used and "
            "the value is not risk-adjusted for ethics; list items such as intended use documented, "
            "human oversight, complaint channel and data consent with their weights",
        )
        return [], 1.0, False
    rows = []
    for entry in items:
        met = float(entry["met"])
        rows.append(
            {
                "item": entry["item"],
                "weight": float(entry["weight"]),
                "met": met,
                "contribution": float(entry["weight"]) * met,
                "note": entry.get("note", ""),
            }
        )
    total = sum(r["contribution"] for r in rows)
    weights = sum(r["weight"] for r in rows)
    if weights < 1:
        section.add_finding(
            "info",
            "valuation-ethics-weights",
            f"the ethics weights sum to {weights:g} < 1: even a fully met checklist gives E = {weights:g}",
        )
    missing = [f"{r['item']} (weight {r['weight']:g}, met {r['met']:g})" for r in rows if r["met"] < 1]
    if missing:
        section.add_finding("info", "valuation-ethics-gaps", "ethics items not fully met: " + "; ".join(missing))
    return rows, min(total, 1.0), True


def _market(audit: Audit, section: Section) -> tuple[float, MarketModel | None, str]:
    """g(P*) from the market section, and the model to re-solve it in the Monte Carlo."""
    found = audit.sections.get("market")
    if found is None:
        active = {p.name for p in audit.plugins}
        disabled = "market" not in audit.config.schemas or (active and "market" not in active)  # -p no: / [run]
        if not disabled:
            section.add_finding(
                "warn",
                "valuation-market-missing",
                "no market section (the market plugin failed or returned nothing): g(P*) = 0 is used",
            )
        else:
            section.add_finding(
                "warn",
                "valuation-market-disabled",
                "the market plugin is disabled: g(P*) = 0 is used, so the value leaves out the market strategy",
            )
        return 0.0, None, "absent"
    value = found.metrics.get("net_at_optimum")
    if not _finite(value):
        section.add_finding(
            "warn", "valuation-market-invalid", f"market.net_at_optimum = {value!r} is not a number: g(P*) = 0 is used"
        )
        return 0.0, None, "invalid"
    if "market" not in audit.config.schemas:
        return float(value), None, "market section"
    config = audit.config
    model = MarketModel.from_config(config.section("market"), audit.model_dir, config.origin, kind_of(config))
    again = model.net(model.base)
    if abs(again - value) > 1e-9 * max(1.0, abs(value)):
        section.add_finding(
            "info",
            "valuation-market-fixed",
            f"the market section's g(P*) = {value:g} differs from [market] re-solved ({again:g}); "
            "the Monte Carlo and tornado hold g(P*) fixed at the section's value",
        )
        return float(value), None, "market section"
    return float(value), model, "market section"
