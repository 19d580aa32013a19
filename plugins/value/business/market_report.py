"""The market section: P*, f(P*), g(P*), the allocation, and every step as a Calculation."""

from __future__ import annotations

from typing import Any

from auditkit.plugins.value.business.charts import money, response_chart, segments_chart
from auditkit.plugins.value.business.curves import FORMULAS, OPTIMUM_FORMULAS
from auditkit.plugins.value.business.market_model import MarketModel, MarketResult, Segment
from auditkit.plugins.value.business.sources import combine, given, kind_of, make_illustrative

from auditkit.audit import Audit, Calculation, KeyNumber, Section, Table
from auditkit.charts import drawn_for

MARGINAL_FORMULAS = {
    "saturating": "f'(P) = a·b·exp(−b·P)",
    "logarithmic": "f'(P) = a·b / (1 + b·P)",
    "hill": "f'(P) = a·s·h^s·P^(s−1) / (h^s + P^s)²",
}
# what a reviewer sets to model their own market (the illustrative finding names them)
MARKET_KEYS = ["[market] a", "b", "k", 'budget (or curve = "fit" with points)']
SEGMENT_FORMULAS = {
    "saturating": "P_i = clip(ln(a·b/(k + λ))/b, 0, budget)",
    "logarithmic": "P_i = clip(a/(k + λ) − 1/b, 0, budget)",
}


def money_label(label: str, currency: str) -> str:
    """A key number's label with its currency, as the covers read it: ``Net value V_net (EUR)``."""
    return f"{label} ({currency})" if isinstance(currency, str) and currency else label


def build_section(audit: Audit, charts: bool = True) -> Section:
    """The section; ``charts=False`` leaves the charts out (tests of the numbers); they are
    drawn only for a format that shows them."""
    import pandas as pd

    cfg = audit.config.section("market")
    currency = cfg["currency"]
    model = MarketModel.from_config(cfg, audit.model_dir, audit.config.origin, kind_of(audit.config))
    result = model.solve()
    section = Section(
        "market",
        "Market strategy",
        report="business",
        order=600,
        plugin="market",
        key_metrics=["optimal_spend", "revenue_at_optimum", "net_at_optimum"],
        headline=[
            KeyNumber("optimal_spend", money_label("Optimal promotion spend P*", currency)),
            KeyNumber("net_at_optimum", money_label("Net market return g(P*)", currency)),
        ],
    )
    section.metrics = _metrics(model, result)
    section.calculations = _calculations(model, result)
    section.summary = (
        f"Spend P* = {money(result.spend, currency)} of the {money(result.budget, currency)} budget: "
        f"revenue f(P*) = {money(result.revenue, currency)}, net g(P*) = "
        f"{money(result.net, currency)}."
    )
    inputs = [
        {"input": p.label, "name": p.name, "value": p.describe(), "source": p.source} for p in model.params.values()
    ]
    section.tables.append(Table("Market inputs", pd.DataFrame(inputs), name="inputs"))
    if model.segmented:
        rows = [
            {
                "segment": s.name,
                "curve": seg.shape,
                "k": s.k,
                "spend": s.spend,
                "share of budget": s.spend / result.budget if result.budget else 0.0,
                "revenue f(P_i)": s.revenue,
                "net g(P_i)": s.net,
                "net marginal f'(P_i) − k": s.net_marginal,
            }
            for s, seg in zip(result.segments, model.segments, strict=True)
        ]
        section.tables.append(
            Table(
                "Budget allocation by equal marginal returns",
                pd.DataFrame(rows),
                name="allocation",
                note=f"Every funded segment earns the same net marginal return λ = "
                f"{result.shadow_price:.6g} on its last unit of spend.",
            )
        )
        if charts:
            section.charts.append(segments_chart(result, currency, draw=drawn_for(audit.formats)))
        for seg in result.segments:
            if seg.spend == 0:
                section.add_finding(
                    "info",
                    "market-segment-unfunded",
                    f"segment {seg.name!r} gets no spend: its first unit returns "
                    f"{seg.curve.marginal(0.0):.4g}, less than its cost k = {seg.k:g} plus λ",
                )
    elif charts:
        fit = model.segments[0].fit
        section.charts.append(response_chart(result, fit, currency, draw=drawn_for(audit.formats)))
    for seg in model.segments:
        if seg.fit is not None:
            _report_fit(section, seg, cfg["min_r2"])
    _fill_sources(section.calculations, model)
    _findings(section, model, result, currency)
    if not given(audit.config, "market"):
        make_illustrative(section, "market", MARKET_KEYS)
    section.data = {
        "currency": currency,
        "curve": cfg["curve"] if not model.segmented else "segments",
        "inputs": [p.to_json() for p in model.params.values()],
        "segments": [
            {
                "name": s.name,
                "shape": s.curve.shape,
                "params": s.curve.params(),
                "k": s.k,
                "spend": s.spend,
                "revenue": s.revenue,
                "net": s.net,
            }
            for s in result.segments
        ],
    }
    return section


def _metrics(model: MarketModel, result: MarketResult) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "optimal_spend": result.spend,
        "revenue_at_optimum": result.revenue,
        "net_at_optimum": result.net,
        "budget": result.budget,
        "budget_used_share": result.spend / result.budget if result.budget else 0.0,
        "budget_binding": int(result.binding),
        "net_marginal_return_at_budget": result.net_marginal_at_budget,
        "marginal_return_at_budget": result.marginal_at_budget,
        "segments": len(result.segments) if model.segmented else 0,
    }
    if model.segmented:
        metrics["shadow_price"] = result.shadow_price
    else:
        metrics["cost_per_unit"] = result.segments[0].k
        metrics["unconstrained_optimal_spend"] = result.unconstrained_spend
    fits = [s.fit for s in model.segments if s.fit is not None]
    if len(fits) == 1 and not model.segmented:
        metrics["fit_r2"] = fits[0].r2
    return metrics


def _fill_sources(calculations: list[Calculation], model: MarketModel) -> None:
    """Each input's source: its Param's kind; a number computed here (P*, f(P*), λ) carries
    the weakest kind of the market's inputs, fitted points the kind of their points."""
    derived = combine(p.source for p in model.params.values())
    for calc in calculations:
        _, _, rest = calc.name.partition("[")
        prefix = f"market.segments.{rest[:-1]}." if rest and model.segmented else "market."
        sources = {}
        for key in calc.inputs:
            param = model.params.get(prefix + key) or model.params.get("market." + key)
            if param is None and key == "points":
                param = model.params.get(prefix + "a")
            sources[key] = param.source if param is not None else derived
        calc.sources = sources


def _calculations(model: MarketModel, result: MarketResult) -> list[Calculation]:
    out: list[Calculation] = []
    budget = result.budget
    if not model.segmented:
        seg = result.segments[0]
        shape = seg.curve.shape
        params = seg.curve.params()
        out.append(
            Calculation(
                "optimal_spend", OPTIMUM_FORMULAS[shape], {**params, "k": seg.k, "budget": budget}, result.spend
            )
        )
        out.append(
            Calculation(
                "revenue_at_optimum", FORMULAS[shape] + " at P = P*", {**params, "P*": result.spend}, result.revenue
            )
        )
        out.append(
            Calculation(
                "net_at_optimum",
                "g(P*) = f(P*) − k·P*",
                {"f(P*)": result.revenue, "k": seg.k, "P*": result.spend},
                result.net,
            )
        )
        out.append(
            Calculation(
                "marginal_return_at_budget",
                MARGINAL_FORMULAS[shape] + " at P = budget",
                {**params, "budget": budget},
                result.marginal_at_budget,
            )
        )
        out.append(
            Calculation(
                "net_marginal_return_at_budget",
                "f'(budget) − k",
                {"f'(budget)": result.marginal_at_budget, "k": seg.k},
                result.net_marginal_at_budget,
            )
        )
        return out
    lam = result.shadow_price
    out.append(
        Calculation(
            "shadow_price",
            "λ = 0 if Σ P_i(0) <= budget, else the root of Σ P_i(λ) = budget (Brent)",
            {"budget": budget, "segments": [s.name for s in result.segments]},
            lam,
        )
    )
    for s in result.segments:
        params = s.curve.params()
        out.append(
            Calculation(
                f"spend[{s.name}]",
                SEGMENT_FORMULAS[s.curve.shape],
                {**params, "k": s.k, "λ": lam, "budget": budget},
                s.spend,
            )
        )
        out.append(
            Calculation(
                f"net[{s.name}]",
                f"g_i = f_i(P_i) − k·P_i with {FORMULAS[s.curve.shape]}",
                {**params, "k": s.k, "P_i": s.spend},
                s.net,
            )
        )
    out.append(Calculation("optimal_spend", "Σ_i P_i", {s.name: s.spend for s in result.segments}, result.spend))
    out.append(
        Calculation("revenue_at_optimum", "Σ_i f_i(P_i)", {s.name: s.revenue for s in result.segments}, result.revenue)
    )
    out.append(Calculation("net_at_optimum", "Σ_i g_i(P_i)", {s.name: s.net for s in result.segments}, result.net))
    out.append(
        Calculation(
            "net_marginal_return_at_budget",
            "λ_B: the common f_i'(P_i) − k_i when Σ P_i = budget is spent in full",
            {"budget": budget},
            result.net_marginal_at_budget,
        )
    )
    return out


def _report_fit(section: Section, seg: Segment, min_r2: float) -> None:
    import pandas as pd

    fit = seg.fit
    assert fit is not None
    where = f"segment {seg.name!r}" if seg.prefix != "market." else "the market"
    rows = [
        {"shape": shape, **{k: float(v) for k, v in params.items()}, "R²": r2, "chosen": shape == fit.curve.shape}
        for shape, params, r2 in fit.candidates
    ]
    section.tables.append(
        Table(
            f"Least-squares fit of the response curve ({where})",
            pd.DataFrame(rows),
            name=f"fit-{seg.name}",
            note=f"{len(fit.points)} observed points",
        )
    )
    section.calculations.append(
        Calculation(
            f"fit_r2[{seg.name}]",
            f"R² = 1 − Σ(r − f(P))² / Σ(r − mean r)² of the least-squares {fit.curve.shape} fit",
            {"points": [list(p) for p in fit.points], **fit.curve.params()},
            fit.r2,
        )
    )
    if fit.r2 < min_r2:
        section.add_finding(
            "warn",
            "market-fit-poor",
            f"the {fit.curve.shape} curve fits {where}'s observed points with R² = {fit.r2:.3f} "
            f"< {min_r2:g} ([market] min_r2): P* rests on a poor model; collect more points or "
            f"try another fit_shape",
        )


def _findings(section: Section, model: MarketModel, result: MarketResult, currency: str) -> None:
    if result.spend == 0 and result.budget > 0:
        section.add_finding(
            "info",
            "market-no-spend",
            "no promotion pays: the first unit of spend returns less than its cost k, so P* = 0 and g(P*) = 0",
        )
    elif result.binding:
        section.add_finding(
            "info",
            "market-budget-binds",
            f"the budget of {money(result.budget, currency)} binds: the last unit of spend still "
            f"returns {result.net_marginal_at_budget:.4g} net per unit, so a larger budget would "
            "add value",
        )
    if any(p.dist is not None for p in model.params.values()):
        section.add_finding(
            "info",
            "market-uncertain-inputs",
            "some market inputs are distributions: this section reports their base values (mean, "
            "mode or midpoint); the valuation's Monte Carlo carries the spread",
        )
    if model.segmented:
        section.add_finding(
            "info",
            "market-segments",
            f"{len(model.segments)} segments share the budget; [market] curve keys serve only as "
            "defaults for keys a segment leaves out",
        )
