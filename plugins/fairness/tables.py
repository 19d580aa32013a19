"""The fairness section's tables: constraints, groups, disparities, what-ifs, method notes.

Cells hold formatted text ("0.412 (0.380–0.441)"); the numbers themselves are in the
section's JSON (`groups`, `disparities`, `constraints`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from auditkit_plugins.fairness.assess import FairnessResult, GroupView
from auditkit_plugins.fairness.aucs import AUC_METRICS
from auditkit_plugins.fairness.constraints import RATIO_CONVENTION, VERDICT_RULE

from auditkit.model import Table

JSON_METRICS = {
    "binary": (
        "share",
        "base_rate",
        "selection_rate",
        "accuracy",
        "precision",
        "tpr",
        "fpr",
        "fnr",
        "f1",
    ),
    "multiclass": ("share", "accuracy", "macro_f1"),
    "token": ("share", "entities", "entity_precision", "entity_recall", "entity_f1"),
}
NO_CI = ("n", "entities")



def num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def pair(ci: Any) -> list[float] | None:
    if ci is None or np.isnan(ci[0]):
        return None
    return [float(ci[0]), float(ci[1])]


def fmt(x: float | None, ci: Any = None) -> str:
    if x is None:
        return "undefined"
    bounds = pair(ci) if ci is not None else None
    return f"{x:.3f}" + (f" ({bounds[0]:.3f}–{bounds[1]:.3f})" if bounds else "")


def metric_names(result: FairnessResult, view: GroupView) -> list[str]:
    names = list(JSON_METRICS[result.inputs.task])
    if result.inputs.task == "multiclass":
        for c in result.inputs.classes:
            names += [f"selection_rate_{c}", f"recall_{c}", f"precision_{c}", f"fpr_{c}"]
    return names + [m for m in AUC_METRICS if m in view.point]


def group_table(result: FairnessResult, view: GroupView) -> Table:
    names = [m for m in metric_names(result, view) if m != "share"][:12]
    rows = []
    for g, label in enumerate(view.grouping.groups):
        row: dict[str, Any] = {
            "group": label,
            "n": int(view.point["n"][g]),
            "small": "yes" if view.small[g] else "",
        }
        for m in names:
            row[m] = fmt(num(view.point[m][g]), view.ci[m][g] if m in view.ci and m not in NO_CI else None)
        rows.append(row)
    level = result.config["confidence"]
    return Table(
        f"Group metrics by {view.grouping.feature} (value and {level:.0%} interval)",
        pd.DataFrame(rows),
        name=f"groups-{view.grouping.feature}",
        note="undefined = 0/0 for that group; the reason is under <metric>_note in audit.json",
    )


def constraint_table(result: FairnessResult) -> Table:
    rows = [
        {
            "constraint": c.name,
            "feature": c.feature or "",
            "groups": " vs ".join(c.groups),
            "d": fmt(c.value, c.ci),
            "tolerance τ": f"{'≤' if c.kind == 'difference' else '≥'} {c.tolerance:g}",
            "F_c": "undefined" if c.score is None else f"{c.score:.3f}",
            "verdict": c.verdict,
        }
        for c in result.constraints
    ]
    return Table("Constraints: measured disparity against tolerance", pd.DataFrame(rows), name="constraints")


def disparity_table(result: FairnessResult) -> Table:
    rows = []
    for view in result.views:
        for name, d in view.disparities.items():
            rows.append(
                {
                    "disparity": name,
                    "feature": view.grouping.feature,
                    "value": fmt(num(d.value), d.ci),
                    "groups": " vs ".join(d.groups),
                    "metric": d.metric or "",
                    "note": d.note or "",
                }
            )
    return Table("All disparities, per feature", pd.DataFrame(rows), name="disparities")


def method_table(result: FairnessResult) -> Table:
    cfg = result.config
    level = cfg["confidence"]
    rows = [
        (
            "Score",
            "F_c = min(τ / d, 1) for a difference (1 when d ≤ τ or d = 0), F_c = min(d / τ, 1) for a "
            "ratio; F = the smallest F_c. The valuation multiplies by F.",
        ),
        ("Verdict rule", VERDICT_RULE.format(level=level)),
        ("Ratio convention", RATIO_CONVENTION),
        (
            "Groups",
            "each sensitive feature alone"
            + (" and the intersection of all of them" if cfg["intersection"] else "")
            + (
                "; intersectional disparities count towards F"
                if cfg["intersection_in_score"]
                else "; F is set by the single features (intersections are reported)"
            ),
        ),
        (
            "Intervals",
            f"{level:.0%} percentile bootstrap, {cfg['bootstrap']} replicates (seed {cfg['seed']}): "
            "rows resampled with replacement, drawn exactly as one multinomial draw over the "
            f"(group, label, prediction) cells; AUCs: {cfg['auc_bootstrap']} row-resampling replicates.",
        ),
        (
            "Undefined metrics",
            "a metric that is 0/0 for a group (TPR without positives, say) is null with a "
            "reason, never 0, and the group is left out of that disparity.",
        ),
        (
            "Small groups",
            f"groups with fewer than {cfg['min_group_size']} rows are flagged (*) and "
            + ("left out of disparities." if cfg["small_groups"] == "exclude" else "kept in disparities."),
        ),
        (
            "Missing values",
            "rows whose sensitive value is missing are left out of that feature's groups and counted.",
        ),
    ]
    return Table("How these numbers are made", pd.DataFrame(rows, columns=["topic", "rule"]), name="method")


def mitigation_tables(result: FairnessResult) -> list[Table]:
    m = result.mitigation
    if m is None or not m.runs:
        return []
    rows = []
    for r in m.runs:
        row = {
            "constraint": r.constraint,
            "accuracy before": round(r.accuracy_before, 4),
            "accuracy after": round(r.accuracy_after, 4),
        }
        for name in r.before:
            row[f"{name} before"] = fmt(r.before[name])
            row[f"{name} after"] = fmt(r.after[name])
        rows.append(row)
    note = (
        "A what-if: thresholds fitted on one half, measured on the other. The mitigated model needs the "
        "sensitive feature at prediction time."
    )
    thresholds = [{"constraint": r.constraint, **t} for r in m.runs for t in r.thresholds]
    return [
        Table(
            f"Mitigation what-if on {m.feature} (ThresholdOptimizer, held-out half of {m.test_rows} rows)",
            pd.DataFrame(rows),
            name="mitigation",
            note=note,
        ),
        Table(
            "Per-group thresholds chosen by ThresholdOptimizer",
            pd.DataFrame(thresholds),
            name="thresholds",
        ),
    ]


def counterfactual_tables(result: FairnessResult) -> list[Table]:
    if not result.counterfactuals:
        return []
    rows = [
        {
            "test": c.name,
            "texts": c.texts,
            "counterfactuals": c.variants,
            "flip rate": fmt(c.flip_rate, c.flip_rate_ci),
            "mean score change": fmt(c.mean_score_change),
            "mean |score change|": fmt(c.mean_abs_score_change),
            "note": c.note or "",
        }
        for c in result.counterfactuals
    ]
    worst = [{"test": c.name, **w} for c in result.counterfactuals for w in c.worst]
    tables = [
        Table(
            "Counterfactual tests: identity terms changed, texts re-scored",
            pd.DataFrame(rows),
            name="counterfactual",
        )
    ]
    if worst:
        tables.append(Table("Largest score changes", pd.DataFrame(worst), name="counterfactual-worst"))
    return tables
