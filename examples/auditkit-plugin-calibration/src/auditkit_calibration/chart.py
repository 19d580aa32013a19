"""The two charts of the calibration section, drawn in auditkit's house style."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditkit import Chart
from auditkit.charts import FAIL_COLOR, PALETTE, WARN_COLOR, new_figure, to_chart

if TYPE_CHECKING:
    from auditkit_calibration.assess import GroupResult
    from auditkit_calibration.ece import Calibration


def reliability_chart(overall: Calibration, meaning: str) -> Chart:
    """Observed frequency against mean predicted probability per bin, with bin counts below."""
    fig, ax = new_figure(width=6.4, height=3.8)
    filled = [b for b in overall.bins if b.count]
    # bin counts as faint bars behind the curve: they say how much each point can be trusted
    counts = ax.twinx()
    counts.bar(
        [b.lower for b in overall.bins],
        [b.count for b in overall.bins],
        width=[b.upper - b.lower for b in overall.bins],
        align="edge",
        color=PALETTE[4],
        alpha=0.25,
        edgecolor="white",
        label="rows per bin",
    )
    counts.set_ylabel("rows per bin")
    counts.grid(False)
    ax.set_zorder(counts.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.plot([0, 1], [0, 1], linestyle="--", color="#777777", linewidth=1, label="perfectly calibrated")
    ax.plot(
        [b.mean_predicted for b in filled],
        [b.observed for b in filled],
        marker="o",
        color=PALETTE[0],
        label=f"model (ECE {overall.ece:.3f})",
    )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="mean predicted probability",
        ylabel="observed frequency",
        title=f"Reliability of {meaning}",
    )
    ax.legend(loc="upper left")
    worst = max(filled, key=lambda b: b.gap or 0.0, default=None)
    alt = f"Reliability diagram over {overall.n} rows in {len(filled)} non-empty bins; ECE {overall.ece:.3f}."
    if worst is not None:
        alt += (
            f" The largest gap is in bin {worst.lower:.2f}–{worst.upper:.2f} ({worst.count} rows): "
            f"predicted {worst.mean_predicted:.2f}, observed {worst.observed:.2f}."
        )
    return to_chart(fig, "calibration-reliability", "Reliability diagram", alt)


def group_chart(groups: list[GroupResult], warn_ece: float, max_ece: float, confidence: float) -> Chart:
    """ECE per group with its interval, against the warn and fail lines."""
    fig, ax = new_figure(width=6.4, height=0.45 * len(groups) + 1.4)
    labels = [f"{g.feature}={g.group}" for g in groups]
    eces = [g.result.ece for g in groups]
    positions = list(range(len(groups)))
    intervals = [g.result.interval for g in groups]
    has_ci = all(i is not None for i in intervals)
    # ECE is biased upwards, so a percentile bootstrap interval can lie wholly above the
    # point estimate; the whisker then starts at the point rather than going negative
    errors = (
        [
            [max(e - i.low, 0.0) for e, i in zip(eces, intervals, strict=True) if i],
            [max(i.high - e, 0.0) for e, i in zip(eces, intervals, strict=True) if i],
        ]
        if has_ci
        else None
    )
    ax.errorbar(eces, positions, xerr=errors, fmt="o", color=PALETTE[0], ecolor="#555555", capsize=3)
    ax.axvline(warn_ece, color=WARN_COLOR, linestyle=":", label=f"warn_ece {warn_ece:g}")
    ax.axvline(max_ece, color=FAIL_COLOR, linestyle="--", label=f"max_ece {max_ece:g}")
    ax.set_yticks(positions, labels)
    ax.set_ylim(len(groups) - 0.5, -0.5)  # first group on top, half a row of margin
    ax.set(
        xlabel="expected calibration error",
        title="ECE per group" + (f" ({confidence:.0%} intervals)" if has_ci else ""),
    )
    ax.set_xlim(left=0)
    fig.legend(loc="outside lower center", ncols=2)
    worst = max(groups, key=lambda g: g.result.ece)
    alt = (
        f"ECE of {len(groups)} groups, from {min(eces):.3f} to {max(eces):.3f}; the highest is "
        f"{worst.feature}={worst.group}. Tolerance {max_ece:g}, warning at {warn_ece:g}."
    )
    return to_chart(fig, "calibration-groups", "ECE per sensitive group", alt)
