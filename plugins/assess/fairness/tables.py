"""The fairness section's tables: constraints, groups, disparities, what-ifs, method notes.

Cells hold formatted text ("0.412 (0.380–0.441)"); the numbers themselves are in the
section's JSON (`groups`, `disparities`, `constraints`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from auditkit.plugins.assess.fairness.assess import FairnessResult, GroupView
from auditkit.plugins.assess.fairness.aucs import AUC_METRICS
from auditkit.plugins.assess.fairness.constraints import RATIO_CONVENTION, VERDICT_RULE
from auditkit.plugins.assess.fairness.delong import method as auc_method
from auditkit.plugins.assess.fairness.reference import COUNTS, DEFINITIONS, METRICS, ReferenceTable

from auditkit.audit import Table

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
    return f"{x:.3f}" + (f" ({bounds[0]:.2f}–{bounds[1]:.2f})" if bounds else "")


def metric_names(result: FairnessResult, view: GroupView) -> list[str]:
    names = list(JSON_METRICS[result.inputs.task])
    if result.inputs.task == "multiclass":
        for c in result.inputs.classes:
            names += [f"selection_rate_{c}", f"recall_{c}", f"precision_{c}", f"fpr_{c}"]
    return names + [m for m in AUC_METRICS if m in view.point]


TABLE_METRICS = {
    "binary": ("base_rate", "selection_rate", "accuracy", "precision", "tpr", "fpr", "f1"),
    "multiclass": ("accuracy", "macro_f1"),
    "token": ("entities", "entity_precision", "entity_recall", "entity_f1"),
}
_HEADINGS = {"tpr": "TPR", "fpr": "FPR", "f1": "F1", "auc": "subgroup AUC", "bpsn_auc": "BPSN AUC",
             "bnsp_auc": "BNSP AUC", "macro_f1": "macro F1"}


def _heading(metric: str) -> str:
    return _HEADINGS.get(metric, metric.replace("_", " "))


def _cell(view: GroupView, metric: str, g: int) -> str:
    value = num(view.point[metric][g])
    if metric in NO_CI:
        return "" if value is None else f"{value:.0f}"
    return fmt(value, view.ci[metric][g] if metric in view.ci else None)


def group_table(result: FairnessResult, view: GroupView) -> Table:
    """A page-wide table: the main metrics of each group (the rest are in audit.json)."""
    names = list(TABLE_METRICS[result.inputs.task])
    if result.inputs.task == "multiclass":
        names += [f"recall_{c}" for c in result.inputs.classes[:6]]
    rows = []
    for g, label in enumerate(view.grouping.groups):
        row: dict[str, Any] = {"group": label + (" *" if view.small[g] else ""), "n": int(view.point["n"][g])}
        row.update({_heading(m): _cell(view, m, g) for m in names})
        rows.append(row)
    level = result.config["confidence"]
    return Table(
        f"Group metrics by {view.grouping.feature} (value and {level:.0%} interval)",
        pd.DataFrame(rows),
        name=f"groups-{view.grouping.feature}",
        note=f"* fewer than {result.config['min_group_size']} rows. undefined = 0/0 for that group; the reason "
        "is under <metric>_note in audit.json, with every other metric",
    )


def auc_table(result: FairnessResult) -> Table | None:
    """Score-based bias (Borkan et al. 2019), every grouping in one table."""
    if not result.views or "auc" not in result.views[0].point:
        return None
    rows = []
    for view in result.views:
        for g, label in enumerate(view.grouping.groups):
            row: dict[str, Any] = {"feature": view.grouping.feature, "group": label}
            row.update({_heading(m): _cell(view, m, g) for m in ("auc", "bpsn_auc", "bnsp_auc")})
            rows.append(row)
    return Table(
        "Score-based bias: subgroup AUC, BPSN AUC (group negatives vs other positives), "
        "BNSP AUC (group positives vs other negatives)",
        pd.DataFrame(rows),
        name="aucs",
        note="a low BPSN AUC means the group's negatives score high (false alarms); a low BNSP AUC "
        f"means its positives score low (misses). Intervals: {auc_intervals(result)}",
    )


def auc_intervals(result: FairnessResult) -> str:
    """Which interval the AUCs carry, in words (the caption and the method table say it)."""
    cfg = result.config
    rows = len(result.inputs.y) if result.inputs.y is not None else 0
    how = auc_method(cfg["auc_interval"], rows, cfg["auc_bootstrap"])
    if how == "delong":
        return (f"{cfg['confidence']:.0%} normal interval from DeLong's variance (DeLong et al. 1988, "
                "fast form of Sun & Xu 2014)")
    if how == "bootstrap":
        return f"{cfg['confidence']:.0%} percentile bootstrap, {cfg['auc_bootstrap']} row-resampling replicates"
    return "none ([fairness] auc_bootstrap = 0)"


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
    level = result.config["confidence"]
    together = [c for c in result.constraints if c.ci_all_features]
    note = (
        f"d (interval): the disparity on the feature named and that feature's own {level:.0%} interval; an "
        "interval that contains τ is at most a warn (the data cannot tell)."
    )
    if together:
        note += " The interval of the worst over all features resampled together differs: " + "; ".join(
            f"{c.name} {c.ci_all_features[0]:.2f}–{c.ci_all_features[1]:.2f}"
            for c in together
            if c.ci_all_features
        )
    if result.binding is None and result.score is not None:
        note += " Every F_c is 1: no constraint binds."
    return Table(
        "Constraints: measured disparity against tolerance", pd.DataFrame(rows), name="constraints", note=note
    )


def _against(value: float | None, ratio: float | None, diff: float | None) -> str:
    """'0.512 ×2.09 (+0.267)': the value, its ratio to the reference's, the signed difference."""
    if value is None:
        return "undefined"
    text = f"{value:.3f}"
    if ratio is not None:
        text += f" ×{ratio:.2f}"
    if diff is not None:
        text += f" ({diff:+.3f})"
    return text


def reference_table(result: FairnessResult, t: ReferenceTable) -> Table:
    """Aequitas's crosstab as a table: metrics as rows, one column per group, the reference first."""
    order = [t.groups.index(t.reference)] + [g for g in range(len(t.groups)) if t.groups[g] != t.reference]
    heads = [t.groups[g] + (" (reference)" if t.groups[g] == t.reference else "") + (" *" if t.small[g] else "")
             for g in order]
    rows = []
    for c in COUNTS:
        rows.append([c, *("" if t.counts[c][g] is None else str(t.counts[c][g]) for g in order)])
    for m in METRICS:
        cells = [_against(t.values[m][g], None, None) if g == order[0] else
                 _against(t.values[m][g], t.ratios[m][g], t.differences[m][g]) for g in order]
        rows.append([m, *cells])
    chosen = "set by [fairness] reference_groups" if t.rule == "configured" else "the largest group"
    return Table(
        f"Every group against {t.reference!r} by {t.feature} ({chosen}): counts, rates, ratio and difference",
        pd.DataFrame(rows, columns=["metric", *heads]),
        name=f"reference-{t.feature}",
        note=(
            "×r: the group's value over the reference's, unfolded (above 1: higher than the reference; Aequitas's "
            "<metric>_disparity); (±d): the group's value minus the reference's. Point values, no intervals. "
            + "; ".join(f"{m} = {DEFINITIONS[m]}" for m in METRICS)
            + f". * fewer than {result.config['min_group_size']} rows. Set the reference with --reference "
            "feature=group or [fairness] reference_groups."
        ),
    )


def disparity_table(result: FairnessResult) -> Table:
    """Every disparity (rows) on every grouping (columns): value, interval and the two groups."""
    rows = []
    for name in result.disparities:
        row: dict[str, Any] = {"disparity": name}
        for view in result.views:
            d = view.disparities[name]
            cell = fmt(num(d.value), d.ci)
            row[view.grouping.feature] = cell + (f"; {' vs '.join(d.groups)}" if d.groups else "")
        rows.append(row)
    return Table(
        "All disparities, per feature (value, interval; the two groups that set it)",
        pd.DataFrame(rows),
        name="disparities",
        note="the metric each one compares and why an undefined one is undefined are in audit.json",
    )


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
            f"(group, label, prediction) cells; AUCs: {auc_intervals(result)}.",
        ),
        (
            "Undefined metrics",
            "a metric that is 0/0 for a group (TPR without positives, say) is null with a "
            "reason, never 0, and the group is left out of that disparity.",
        ),
        (
            "Small groups",
            f"groups with fewer than {cfg['min_group_size']} rows are flagged (*) and "
            + (
                "reported, but left out of disparities, so they do not set F ([fairness] small_groups = "
                "\"include\" counts them)."
                if cfg["small_groups"] == "exclude"
                else "kept in disparities and F ([fairness] small_groups = \"include\")."
            ),
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
        for name, short in (("demographic_parity_difference", "DP"), ("equalized_odds_difference", "EO")):
            row[f"{short} difference before"] = fmt(r.before[name])
            row[f"{short} difference after"] = fmt(r.after[name])
        rows.append(row)
    fitted = "one half"
    if m.fit_rows is not None and m.fit_rows < m.train_rows:
        fitted = f"a seeded sample of {m.fit_rows:,} of one half's {m.train_rows:,} rows (stratified by group, label)"
    by = {
        "numpy": "fairlearn's ThresholdOptimizer algorithm in auditkit's NumPy port (the same thresholds)",
        "fairlearn": "fairlearn's ThresholdOptimizer",
    }.get(m.fit_with, m.fit_with)
    note = (
        f"A what-if: thresholds fitted on {fitted}, measured on the other. Fitted by {by}. The mitigated "
        "model needs the sensitive feature at prediction time."
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
        if c.variants
    ]
    unmatched = [c.name for c in result.counterfactuals if not c.variants]
    if not rows:  # nothing matched: audit.json still lists every test with its note
        return []
    worst = [
        {
            "test": c.name,
            "original": w["original"],
            "counterfactual": w["counterfactual"],
            "score": f"{w['score_before']:.3f} → {w['score_after']:.3f}",
            "label": w["label_before"] + (f" → {w['label_after']}" if w["label_after"] != w["label_before"] else ""),
        }
        for c in result.counterfactuals
        for w in c.worst
        if abs(w["score_after"] - w["score_before"]) > 1e-6  # unchanged examples teach nothing
    ]
    tables = [
        Table(
            "Counterfactual tests: identity terms changed, texts re-scored",
            pd.DataFrame(rows),
            name="counterfactual",
            note=("no evaluation text mentions a term of: " + ", ".join(unmatched)) if unmatched else "",
        )
    ]
    if rows and worst:
        tables.append(Table("Largest score changes", pd.DataFrame(worst), name="counterfactual-worst"))
    return tables
