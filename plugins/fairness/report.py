"""FairnessResult → Section: plain-language summary first, then tables, charts and JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
from auditkit_plugins.fairness import charts
from auditkit_plugins.fairness.assess import FairnessResult, GroupView
from auditkit_plugins.fairness.aucs import AUC_METRICS
from auditkit_plugins.fairness.constraints import RATIO_CONVENTION, VERDICT_RULE
from auditkit_plugins.fairness.schema import DISPARITIES

from auditkit.model import Calculation, Section, Table

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
_NO_CI = ("n", "entities")


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def _pair(ci: Any) -> list[float] | None:
    if ci is None or np.isnan(ci[0]):
        return None
    return [float(ci[0]), float(ci[1])]


def _fmt(x: float | None, ci: Any = None) -> str:
    if x is None:
        return "undefined"
    pair = _pair(ci) if ci is not None else None
    return f"{x:.3f}" + (f" ({pair[0]:.3f}–{pair[1]:.3f})" if pair else "")


def metric_names(result: FairnessResult, view: GroupView) -> list[str]:
    names = list(JSON_METRICS[result.inputs.task])
    if result.inputs.task == "multiclass":
        for c in result.inputs.classes:
            names += [f"selection_rate_{c}", f"recall_{c}", f"precision_{c}", f"fpr_{c}"]
    return names + [m for m in AUC_METRICS if m in view.point]


def groups_json(result: FairnessResult) -> list[dict[str, Any]]:
    """One object per (feature, group): n, each metric, `<m>_ci`, `<m>_note` when null."""
    out = []
    for view in result.views:
        names = metric_names(result, view)
        for g, label in enumerate(view.grouping.groups):
            row: dict[str, Any] = {
                "feature": view.grouping.feature,
                "group": label,
                "n": int(view.point["n"][g]),
                "small": bool(view.small[g]),
            }
            for m in names:
                value = _num(view.point[m][g])
                row[m] = int(value) if m in _NO_CI and value is not None else value
                if m not in _NO_CI:
                    row[f"{m}_ci"] = _pair(view.ci[m][g]) if m in view.ci else None
                if value is None:
                    row[f"{m}_note"] = view.notes[m][g]
            out.append(row)
    return out


def disparities_json(result: FairnessResult) -> dict[str, Any]:
    tolerances = {c.name: c for c in result.constraints}
    out = {}
    for name, d in result.disparities.items():
        c = tolerances.get(name)
        out[name] = {
            "value": _num(d.value),
            "tolerance": c.tolerance if c else None,
            "score": c.score if c else None,
            "groups": d.groups,
            "ci": list(d.ci) if d.ci else None,
            "kind": d.kind,
            "feature": d.feature,
            "metric": d.metric,
            "verdict": c.verdict if c else None,
            "note": d.note,
            "by_feature": {
                v.grouping.feature: {
                    "value": _num(v.disparities[name].value),
                    "groups": v.disparities[name].groups,
                    "ci": list(v.disparities[name].ci) if v.disparities[name].ci else None,
                    "metric": v.disparities[name].metric,
                    "note": v.disparities[name].note,
                }
                for v in result.views
            },
        }
    if "counterfactual_flip_rate" in tolerances:
        c = tolerances["counterfactual_flip_rate"]
        out[c.name] = {
            "value": c.value,
            "tolerance": c.tolerance,
            "score": c.score,
            "groups": [],
            "ci": list(c.ci) if c.ci else None,
            "kind": c.kind,
            "feature": c.feature,
            "metric": "flip_rate",
            "verdict": c.verdict,
            "note": c.note,
            "by_feature": {},
        }
    return out


def _group_table(result: FairnessResult, view: GroupView) -> Table:
    names = [m for m in metric_names(result, view) if m != "share"][:12]
    rows = []
    for g, label in enumerate(view.grouping.groups):
        row: dict[str, Any] = {
            "group": label,
            "n": int(view.point["n"][g]),
            "small": "yes" if view.small[g] else "",
        }
        for m in names:
            row[m] = _fmt(_num(view.point[m][g]), view.ci[m][g] if m in view.ci and m not in _NO_CI else None)
        rows.append(row)
    level = result.config["confidence"]
    return Table(
        f"Group metrics by {view.grouping.feature} (value and {level:.0%} interval)",
        pd.DataFrame(rows),
        name=f"groups-{view.grouping.feature}",
        note="undefined = 0/0 for that group; the reason is under <metric>_note in audit.json",
    )


def _constraint_table(result: FairnessResult) -> Table:
    rows = [
        {
            "constraint": c.name,
            "feature": c.feature or "",
            "groups": " vs ".join(c.groups),
            "d": _fmt(c.value, c.ci),
            "tolerance τ": f"{'≤' if c.kind == 'difference' else '≥'} {c.tolerance:g}",
            "F_c": "undefined" if c.score is None else f"{c.score:.3f}",
            "verdict": c.verdict,
        }
        for c in result.constraints
    ]
    return Table("Constraints: measured disparity against tolerance", pd.DataFrame(rows), name="constraints")


def _disparity_table(result: FairnessResult) -> Table:
    rows = []
    for view in result.views:
        for name, d in view.disparities.items():
            rows.append(
                {
                    "disparity": name,
                    "feature": view.grouping.feature,
                    "value": _fmt(_num(d.value), d.ci),
                    "groups": " vs ".join(d.groups),
                    "metric": d.metric or "",
                    "note": d.note or "",
                }
            )
    return Table("All disparities, per feature", pd.DataFrame(rows), name="disparities")


def _method_table(result: FairnessResult) -> Table:
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


def _calculations(result: FairnessResult) -> list[Calculation]:
    calcs = []
    by_feature = {v.grouping.feature: v for v in result.views}
    for c in result.constraints:
        inputs: dict[str, Any] = {
            "d": c.value,
            "τ": c.tolerance,
            "kind": c.kind,
            "feature": c.feature,
            "groups": c.groups,
        }
        view = by_feature.get(c.feature or "")
        if view is not None and c.metric in view.point:
            inputs[f"{c.metric} by group"] = {
                g: _num(v) for g, v in zip(view.grouping.groups, view.point[c.metric], strict=False)
            }
        formula = "F_c = min(τ / d, 1)" if c.kind == "difference" else "F_c = min(d / τ, 1)"
        calcs.append(Calculation(f"F_c {c.name}", formula, inputs, c.score))
    calcs.append(Calculation("F", "F = min_c F_c", {c.name: c.score for c in result.constraints}, result.score))
    return calcs


def _summary(result: FairnessResult, verdict: str) -> str:
    level = result.config["confidence"]
    if result.score is None:
        head = f"Fairness verdict: {verdict.upper()}. F could not be scored: no constraint could be evaluated."
    else:
        b = result.binding
        assert b is not None and b.value is not None
        met = sum(c.verdict == "pass" for c in result.constraints)
        ci = f", {level:.0%} interval {b.ci[0]:.3f}–{b.ci[1]:.3f}" if b.ci else ""
        where = f" on {b.feature!r}" if b.feature else ""
        measured = f"d = {b.value:.3f}{ci}; tolerance {b.tolerance:g}"
        detail = _groups_sentence(result, b)
        if result.score >= 1.0:
            head = (
                f"Fairness verdict: {verdict.upper()}. F = 1.00: all {len(result.constraints)} constraints are "
                f"met. Closest to its tolerance: {b.name}{where} ({measured}){detail}."
            )
        else:
            head = (
                f"Fairness verdict: {verdict.upper()}. F = {result.score:.2f}, set by {b.name}{where} "
                f"({measured}){detail}. {met} of {len(result.constraints)} constraints met."
            )
    parts = [head]
    features = ", ".join(f"{v.grouping.feature} ({len(v.grouping.groups)} groups)" for v in result.views)
    parts.append(f"Groups measured: {features}.")
    small = sum(int(v.small.sum()) for v in result.views)
    if small:
        parts.append(f"{small} group(s) have fewer than {result.config['min_group_size']} rows.")
    flips = [c for c in result.counterfactuals if c.flip_rate is not None]
    if flips:
        from auditkit_plugins.fairness.section import describe_change

        w = max(flips, key=lambda c: c.flip_rate or 0)
        parts.append(
            f"Counterfactual test: {describe_change(w)} flips {w.flip_rate:.1%} of {w.variants} predictions."
        )
    return " ".join(parts)


def _groups_sentence(result: FairnessResult, c: Any) -> str:
    """': selection_rate 0.60 for 'A' against 0.30 for 'B'' from the binding constraint's groups."""
    view = next((v for v in result.views if v.grouping.feature == c.feature), None)
    if view is None or c.metric not in view.point or len(c.groups) != 2:
        return ""
    values = [view.point[c.metric][view.grouping.groups.index(g)] for g in c.groups]
    return f": {c.metric} {values[0]:.3f} for {c.groups[0]!r} against {values[1]:.3f} for {c.groups[1]!r}"


def _mitigation_tables(result: FairnessResult) -> list[Table]:
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
            row[f"{name} before"] = _fmt(r.before[name])
            row[f"{name} after"] = _fmt(r.after[name])
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


def _counterfactual_tables(result: FairnessResult) -> list[Table]:
    if not result.counterfactuals:
        return []
    rows = [
        {
            "test": c.name,
            "texts": c.texts,
            "counterfactuals": c.variants,
            "flip rate": _fmt(c.flip_rate, c.flip_rate_ci),
            "mean score change": _fmt(c.mean_score_change),
            "mean |score change|": _fmt(c.mean_abs_score_change),
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


def build(result: FairnessResult, section: Section) -> Section:
    """Fill ``section`` (its findings already added) with summary, tables, charts and data."""
    task, level = result.inputs.task, result.config["confidence"]
    section.summary = _summary(result, section.verdict)
    section.tables = [_constraint_table(result)]
    section.tables += [_group_table(result, v) for v in result.views]
    section.tables += [
        _disparity_table(result),
        *_mitigation_tables(result),
        *_counterfactual_tables(result),
        _method_table(result),
    ]
    drawn = [charts.disparity_vs_tolerance(result)]
    drawn += [charts.group_bars(v, task, level) for v in result.views if len(v.grouping.groups) <= 16]
    drawn += [charts.tradeoff(result), charts.flip_rates(result)]
    section.charts = [c for c in drawn if c is not None]
    section.calculations = _calculations(result)
    section.metrics = {"score": result.score}
    for name, d in result.disparities.items():
        section.metrics[name] = _num(d.value)
    for c in result.constraints:
        section.metrics[f"{c.name}_score"] = c.score
    for key in ("accuracy", "selection_rate", "macro_f1", "entity_f1"):
        if key in result.overall:
            section.metrics[key] = result.overall[key]
    if result.overall_auc is not None:
        section.metrics["auc"] = result.overall_auc[0]
    for c in result.counterfactuals:
        if c.flip_rate is not None:
            section.metrics[f"flip_rate_{c.name.replace(' ', '_')}"] = c.flip_rate
    section.data = {
        "groups": groups_json(result),
        "disparities": disparities_json(result),
        "score": result.score,
        "binding_constraint": result.binding.name if result.binding else None,
        "constraints": [asdict(c) for c in result.constraints],
        "overall": {
            **result.overall,
            **({"auc": result.overall_auc[0], "auc_ci": result.overall_auc[1]} if result.overall_auc else {}),
        },
        "task": task,
        "positive_label": result.inputs.positive,
        "verdict_rule": VERDICT_RULE.format(level=level),
        "ratio_convention": RATIO_CONVENTION,
        "missing_sensitive": result.missing,
        "mitigation": asdict(result.mitigation) if result.mitigation else None,
        "counterfactual": [asdict(c) for c in result.counterfactuals],
        "settings": {k: v for k, v in result.config.items() if k != "counterfactual"},
        "disparity_definitions": {k: {"kind": v[0], "compares": v[1]} for k, v in DISPARITIES.items()},
    }
    return section
