"""Charts of the training section: learning curves and the confusion matrix."""

from __future__ import annotations

from typing import Any

from auditkit.audit import Chart
from auditkit.charts import PALETTE, new_figure, to_chart

CURVE_METRICS = ("eval_macro_f1", "eval_f1", "eval_accuracy")


def curves_chart(log_history: list[dict[str, Any]]) -> Chart | None:
    """Training and dev loss (left) and dev metrics (right) against the optimizer step."""
    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e and "step" in e]
    dev = [(e["step"], e["eval_loss"]) for e in log_history if "eval_loss" in e and "step" in e]
    metrics = {m: [(e["step"], e[m]) for e in log_history if m in e and "step" in e] for m in CURVE_METRICS}
    metrics = {m: points for m, points in metrics.items() if points}
    if not train and not dev:
        return None
    fig, (left, right) = new_figure(width=7.2, height=3.2, ncols=2)
    if train:
        left.plot(*zip(*train, strict=True), color=PALETTE[0], label="training loss")
    if dev:
        left.plot(*zip(*dev, strict=True), color=PALETTE[1], marker="o", label="dev loss")
    left.set_xlabel("step")
    left.set_ylabel("cross-entropy loss")
    left.set_title("Loss")
    left.legend()
    for i, (name, points) in enumerate(metrics.items()):
        right.plot(
            *zip(*points, strict=True),
            color=PALETTE[2 + i],
            marker="o",
            label=name.removeprefix("eval_").replace("_", " "),
        )
    right.set_xlabel("step")
    right.set_ylabel("dev score")
    right.set_ylim(0, 1.02)
    right.set_title("Dev metrics")
    if metrics:
        right.legend()
    parts = []
    if train:
        parts.append(
            f"training loss went from {train[0][1]:.3f} at step {train[0][0]} to "
            f"{train[-1][1]:.3f} at step {train[-1][0]}"
        )
    if dev:
        parts.append(f"dev loss from {dev[0][1]:.3f} to {dev[-1][1]:.3f}")
    for name, points in metrics.items():
        parts.append(
            f"dev {name.removeprefix('eval_').replace('_', ' ')} from {points[0][1]:.3f} to {points[-1][1]:.3f}"
        )
    alt = "Learning curves: " + "; ".join(parts) + "."
    return to_chart(fig, "training-curves", "Training and dev curves", alt)


def confusion_chart(labels: list[str], matrix: list[list[int]]) -> Chart:
    """Heat map of true (rows) against predicted (columns) labels, counts in the cells."""
    import numpy as np

    data = np.asarray(matrix, dtype=float)
    size = max(3.0, min(7.0, 1.2 + 0.6 * len(labels)))
    fig, ax = new_figure(width=size + 1.0, height=size)
    ax.grid(False)
    ax.imshow(data, cmap="Blues")
    ax.set_xticks(
        range(len(labels)),
        labels,
        rotation=45 if len(labels) > 3 else 0,
        ha="right" if len(labels) > 3 else "center",
    )
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = data.max() if data.size else 0
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(
                j,
                i,
                f"{int(data[i, j])}",
                ha="center",
                va="center",
                color="white" if peak and data[i, j] > peak / 2 else "black",
            )
    total = data.sum()
    correct = float(np.trace(data))
    alt = (
        f"Confusion matrix over {int(total)} rows: {int(correct)} on the diagonal (correct), "
        f"{int(total - correct)} off it. "
        + "; ".join(
            f"true {labels[i]}: " + ", ".join(f"{int(data[i, j])} predicted {labels[j]}" for j in range(len(labels)))
            for i in range(len(labels))
        )
    )
    return to_chart(fig, "training-confusion", "Confusion matrix on the audit data", alt)
