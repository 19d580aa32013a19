"""The privacy section's charts: ε against steps, ε against δ, and the attack's ROC."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from auditkit.charts import FAIL_COLOR, PALETTE, new_figure, to_chart

if TYPE_CHECKING:
    from auditkit.plugins.assess.privacy.membership import AttackResult

    from auditkit.audit import Chart

_SERIES = (
    ("pld", "PLD", PALETTE[0], "-"),
    ("rdp", "RDP, improved conversion (Balle et al. 2020)", PALETTE[1], "--"),
    ("rdp_classic", "RDP, classic conversion (Mironov 2017)", PALETTE[2], ":"),
)


def epsilon_steps_chart(curves: dict[str, list[float]], headline: float, budget: float) -> Chart:
    fig, ax = new_figure(height=4.2)
    steps = curves["steps"]
    for key, label, color, style in _SERIES:
        ax.plot(steps, curves[key], style, color=color, label=label, marker="o", markersize=2.5)
    ax.plot([steps[-1]], [headline], "o", color=PALETTE[0], markersize=6, label=f"reported ε = {headline:.3g} (PLD)")
    if budget:
        ax.axhline(budget, color=FAIL_COLOR, linewidth=1, label=f"budget ε = {budget:g}")
    ax.set_xscale("log")
    ax.set_xlabel("training steps")
    ax.set_ylabel("ε")
    ax.set_title("Privacy loss ε as training proceeds")
    fig.legend(loc="outside lower center", ncols=2)
    alt = (
        f"ε grows with training steps; after {steps[-1]} steps it is {headline:.3g} by PLD, "
        f"{curves['rdp'][-1]:.3g} by RDP with the improved conversion and "
        f"{curves['rdp_classic'][-1]:.3g} with the classic conversion."
    )
    return to_chart(fig, "privacy-epsilon-steps", "ε against training steps", alt)


def epsilon_delta_chart(curves: dict[str, list[float]], delta: float, headline: float) -> Chart:
    fig, ax = new_figure(height=4.2)
    for key, label, color, style in _SERIES:
        ax.plot(curves["delta"], curves[key], style, color=color, label=label)
    ax.plot([delta], [headline], "o", color=PALETTE[0], markersize=6, label=f"δ = {delta:g}: ε = {headline:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("δ")
    ax.set_ylabel("ε")
    ax.set_title("The (ε, δ) trade-off of the whole run")
    handles, labels = ax.get_legend_handles_labels()
    order = [1, 2, 0, 3]  # legends fill column by column: the two long RDP labels share one
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center", ncols=2)
    alt = (
        f"ε falls as δ grows; at δ = {delta:g} the PLD accountant gives ε = {headline:.3g}; "
        f"from δ = {curves['delta'][0]:g} to {curves['delta'][-1]:g} PLD ε goes from "
        f"{curves['pld'][0]:.3g} to {curves['pld'][-1]:.3g}."
    )
    return to_chart(fig, "privacy-epsilon-delta", "ε against δ", alt)


def roc_chart(result: AttackResult, bound: tuple[float, float] | None) -> Chart:
    """Linear ROC and the log-log view where low-FPR leakage shows; the DP limit when known."""
    from auditkit.plugins.assess.privacy.membership import tpr_bound

    fig, (lin, log) = new_figure(width=7.2, height=3.8, ncols=2)
    grid = np.geomspace(1e-4, 1.0, 200)
    for ax in (lin, log):
        ax.plot(result.fpr, result.tpr, color=PALETTE[0], label=f"loss-threshold attack (AUC {result.auc:.3f})")
        ax.plot(grid, grid, color="#888888", linewidth=0.8, linestyle="--", label="chance")
        if bound is not None:
            eps, delta = bound
            ax.plot(
                grid,
                [tpr_bound(eps, delta, f) for f in grid],
                color=FAIL_COLOR,
                linewidth=1,
                label=f"DP limit at ε = {eps:.3g}",
            )
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("true-positive rate")
    lin.set_title("ROC")
    log.set_title("ROC, log scale")
    log.set_xscale("log")
    log.set_yscale("log")
    floor = 1.0 / max(result.n_nonmembers, 1)
    log.set_xlim(floor / 2, 1)
    log.set_ylim(floor / 2, 1)
    handles, labels = lin.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    alt = (
        f"Membership-inference ROC on {result.n_members} members and {result.n_nonmembers} non-members: "
        f"AUC {result.auc:.3f}, best advantage {result.advantage:.3f}, TPR {result.tpr_at[0.01]:.3f} at 1 % FPR."
    )
    return to_chart(fig, "privacy-mia-roc", "Membership inference: ROC of the loss-threshold attack", alt)
