"""Charts of the business report, drawn in the house style of :mod:`auditkit.charts`: each
is drawn only when ``draw`` (a report of the run shows it); its title and text alternative
are made either way."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from auditkit.plugins.value.business.curves import Fit
from auditkit.plugins.value.business.market_model import MarketResult
from auditkit.plugins.value.business.montecarlo import Bar, MonteCarlo

from auditkit.audit import Chart
from auditkit.charts import FAIL_COLOR, PALETTE, PASS_COLOR, chart, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def money(value: float, currency: str = "") -> str:
    """12,345 EUR: whole units, thousands separated, the sign kept (cents below 100)."""
    if abs(value) < 0.005:
        value = 0.0
    text = f"{value:,.0f}" if abs(value) >= 100 or value == 0 else f"{value:,.2f}"
    return f"{text} {currency}".strip()


def _money_axis(axis: Any, ticks: int = 5) -> None:
    """Thousands-separated tick labels, few enough not to collide."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))


def response_chart(result: MarketResult, fit: Fit | None, currency: str, draw: bool = True) -> Chart:
    """f, k·P and g over [0, budget] with P* marked (one market)."""
    seg = result.segments[0]
    upper = max(result.budget, seg.spend * 1.5, 1.0)
    alt = (
        f"Revenue f, cost k·P and net g over spend 0 to {money(upper, currency)}; the optimum P* = "
        f"{money(seg.spend, currency)} gives f(P*) = {money(seg.revenue, currency)} and g(P*) = "
        f"{money(seg.net, currency)}."
    )
    title = "Response curve f, cost k·P and net g with P* marked"
    figure = partial(_response_figure, result, fit, upper, currency) if draw else None
    return chart("market-response", title, alt, figure)


def _response_figure(result: MarketResult, fit: Fit | None, upper: float, currency: str) -> Figure:
    import numpy as np

    seg = result.segments[0]
    xs = np.linspace(0.0, upper, 400)
    fig, ax = new_figure()
    ax.plot(xs, [seg.curve.revenue(float(x)) for x in xs], label="f(P) revenue", color=PALETTE[0])
    ax.plot(xs, seg.k * xs, label=f"k·P cost (k = {seg.k:g})", color=PALETTE[1], linestyle="--")
    ax.plot(
        xs, [seg.curve.revenue(float(x)) - seg.k * float(x) for x in xs], label="g(P) = f(P) − k·P", color=PALETTE[2]
    )
    if fit is not None:
        ax.scatter(
            [p for p, _ in fit.points],
            [r for _, r in fit.points],
            color=PALETTE[7],
            s=12,
            zorder=3,
            label=f"observed (R² = {fit.r2:.3f})",
        )
    ax.axvline(seg.spend, color=PALETTE[5], linewidth=1)
    ax.plot([seg.spend, seg.spend], [seg.revenue, seg.net], "o", color=PALETTE[5], label="P*")
    if result.budget < upper:
        ax.axvline(result.budget, color="#777777", linewidth=0.8, linestyle=":", label="budget")
    ax.set_xlabel(f"promotion spend P ({currency})")
    ax.set_ylabel(currency)
    _money_axis(ax.xaxis)
    _money_axis(ax.yaxis)
    ax.set_title("Response curve and optimal spend")
    ax.legend(loc="upper right")
    return fig


def segments_chart(result: MarketResult, currency: str, draw: bool = True) -> Chart:
    """Each segment's net curve g_i with its allocated spend, and the allocation bars."""
    parts = ", ".join(f"{s.name} {money(s.spend, currency)}" for s in result.segments)
    alt = (
        f"Budget {money(result.budget, currency)} split by equal marginal returns: {parts}; "
        f"total net g = {money(result.net, currency)}."
    )
    title = "Segment allocation (equal marginal returns)"
    return chart("market-segments", title, alt, partial(_segments_figure, result, currency) if draw else None)


def _segments_figure(result: MarketResult, currency: str) -> Figure:
    import numpy as np

    fig, (left, right) = new_figure(width=6.4, height=3.4, ncols=2)
    xs = np.linspace(0.0, max(result.budget, 1.0), 300)
    for i, seg in enumerate(result.segments):
        color = PALETTE[i % len(PALETTE)]
        left.plot(xs, [seg.curve.revenue(float(x)) - seg.k * float(x) for x in xs], color=color, label=seg.name)
        left.plot([seg.spend], [seg.net], "o", color=color)
    _money_axis(left.xaxis, 4)
    _money_axis(left.yaxis)
    _money_axis(right.xaxis, 4)
    left.set_xlabel(f"spend P_i ({currency})")
    left.set_ylabel(f"g_i(P_i) ({currency})")
    left.set_title("Net return per segment")
    left.legend(loc="lower left")
    names = [s.name for s in result.segments]
    right.barh(names, [s.spend for s in result.segments], color=[PALETTE[i % len(PALETTE)] for i in range(len(names))])
    right.invert_yaxis()
    right.set_xlabel(f"allocated spend ({currency})")
    right.set_title("Allocation of the budget")
    return fig


def waterfall_chart(steps: list[tuple[str, float]], final: float, currency: str, draw: bool = True) -> Chart:
    """V → −C → −D → … → ×F → ×E → final: each step a floating bar of its change."""
    alt = "Waterfall: " + "; ".join(f"{label} {money(change, currency)}" for label, change in steps)
    alt += f"; risk-adjusted value {money(final, currency)}."
    title = "Value waterfall: V → −C → −D → +g(P*) → ×F → ×E"
    figure = partial(_waterfall_figure, steps, final, currency) if draw else None
    return chart("valuation-waterfall", title, alt, figure)


def _waterfall_figure(steps: list[tuple[str, float]], final: float, currency: str) -> Figure:
    fig, ax = new_figure(width=6.4, height=3.8)
    level = 0.0
    labels = []
    top, bottom = max(final, 0.0), min(final, 0.0)
    for i, (label, change) in enumerate(steps):
        start = 0.0 if i == 0 else level
        color = PALETTE[0] if i == 0 else (PASS_COLOR if change >= 0 else FAIL_COLOR)
        ax.bar(i, change, bottom=start, color=color, width=0.65)
        level = start + change
        top, bottom = max(top, start, level), min(bottom, start, level)
        ax.annotate(money(change), (i, max(start, level)), ha="center", va="bottom", fontsize=7)
        labels.append(label)
    ax.bar(len(steps), final, color=PALETTE[7], width=0.65)
    ax.annotate(money(final), (len(steps), max(final, 0.0)), ha="center", va="bottom", fontsize=7)
    labels.append("risk-adjusted")
    ax.set_axisbelow(True)
    span = (top - bottom) or 1.0
    ax.set_ylim(bottom - 0.05 * span * (bottom < 0), top + 0.12 * span)  # bars' sticky edges defeat margins()
    _money_axis(ax.yaxis)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.axhline(0, color="#444444", linewidth=0.6)
    ax.set_ylabel(currency)
    ax.set_title("From technology value to risk-adjusted value")
    return fig


def histogram_chart(mc: MonteCarlo, currency: str, draw: bool = True) -> Chart:
    """Histograms of the risk-adjusted value and the NPV with P5, P50 and P95 marked."""
    rav, npv = mc.percentiles["risk_adjusted_value"], mc.percentiles["npv"]
    alt = (
        f"{mc.samples} seeded draws (seed {mc.seed}). Risk-adjusted value P5/P50/P95: {money(rav['p5'])} / "
        f"{money(rav['p50'])} / {money(rav['p95'])} {currency}; NPV: {money(npv['p5'])} / {money(npv['p50'])} / "
        f"{money(npv['p95'])} {currency}."
    )
    title = "Monte Carlo: distribution of value and NPV"
    return chart("valuation-monte-carlo", title, alt, partial(_histogram_figure, mc, currency) if draw else None)


def _histogram_figure(mc: MonteCarlo, currency: str) -> Figure:
    fig, axes = new_figure(width=6.4, height=3.4, ncols=2)
    titles = {"risk_adjusted_value": "Risk-adjusted value (year 1)", "npv": "NPV"}
    for ax, key in zip(axes, ("risk_adjusted_value", "npv"), strict=True):
        ax.hist(mc.outputs[key], bins=40, color=PALETTE[4], histtype="stepfilled")
        for q, style in (("p5", ":"), ("p50", "-"), ("p95", ":")):
            ax.axvline(
                mc.percentiles[key][q],
                color=PALETTE[5],
                linestyle=style,
                linewidth=1.2,
                label=f"{q.upper()} {money(mc.percentiles[key][q])}",
            )
        ax.set_title(titles[key])
        ax.set_xlabel(currency)
        ax.set_axisbelow(True)
        ax.margins(y=0.3)  # room for the legend above the bars
        _money_axis(ax.xaxis, 4)
        ax.legend(loc="upper right", fontsize=7)
    axes[0].set_ylabel("draws")
    return fig


def tornado_chart(
    bars: list[Bar], base: float, output: str, currency: str, top: int = 12, draw: bool = True
) -> Chart:
    """Horizontal bars of the output at each input's low and high, largest swing on top."""
    shown = [b for b in bars if b.swing > 0][:top] or bars[:top]
    alt = f"Tornado of {output.replace('_', ' ')} around {money(base, currency)}"
    if shown:
        first = shown[0]
        alt += (
            f"; the largest swing comes from {first.label}: {money(first.low_output, currency)} to "
            f"{money(first.high_output, currency)}."
        )
    title = "Tornado: sensitivity of the value to each input"
    figure = partial(_tornado_figure, shown, base, output, currency) if draw else None
    return chart("valuation-tornado", title, alt, figure)


def _tornado_figure(shown: list[Bar], base: float, output: str, currency: str) -> Figure:
    fig, ax = new_figure(width=6.4, height=max(2.4, 0.32 * len(shown) + 1.2))
    for i, bar in enumerate(shown):
        for value, color, label in (
            (bar.low_output, PALETTE[1], "input low"),
            (bar.high_output, PALETTE[0], "input high"),
        ):
            ax.barh(i, value - base, left=base, color=color, height=0.6, label=label if i == 0 else None)
    ax.set_yticks(range(len(shown)), [f"{b.label} [{b.range}]" for b in shown])
    ax.invert_yaxis()
    ax.axvline(base, color="#444444", linewidth=0.8)
    ax.set_axisbelow(True)
    _money_axis(ax.xaxis)
    ax.set_xlabel(f"{output.replace('_', ' ')} ({currency})")
    ax.set_title("What moves the value most")
    ax.legend(loc="lower right")
    return fig
