"""The valuation section: the chain, NPV, Monte Carlo, tornado, tables, charts and verdicts.

Verdict rules (findings; the valuation never fails an audit by itself, ``[policy]``
thresholds on ``valuation.*`` metrics can): ``warn`` when the risk-adjusted value is 0,
when the NPV is negative, when costs exceed the technology value (V_net clamped at 0),
and when the Monte Carlo puts the NPV's P5 below 0 while the point NPV is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditkit.plugins.value.business import advice, chain
from auditkit.plugins.value.business.charts import histogram_chart, money, tornado_chart, waterfall_chart
from auditkit.plugins.value.business.market_report import MARKET_KEYS
from auditkit.plugins.value.business.montecarlo import MonteCarlo, monte_carlo, tornado
from auditkit.plugins.value.business.sources import combine, given, kind_of, make_illustrative
from auditkit.plugins.value.business.valuation_inputs import Inputs, gather

from auditkit.audit import Audit, Calculation, Section, Table
from auditkit.charts import drawn_for
from auditkit.config import MEASURED

# what a reviewer sets to value the model (the illustrative finding names them)
VALUATION_KEYS = ["[valuation] alpha", "beta", "horizon_years", "discount_rate", "growth", "[[valuation.ethics]]"]
KEY_METRICS = ["risk_adjusted_value", "npv", "net_value", "market_value", "fairness_score", "ethics_score"]


def build_section(audit: Audit, charts: bool = True) -> Section:
    """The section; ``charts=False`` leaves the charts out (tests of the numbers); they are
    drawn only for a format that shows them."""
    cfg = audit.config.section("valuation")
    currency = cfg["currency"]
    section = Section(
        "valuation", "Valuation", report="business", order=700, plugin="valuation", key_metrics=list(KEY_METRICS)
    )
    inputs = gather(audit, cfg, section)
    params = inputs.params
    market_names = [n for n in params if n.startswith("market.")]

    def market(values: dict[str, float]) -> float:
        # g(P*) is the market section's number unless a draw or a tornado bar moved a market input
        if inputs.market_model is None or all(values[n] == params[n].base for n in market_names):
            return inputs.market_value
        return inputs.market_model.net(values)

    settings = chain.ChainSettings(cfg["horizon_years"], cfg["training_cost_in"] == "upfront", market)
    result = chain.evaluate({n: p.base for n, p in params.items()}, settings)
    model = lambda values: chain.outputs(chain.evaluate(values, settings))  # noqa: E731

    mc = None
    if any(p.dist is not None for p in params.values()) and cfg["monte_carlo_samples"] > 0:
        mc = monte_carlo(params, model, cfg["monte_carlo_samples"], cfg["seed"])
    elif cfg["monte_carlo_samples"] > 0:
        section.add_finding(
            "info",
            "valuation-no-uncertainty",
            "every input is a point value, so no Monte Carlo ran; give any [market] or [valuation] "
            'number as a distribution, e.g. alpha = {dist = "normal", mean = 100000, sd = 15000}',
        )
    output = cfg["tornado_output"]
    base_out, bars = tornado(params, lambda values: model(values)[output], cfg["tornado_swing"])

    section.metrics = _metrics(result, inputs, cfg, mc)
    section.calculations = _calculations(result, inputs, cfg, mc)
    _fill_sources(section.calculations, inputs, kind_of(audit.config))
    _tables(section, result, inputs, cfg, mc, bars, base_out)
    if charts:
        draw = drawn_for(audit.formats)
        steps = _waterfall_steps(result)
        section.charts.append(waterfall_chart(steps, result.risk_adjusted_value, currency, draw=draw))
        if mc is not None:
            section.charts.append(histogram_chart(mc, currency, draw=draw))
        section.charts.append(tornado_chart(bars, base_out, output, currency, draw=draw))
    _verdicts(section, result, mc, currency)
    section.summary = _summary(result, cfg, mc, currency)
    market = audit.sections.get("market")
    if market is not None and market.illustrative and inputs.market_source == "market section":
        section.add_finding(
            "info",
            "valuation-market-illustrative",
            f"g(P*) = {money(inputs.market_value, currency)} comes from the market section's default inputs "
            f"(illustrative); set {', '.join(MARKET_KEYS)}, or disable the market plugin (-p no:market)",
        )
    if not given(audit.config, "valuation"):
        make_illustrative(section, "valuation", VALUATION_KEYS)
    section.data = {
        "currency": currency,
        "primary_metric": inputs.measured.name,
        "training_cost_in": cfg["training_cost_in"],
        "market_source": inputs.market_source,
        "inputs": [p.to_json() for p in params.values()],
        "ethics": inputs.ethics,
        "cash_flows": [
            {"year": t, "cash_flow": cf, "present_value": pv}
            for t, (cf, pv) in enumerate(zip(result.cash_flows, result.present_values, strict=True), 1)
        ],
        "tornado": {
            "output": output,
            "base": base_out,
            "bars": [
                {
                    "name": b.name,
                    "range": b.range,
                    "low_input": b.low_input,
                    "high_input": b.high_input,
                    "low_output": b.low_output,
                    "high_output": b.high_output,
                    "swing": b.swing,
                }
                for b in bars
            ],
        },
        "monte_carlo": None
        if mc is None
        else {
            "samples": mc.samples,
            "seed": mc.seed,
            "uncertain": mc.uncertain,
            "clipped": mc.clipped,
            "percentiles": mc.percentiles,
        },
    }
    advice.declare(section, currency, inputs.measured.name)
    return section


def _metrics(r: chain.ChainResult, inputs: Inputs, cfg: dict[str, Any], mc: MonteCarlo | None) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "primary_metric_value": r.y,
        "accuracy": inputs.accuracy,
        "alpha": r.alpha,
        "beta": r.beta,
        "technology_value": r.technology_value,
        "privacy_cost": r.privacy_cost,
        "compliance_cost": r.compliance_cost,
        "training_cost": r.training_cost,
        "net_value": r.net_value,
        "market_value": r.market_value,
        "fairness_score": r.fairness_score,
        "ethics_score": r.ethics_score,
        "risk_adjusted_value": r.risk_adjusted_value,
        "npv": r.npv,
        "horizon_years": cfg["horizon_years"],
        "growth": r.growth,
        "discount_rate": r.discount_rate,
    }
    if mc is not None:
        for key in ("risk_adjusted_value", "npv"):
            for q in ("p5", "p50", "p95"):
                metrics[f"{key}_{q}"] = mc.percentiles[key][q]
        metrics["probability_npv_negative"] = float((mc.outputs["npv"] < 0).mean())
        metrics["monte_carlo_samples"] = mc.samples
    return metrics


def _calculations(
    r: chain.ChainResult, inputs: Inputs, cfg: dict[str, Any], mc: MonteCarlo | None
) -> list[Calculation]:
    m = inputs.measured
    t_word = "0 (T counts upfront in the NPV)" if cfg["training_cost_in"] == "upfront" else "T"
    out = [
        Calculation("primary_metric_value", m.formula, {"metric": m.name, "rows": m.rows, "positive": m.positive}, r.y),
        Calculation("technology_value", "V = α·y + β", {"α": r.alpha, "y": r.y, "β": r.beta}, r.technology_value),
        Calculation(
            "net_value",
            f"V_net = max(V − C − D − {t_word}, 0)",
            {"V": r.technology_value, "C": r.privacy_cost, "D": r.compliance_cost, "T": r.training_cost_in_net},
            r.net_value,
        ),
        Calculation(
            "market_value",
            "g(P*) = market.net_at_optimum (0 when the market section is absent)",
            {"source": inputs.market_source},
            r.market_value,
        ),
        Calculation(
            "fairness_score",
            "F = fairness.score (1 when absent or undefined)",
            {"fairness.score": inputs.fairness_measured},
            r.fairness_score,
        ),
        Calculation(
            "ethics_score",
            "E = min(Σ weight·met, 1) (1 without a checklist)",
            {row["item"]: {"weight": row["weight"], "met": row["met"]} for row in inputs.ethics},
            r.ethics_score,
        ),
        Calculation(
            "risk_adjusted_value",
            "R = (V_net + g(P*)) · F · E",
            {"V_net": r.net_value, "g(P*)": r.market_value, "F": r.fairness_score, "E": r.ethics_score},
            r.risk_adjusted_value,
        ),
    ]
    for year, (flow, present) in enumerate(zip(r.cash_flows, r.present_values, strict=True), start=1):
        out.append(
            Calculation(
                f"cash_flow[{year}]",
                "CF_t = R·(1 + growth)^(t−1)",
                {"R": r.risk_adjusted_value, "growth": r.growth, "t": year},
                flow,
            )
        )
        out.append(
            Calculation(
                f"present_value[{year}]",
                "PV_t = CF_t / (1 + r)^t",
                {"CF_t": flow, "r": r.discount_rate, "t": year},
                present,
            )
        )
    out.append(
        Calculation("npv", "NPV = Σ_t PV_t − T_upfront", {"PV_t": r.present_values, "T_upfront": r.upfront}, r.npv)
    )
    if mc is not None:
        for key in ("risk_adjusted_value", "npv"):
            for q in ("p5", "p50", "p95"):
                out.append(
                    Calculation(
                        f"{key}_{q}",
                        f"numpy.percentile({key} over the draws, {q[1:]})",
                        {"samples": mc.samples, "seed": mc.seed, "uncertain": mc.uncertain},
                        mc.percentiles[key][q],
                    )
                )
    return out


def _fill_sources(calculations: list[Calculation], inputs: Inputs, kind: Callable[[str], str]) -> None:
    """Each input's source: a chain input's Param kind; a number computed here (V, V_net, R,
    CF_t, PV_t) the weakest kind of what it was computed from (any default makes it one)."""
    p = {name: param.source for name, param in inputs.params.items()}
    v = combine([p[chain.ALPHA], p[chain.BETA], MEASURED])
    v_net = combine([v, p[chain.C], p[chain.D], p[chain.T]])
    r = combine([v_net, inputs.market_kind, p[chain.F], p[chain.E]])
    flow = combine([r, p[chain.GROWTH]])
    present = combine([flow, p[chain.RATE]])
    known = {
        "α": p[chain.ALPHA],
        "β": p[chain.BETA],
        "y": MEASURED,
        "V": v,
        "C": p[chain.C],
        "D": p[chain.D],
        "T": p[chain.T],
        "T_upfront": p[chain.T],
        "source": inputs.market_kind,
        "g(P*)": inputs.market_kind,
        "fairness.score": p[chain.F],
        "F": p[chain.F],
        "E": p[chain.E],
        "V_net": v_net,
        "R": r,
        "growth": p[chain.GROWTH],
        "r": p[chain.RATE],
        "t": kind("valuation.horizon_years"),
        "CF_t": flow,
        "PV_t": present,
        "samples": kind("valuation.monte_carlo_samples"),
        "seed": kind("valuation.seed"),
        "uncertain": combine(p.values()),
    }
    for calc in calculations:
        if calc.name == "primary_metric_value":
            calc.sources = {key: MEASURED for key in calc.inputs}
        elif calc.name == "ethics_score":
            calc.sources = {key: p[chain.E] for key in calc.inputs} or {"checklist": p[chain.E]}
        else:
            calc.sources = {key: known.get(key, combine(p.values())) for key in calc.inputs}


def _waterfall_steps(r: chain.ChainResult) -> list[tuple[str, float]]:
    steps = [
        ("V technology", r.technology_value),
        ("− C privacy", -r.privacy_cost),
        ("− D compliance", -r.compliance_cost),
    ]
    if r.training_cost_in_net:
        steps.append(("− T training", -r.training_cost_in_net))
    if r.clamped:
        steps.append(("clamp at 0", -r.before_clamp))
    gross = r.net_value + r.market_value
    steps += [
        ("+ g(P*) market", r.market_value),
        ("× F fairness", gross * (r.fairness_score - 1)),
        ("× E ethics", gross * r.fairness_score * (r.ethics_score - 1)),
    ]
    return steps


def _tables(
    section: Section,
    r: chain.ChainResult,
    inputs: Inputs,
    cfg: dict[str, Any],
    mc: MonteCarlo | None,
    bars: list[Any],
    base_out: float,
) -> None:
    import pandas as pd

    currency = cfg["currency"]
    upfront = cfg["training_cost_in"] == "upfront"
    steps = [
        ("y", f"{inputs.measured.name} on the evaluation data", r.y),
        ("V", "α·y + β", r.technology_value),
        ("V_net", "max(V − C − D, 0)" if upfront else "max(V − C − D − T, 0)", r.net_value),
        ("g(P*)", "market.net_at_optimum", r.market_value),
        ("F", "fairness.score", r.fairness_score),
        ("E", "min(Σ weight·met, 1)", r.ethics_score),
        ("R", "(V_net + g(P*))·F·E", r.risk_adjusted_value),
        ("NPV", f"Σ CF_t/(1 + r)^t over {cfg['horizon_years']} years − T_upfront", r.npv),
    ]
    section.tables.append(
        Table(
            f"Value chain ({currency} a year unless stated)",
            pd.DataFrame(steps, columns=["quantity", "formula", "value"]),
            name="chain",
        )
    )
    t_in = "NPV, year 0" if upfront else "V_net, every year"
    costs = [
        ("C privacy protection", r.privacy_cost, inputs.params[chain.C].source, "V_net, every year"),
        ("D compliance", r.compliance_cost, inputs.params[chain.D].source, "V_net, every year"),
        ("T training", r.training_cost, inputs.params[chain.T].source, t_in),
    ]
    frame = pd.DataFrame(costs, columns=["cost", "amount", "source", "counted in"])
    section.tables.append(Table("Itemised costs", frame, name="costs"))
    if inputs.ethics:
        section.tables.append(
            Table(
                "Ethics checklist",
                pd.DataFrame(inputs.ethics),
                name="ethics",
                note=f"E = min(Σ weight·met, 1) = {r.ethics_score:.4g}",
            )
        )
    flows = [
        {"year": t, "cash flow": cf, "discount factor": 1 / (1 + r.discount_rate) ** t, "present value": pv}
        for t, (cf, pv) in enumerate(zip(r.cash_flows, r.present_values, strict=True), start=1)
    ]
    if r.upfront:
        flows.insert(0, {"year": 0, "cash flow": -r.upfront, "discount factor": 1.0, "present value": -r.upfront})
    section.tables.append(
        Table("Cash flows and NPV", pd.DataFrame(flows), name="cash-flows", note=f"NPV = {money(r.npv, currency)}")
    )
    assumptions = [
        {"input": p.label, "name": p.name, "given as": p.describe(), "base": p.base, "source": p.source}
        for p in inputs.params.values()
    ]
    section.tables.append(Table("Assumptions", pd.DataFrame(assumptions), name="assumptions"))
    rows = [
        {
            "input": b.label,
            "range": b.range,
            "low": b.low_input,
            "high": b.high_input,
            "output at low": b.low_output,
            "output at high": b.high_output,
            "swing": b.swing,
        }
        for b in bars
    ]
    what = cfg["tornado_output"].replace("_", " ")
    section.tables.append(
        Table(f"Tornado: {what} (base {money(base_out, currency)})", pd.DataFrame(rows), name="tornado")
    )
    if mc is not None:
        pct = [{"output": key.replace("_", " "), **mc.percentiles[key]} for key in ("risk_adjusted_value", "npv")]
        section.tables.append(
            Table(
                f"Monte Carlo ({mc.samples} draws, seed {mc.seed})",
                pd.DataFrame(pct),
                name="monte-carlo",
                note="uncertain inputs: " + ", ".join(mc.uncertain),
            )
        )
        for name, count in mc.clipped.items():
            section.add_finding(
                "info",
                "valuation-draws-clipped",
                f"{count} of {mc.samples} draws of {name} fell outside its allowed range and were clipped to the bound",
            )


def _verdicts(section: Section, r: chain.ChainResult, mc: MonteCarlo | None, currency: str) -> None:
    if r.clamped:
        section.add_finding(
            "warn",
            "valuation-costs-exceed-value",
            f"the costs exceed the technology value by {money(-r.before_clamp, currency)}: "
            "V_net = max(V − C − D − T, 0) is clamped at 0",
        )
    if r.risk_adjusted_value == 0:
        why = [
            w
            for w, zero in (
                ("V_net + g(P*) = 0", r.net_value + r.market_value == 0),
                ("F = 0", r.fairness_score == 0),
                ("E = 0", r.ethics_score == 0),
            )
            if zero
        ]
        section.add_finding(
            "warn",
            "valuation-zero-value",
            f"the risk-adjusted value is 0 ({', '.join(why)}): the model creates no value as audited",
        )
    if r.npv < 0:
        section.add_finding(
            "warn",
            "valuation-negative-npv",
            f"the NPV is negative ({money(r.npv, currency)}): the model does not pay back its costs over the horizon",
        )
    elif mc is not None and mc.percentiles["npv"]["p5"] < 0:
        share = float((mc.outputs["npv"] < 0).mean())
        section.add_finding(
            "warn",
            "valuation-npv-at-risk",
            f"the NPV is negative in {share:.1%} of the Monte Carlo draws (P5 = "
            f"{money(mc.percentiles['npv']['p5'], currency)})",
        )


def _summary(r: chain.ChainResult, cfg: dict[str, Any], mc: MonteCarlo | None, currency: str) -> str:
    text = (
        f"Risk-adjusted value {money(r.risk_adjusted_value, currency)} a year = (V_net "
        f"{money(r.net_value)} + g(P*) {money(r.market_value)}) × F {r.fairness_score:.3g} × E "
        f"{r.ethics_score:.3g}; NPV over {cfg['horizon_years']} years at {r.discount_rate:.1%}: "
        f"{money(r.npv, currency)}."
    )
    if mc is not None:
        p = mc.percentiles["risk_adjusted_value"]
        text += f" Monte Carlo P5–P95: {money(p['p5'])} to {money(p['p95'], currency)}."
    return text
