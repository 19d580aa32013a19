"""FairnessResult → Section: plain-language summary first, then tables, charts and JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from auditkit.plugins.assess.fairness import charts, tables
from auditkit.plugins.assess.fairness.assess import FairnessResult
from auditkit.plugins.assess.fairness.constraints import RATIO_CONVENTION, VERDICT_RULE
from auditkit.plugins.assess.fairness.schema import DISPARITIES
from auditkit.plugins.assess.fairness.tables import NO_CI, metric_names, num, pair

from auditkit.audit import Calculation, Section


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
                value = num(view.point[m][g])
                row[m] = int(value) if m in NO_CI and value is not None else value
                if m not in NO_CI:
                    row[f"{m}_ci"] = pair(view.ci[m][g]) if m in view.ci else None
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
            "value": num(d.value),
            "tolerance": c.tolerance if c else None,
            "score": c.score if c else None,
            "groups": d.groups,
            "ci": list(d.ci) if d.ci else None,
            "ci_all_features": list(d.ci_all_features) if d.ci_all_features else None,
            "kind": d.kind,
            "feature": d.feature,
            "metric": d.metric,
            "verdict": c.verdict if c else None,
            "note": d.note,
            "by_feature": {
                v.grouping.feature: {
                    "value": num(v.disparities[name].value),
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
                g: num(v) for g, v in zip(view.grouping.groups, view.point[c.metric], strict=False)
            }
        formula = "F_c = min(τ / d, 1)" if c.kind == "difference" else "F_c = min(d / τ, 1)"
        calcs.append(Calculation(f"F_c {c.name}", formula, inputs, c.score))
    calcs.append(Calculation("F", "F = min_c F_c", {c.name: c.score for c in result.constraints}, result.score))
    return calcs


def _summary(result: FairnessResult, verdict: str) -> str:
    level = result.config["confidence"]
    if result.score is None:
        head = f"Fairness verdict: {verdict.upper()}. F could not be scored: no constraint could be evaluated."
    elif result.binding is None:  # every F_c is 1: no constraint binds
        scored = sum(c.score is not None for c in result.constraints)
        head = (
            f"Fairness verdict: {verdict.upper()}. F = 1.00: all {scored} evaluated constraints are within "
            "tolerance, so none binds."
        )
    else:
        b = result.binding
        assert b.value is not None
        met = sum(c.verdict == "pass" for c in result.constraints)
        ci = f", {level:.0%} interval {b.ci[0]:.3f}–{b.ci[1]:.3f}" if b.ci else ""
        where = f" on {b.feature!r}" if b.feature else ""
        measured = f"d = {b.value:.3f}{ci}; tolerance {b.tolerance:g}"
        detail = _groups_sentence(result, b)
        head = (
            f"Fairness verdict: {verdict.upper()}. F = {result.score:.2f}, set by {b.name}{where} "
            f"({measured}){detail}. {met} of {len(result.constraints)} constraints met."
        )
    parts = [head]
    features = ", ".join(f"{v.grouping.feature} ({len(v.grouping.groups)} groups)" for v in result.views)
    parts.append(f"Groups measured: {features}.")
    small = sum(int(v.small.sum()) for v in result.views)
    if small:
        counted = "they count towards F" if result.config["small_groups"] == "include" else "they do not set F"
        parts.append(f"{small} group(s) have fewer than {result.config['min_group_size']} rows ({counted}).")
    flips = [c for c in result.counterfactuals if c.flip_rate is not None]
    if flips:
        from auditkit.plugins.assess.fairness.section import describe_change

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


def build(result: FairnessResult, section: Section, draw: bool = True) -> Section:
    """Fill ``section`` (its findings already added) with summary, tables, charts and data;
    ``draw`` False leaves the charts' SVG empty (no report of the run shows them)."""
    task, level = result.inputs.task, result.config["confidence"]
    section.summary = _summary(result, section.verdict)
    section.tables = [tables.constraint_table(result)]
    section.tables += [tables.group_table(result, v) for v in result.views]
    section.tables += [tables.reference_table(result, t) for t in result.reference_tables]
    section.tables += [t for t in (tables.auc_table(result),) if t is not None]
    section.tables += [
        tables.disparity_table(result),
        *tables.mitigation_tables(result),
        *tables.counterfactual_tables(result),
        tables.method_table(result),
    ]
    drawn = [charts.disparity_vs_tolerance(result, draw)]
    drawn += [charts.group_bars(v, task, level, draw) for v in result.views if len(v.grouping.groups) <= 16]
    drawn += [charts.tradeoff(result, draw), charts.flip_rates(result, draw)]
    section.charts = [c for c in drawn if c is not None]
    section.calculations = _calculations(result)
    section.metrics = {"score": result.score}
    binding = result.binding.name if result.binding else None
    section.key_metrics = ["score"] + ([binding] if binding in result.disparities else [])
    for name, d in result.disparities.items():
        section.metrics[name] = num(d.value)
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
        "reference_table": [row for t in result.reference_tables for row in t.rows()],
        "reference_groups_used": {t.feature: {"group": t.reference, "rule": t.rule} for t in result.reference_tables},
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
