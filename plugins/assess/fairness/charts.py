"""The fairness charts: group bars with CI whiskers, disparity vs tolerance, trade-off, flips.

Each is drawn only when a report of the run shows it (``draw``, from
:func:`auditkit.charts.drawn_for`); undrawn, it keeps its name, title and text alternative.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from auditkit.audit import Chart
from auditkit.charts import FAIL_COLOR, PALETTE, PASS_COLOR, WARN_COLOR, chart, new_figure

if TYPE_CHECKING:
    from auditkit.plugins.assess.fairness.assess import FairnessResult, GroupView

_VERDICT_COLOR = {
    "pass": PASS_COLOR,
    "warn": WARN_COLOR,
    "fail": FAIL_COLOR,
    "undefined": "#999999",
}
BAR_METRICS = {
    "binary": ("selection_rate", "tpr", "fpr"),
    "multiclass": ("accuracy", "macro_f1"),
    "token": ("entity_precision", "entity_recall", "entity_f1"),
}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def group_bars(view: GroupView, task: str, level: float, draw: bool = True) -> Chart:
    metrics = BAR_METRICS[task]
    groups = view.grouping.groups
    feature = view.grouping.feature
    parts = []
    for metric in metrics:
        vals = ", ".join(f"{g} {v:.2f}" for g, v in zip(groups, view.point[metric], strict=False) if not np.isnan(v))
        parts.append(f"{metric}: {vals}")
    alt = (
        f"Per-group {', '.join(metrics)} for {feature} with {level:.0%} bootstrap intervals. "
        + "; ".join(parts)
        + (". * marks groups below the minimum size." if view.small.any() else ".")
    )
    figure = (lambda: _group_bars_figure(view, metrics)) if draw else None
    return chart(f"fairness-groups-{_slug(feature)}", f"Group metrics by {feature}", alt, figure)


def _group_bars_figure(view: GroupView, metrics: tuple[str, ...]) -> Any:
    groups = view.grouping.groups
    width = 0.8 / len(metrics)
    fig, ax = new_figure(width=max(5.0, min(9.0, 1.0 + 0.6 * len(groups) * len(metrics) / 2)), height=3.4)
    x = np.arange(len(groups))
    for i, metric in enumerate(metrics):
        values = view.point[metric]
        ci = view.ci.get(metric)
        heights = np.nan_to_num(values, nan=0.0)
        errors = None
        if ci is not None:
            low = np.where(np.isnan(ci[:, 0]), heights, ci[:, 0])
            high = np.where(np.isnan(ci[:, 1]), heights, ci[:, 1])
            errors = np.vstack([np.maximum(heights - low, 0), np.maximum(high - heights, 0)])
        ax.bar(
            x + (i - (len(metrics) - 1) / 2) * width,
            heights,
            width,
            yerr=errors,
            capsize=2,
            label=metric,
            color=PALETTE[i % len(PALETTE)],
            error_kw={"elinewidth": 0.8},
        )
        for j in np.flatnonzero(np.isnan(values)):
            ax.text(
                x[j] + (i - (len(metrics) - 1) / 2) * width,
                0.01,
                "n/a",
                ha="center",
                fontsize=6,
                rotation=90,
            )
    labels = [f"{g}{'*' if s else ''}" for g, s in zip(groups, view.small, strict=False)]
    ax.set_xticks(
        x,
        labels,
        rotation=30 if len(groups) > 4 else 0,
        ha="right" if len(groups) > 4 else "center",
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate")
    ax.legend(ncols=len(metrics), loc="upper center", bbox_to_anchor=(0.5, 1.15))
    return fig


def disparity_vs_tolerance(result: FairnessResult, draw: bool = True) -> Chart | None:
    rows = [c for c in result.constraints if c.value is not None]
    if not rows:
        return None
    alt = (
        "Disparity against tolerance: "
        + "; ".join(f"{c.name} d = {c.value:.3f}, τ = {c.tolerance:g}, {c.verdict}" for c in rows)
        + "."
    )
    figure = (lambda: _disparity_figure(rows)) if draw else None
    return chart("fairness-disparity-tolerance", "Disparities against their tolerances", alt, figure)


def _disparity_figure(rows: list[Any]) -> Any:
    fig, ax = new_figure(width=6.4, height=0.6 + 0.55 * len(rows))
    y = np.arange(len(rows))
    for i, c in enumerate(rows):
        err = None
        if c.ci is not None:
            err = [[max(c.value - c.ci[0], 0)], [max(c.ci[1] - c.value, 0)]]
        ax.barh(i, c.value, 0.5, xerr=err, capsize=3, color=_VERDICT_COLOR[c.verdict])
        ax.plot([c.tolerance, c.tolerance], [i - 0.4, i + 0.4], color="#000000", linewidth=2)
    ax.set_yticks(y, [f"{c.name}\n({'≤' if c.kind == 'difference' else '≥'} {c.tolerance:g})" for c in rows])
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("measured disparity d (bar, with interval); tolerance τ (black tick)")
    ax.invert_yaxis()
    return fig


_TRADEOFF_METRIC = {
    "demographic_parity": "demographic_parity_difference",
    "equalized_odds": "equalized_odds_difference",
}


def tradeoff(result: FairnessResult, draw: bool = True) -> Chart | None:
    m = result.mitigation
    if m is None or not m.runs:
        return None
    parts = []
    for run in m.runs:
        name = _TRADEOFF_METRIC[run.constraint]
        b, a = run.before[name], run.after[name]
        if b is None or a is None:
            continue
        parts.append(
            f"{run.constraint}: {name} {b:.3f} → {a:.3f}, accuracy {run.accuracy_before:.3f} → {run.accuracy_after:.3f}"
        )
    alt = f"ThresholdOptimizer what-if on {m.feature} (circle before, square after): " + "; ".join(parts) + "."
    figure = (lambda: _tradeoff_figure(m.runs)) if draw else None
    return chart("fairness-mitigation", "Mitigation trade-off (ThresholdOptimizer)", alt, figure)


def _tradeoff_figure(runs: list[Any]) -> Any:
    fig, ax = new_figure(width=5.6, height=3.4)
    for i, run in enumerate(runs):
        name = _TRADEOFF_METRIC[run.constraint]
        b, a = run.before[name], run.after[name]
        if b is None or a is None:
            continue
        color = PALETTE[i % len(PALETTE)]
        ax.annotate(
            "",
            xy=(a, run.accuracy_after),
            xytext=(b, run.accuracy_before),
            arrowprops={"arrowstyle": "->", "color": color},
        )
        ax.scatter([b], [run.accuracy_before], color=color, marker="o")
        ax.scatter([a], [run.accuracy_after], color=color, marker="s", label=f"{run.constraint} ({name})")
    ax.set_xlabel("disparity on the held-out half (difference)")
    ax.set_ylabel("accuracy on the held-out half")
    ax.legend(loc="best")
    return fig


def flip_rates(result: FairnessResult, draw: bool = True) -> Chart | None:
    rows = [c for c in result.counterfactuals if c.flip_rate is not None]
    if not rows:
        return None
    limit = result.config["counterfactual"]["max_flip_rate"]
    alt = "Counterfactual flip rates: " + "; ".join(f"{c.name} {c.flip_rate:.1%} of {c.variants}" for c in rows) + "."
    figure = (lambda: _flip_figure(rows, limit)) if draw else None
    return chart("fairness-counterfactual", "Counterfactual flip rates", alt, figure)


def _flip_figure(rows: list[Any], limit: float) -> Any:
    fig, ax = new_figure(width=6.0, height=0.8 + 0.45 * len(rows))
    for i, c in enumerate(rows):
        err = None
        if c.flip_rate_ci is not None:
            err = [
                [max(c.flip_rate - c.flip_rate_ci[0], 0)],
                [max(c.flip_rate_ci[1] - c.flip_rate, 0)],
            ]
        color = FAIL_COLOR if c.flip_rate > limit else PASS_COLOR
        ax.barh(i, c.flip_rate, 0.5, xerr=err, capsize=3, color=color)
    ax.axvline(limit, color="#000000", linewidth=1.5)
    ax.set_yticks(np.arange(len(rows)), [c.name for c in rows])
    ax.set_xlim(0, max(0.1, max(c.flip_rate for c in rows) * 1.2))
    ax.set_xlabel(f"share of predictions that flip (line: warning level {limit:g})")
    ax.invert_yaxis()
    return fig
