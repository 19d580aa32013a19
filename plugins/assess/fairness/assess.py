"""The fairness assessment of one Audit: inputs → group metrics → disparities → F.

Everything numeric is computed here into a `FairnessResult`; `report.py` turns it into
the Section (summary, tables, charts, JSON). Imported only inside the hook body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from auditkit.plugins.assess.fairness import aucs, constraints, delong, disparity, engine, reference
from auditkit.plugins.assess.fairness.counterfactual import CounterfactualResult
from auditkit.plugins.assess.fairness.groups import Grouping, build_groupings
from auditkit.plugins.assess.fairness.schema import DISPARITIES, schema

from auditkit.audit import Audit
from auditkit.errors import ConfigError, DataError

if TYPE_CHECKING:  # sklearn loads only when the what-if runs
    from auditkit.plugins.assess.fairness.mitigation import MitigationResult

# metrics that need the true label; null (with a note) when the data has no label column
_NEEDS_LABEL = (
    "base_rate",
    "accuracy",
    "error_rate",
    "precision",
    "tpr",
    "fpr",
    "fnr",
    "f1",
    "macro_f1",
    "recall_",
    "precision_",
    "fpr_",
    "auc",
    "bpsn_auc",
    "bnsp_auc",
)
NO_LABEL_NOTE = "the evaluation data has no label column"


@dataclass
class Inputs:
    """What the metrics are computed from, in integer codes."""

    task: str  # "binary", "multiclass" or "token"
    classes: list[str]
    positive: str | None
    y: np.ndarray | None
    yhat: np.ndarray | None
    scores: np.ndarray | None = None
    stats: np.ndarray | None = None  # token tasks: (matched, predicted, true, 1) per example
    has_labels: bool = True


@dataclass
class GroupView:
    """Per-group metrics, intervals and disparities of one grouping."""

    grouping: Grouping
    point: dict[str, np.ndarray]
    notes: dict[str, list[str | None]]
    ci: dict[str, np.ndarray]
    small: np.ndarray
    eligible: np.ndarray
    ref: int | None
    replicates: dict[str, np.ndarray] = field(default_factory=dict)
    disparities: dict[str, disparity.Disparity] = field(default_factory=dict)
    confusion: np.ndarray | None = None  # (G, k·k) summed confusion entries; None for token tasks


@dataclass
class FairnessResult:
    inputs: Inputs
    config: dict[str, Any]
    views: list[GroupView]
    overall: dict[str, float | None]
    disparities: dict[str, disparity.Disparity]
    constraints: list[constraints.ConstraintResult]
    score: float | None
    binding: constraints.ConstraintResult | None
    missing: dict[str, int]
    skipped_constraints: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overall_auc: tuple[float | None, tuple[float, float] | None] | None = None
    mitigation: MitigationResult | None = None
    mitigation_note: str | None = None
    counterfactuals: list[CounterfactualResult] = field(default_factory=list)
    counterfactual_note: str | None = None
    reference_tables: list[reference.ReferenceTable] = field(default_factory=list)


def settings(audit: Audit) -> tuple[dict[str, Any], dict[str, Any]]:
    """[fairness] and [fairness.counterfactual] over the schema defaults."""
    main, sub = schema()
    cfg = {
        **main.defaults(),
        **{k: v for k, v in audit.config.section("fairness").items() if k != "counterfactual"},
    }
    cf = {**sub.defaults(), **audit.config.section("fairness.counterfactual")}
    return cfg, cf


def prepare(audit: Audit) -> Inputs | None:
    """Labels and predictions as integer codes; None when there is nothing to measure."""
    preds = audit.predictions
    if audit.model.task == "token-classification":
        if preds is None or preds.token_labels is None or audit.token_true is None:
            return None
        from auditkit.plugins.assess.fairness.tokens import example_stats

        return Inputs("token", [], None, None, None, stats=example_stats(audit.token_true, preds.token_labels))
    if preds is None:
        return None
    classes = [str(c) for c in (preds.classes or audit.model.labels)]
    return label_inputs(audit.y_true, preds.labels, classes, audit.positive_label, preds.scores)


def class_codes(values: Any, classes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Index into ``classes`` per row, matching labels as strings; also the unknown labels.

    Factorizing first means only the few distinct values are turned into strings.
    """
    codes, uniques = pd.factorize(np.asarray(values), use_na_sentinel=False)
    index = {c: i for i, c in enumerate(classes)}
    names = [str(u) for u in uniques]
    lut = np.array([index.get(n, -1) for n in names], dtype=np.int64)
    return lut[codes], [n for n in names if n not in index]


def label_inputs(
    truth: Any, predicted: Any, classes: list[str], positive: str | None = None, scores: Any = None
) -> Inputs:
    """Inputs of a sequence task from label names (``truth`` None: the data has no labels)."""
    has_labels = truth is not None
    yhat, extra = class_codes(predicted, classes)
    y, extra_true = class_codes(truth, classes) if has_labels else (yhat, [])
    extra = sorted(set(extra) | set(extra_true))
    if extra:
        raise DataError(f"[data] label: value(s) {extra[:5]} are not labels of the model ({', '.join(classes)})")
    scores = None if scores is None else np.asarray(scores, dtype=float)
    if len(classes) == 2:
        positive = str(positive or classes[1])
        if positive not in classes:
            raise ConfigError(f"[data] positive = {positive!r}: not a label of the model; labels are {classes}")
        pos = classes.index(positive)
        negative = classes[1 - pos]
        y, yhat = (y == pos).astype(np.int64), (yhat == pos).astype(np.int64)
        return Inputs("binary", [negative, positive], positive, y, yhat, scores, has_labels=has_labels)
    return Inputs("multiclass", classes, None, y, yhat, None, has_labels=has_labels)


def _metric_fn(inputs: Inputs) -> Any:
    if inputs.task == "token":
        return engine.entity_metrics
    return lambda agg: engine.confusion_metrics(agg, inputs.classes, inputs.task == "binary")


def _blank_unlabelled(metrics: dict[str, np.ndarray]) -> None:
    for name in metrics:
        if name.startswith(_NEEDS_LABEL):
            metrics[name] = np.full_like(metrics[name], np.nan, dtype=float)


def _reference(cfg: dict[str, Any], grouping: Grouping) -> int | None:
    refs = {str(k): str(v) for k, v in cfg["reference_groups"].items()}
    if grouping.feature not in refs:
        return None
    if refs[grouping.feature] not in grouping.groups:
        raise ConfigError(
            f"[fairness] reference_groups: {grouping.feature} = {refs[grouping.feature]!r} is not a group "
            f"of that column; groups are: {', '.join(grouping.groups[:20])}"
        )
    return grouping.groups.index(refs[grouping.feature])


def measure(
    frame: pd.DataFrame, sensitive: list[str], inputs: Inputs, cfg: dict[str, Any], notes: list[str] | None = None
) -> tuple[list[GroupView], dict[str, float | None]]:
    """Group metrics with bootstrap intervals for every grouping, from one cell table."""
    groupings = build_groupings(
        frame, sensitive, cfg["intersection"], cfg["max_groups"], cfg["max_intersection_groups"], notes
    )
    unknown = set(map(str, cfg["reference_groups"])) - {g.feature for g in groupings}
    if unknown:
        raise ConfigError(f"[fairness] reference_groups: {sorted(unknown)} are not [data] sensitive columns")
    if inputs.task == "token":
        assert inputs.stats is not None
        cells = engine.example_cells(groupings, inputs.stats)
    else:
        assert inputs.y is not None and inputs.yhat is not None
        cells = engine.confusion_cells(groupings, inputs.y, inputs.yhat, len(inputs.classes))
    metric_fn = _metric_fn(inputs)
    aggregators = [engine.Aggregator(cells, g) for g in groupings]
    summed = [a(cells.counts) for a in aggregators]
    points = [metric_fn(x) for x in summed]
    reps = engine.bootstrap(cells, aggregators, metric_fn, cfg["bootstrap"], cfg["seed"])
    total = metric_fn((cells.counts @ cells.stats)[None, :])
    overall = {k: (None if np.isnan(v[0]) else float(v[0])) for k, v in total.items() if k not in ("share",)}
    views = []
    for grouping, point, stacked, confusion in zip(groupings, points, reps, summed, strict=True):
        if not inputs.has_labels:
            for metrics in (point, stacked):
                _blank_unlabelled(metrics)
        small = point["n"] < cfg["min_group_size"]
        eligible = ~small if cfg["small_groups"] == "exclude" else np.ones(len(small), dtype=bool)
        notes = {
            k: [
                (NO_LABEL_NOTE if not inputs.has_labels and k.startswith(_NEEDS_LABEL) else engine.undefined_reason(k))
                if np.isnan(x)
                else None
                for x in v
            ]
            for k, v in point.items()
        }
        ci = {k: engine.percentile_ci(v, cfg["confidence"]) for k, v in stacked.items()}
        view = GroupView(grouping, point, notes, ci, small, eligible, _reference(cfg, grouping), stacked)
        view.confusion = None if inputs.task == "token" else confusion
        views.append(view)
    if not inputs.has_labels:
        overall = {k: (None if k.startswith(_NEEDS_LABEL) else v) for k, v in overall.items()}
    return views, overall


def reference_tables(inputs: Inputs, views: list[GroupView], cfg: dict[str, Any]) -> list[reference.ReferenceTable]:
    """Aequitas's crosstab against a reference group, per sensitive feature (binary tasks)."""
    if inputs.task != "binary":
        return []
    return [
        reference.build(v.grouping, v.confusion, v.small, cfg["reference_groups"], inputs.has_labels)
        for v in views
        if v.confusion is not None and not v.grouping.is_intersection
    ]


def add_aucs(
    inputs: Inputs, views: list[GroupView], cfg: dict[str, Any]
) -> tuple[float | None, tuple[float, float] | None] | None:
    """Subgroup, BPSN and BNSP AUC per group (binary tasks with scores and labels), with
    DeLong intervals, or bootstrap ones on small data (:func:`delong.method`)."""
    if inputs.task != "binary" or inputs.scores is None or not inputs.has_labels:
        return None
    assert inputs.y is not None
    scores, positive = inputs.scores, inputs.y.astype(bool)
    if not np.isfinite(scores).all():
        return None
    from auditkit.classification_scores import roc_auc_score

    groupings = [v.grouping for v in views]
    defined = 0 < positive.sum() < len(positive)
    overall, overall_ci = None, None
    how = delong.method(cfg["auc_interval"], len(scores), cfg["auc_bootstrap"])
    if how == "delong":  # points and intervals from the same pass (and sort), the overall AUC too
        results, (low, high), auc = aucs.delong_aucs(positive, scores, groupings, cfg["confidence"])
        overall = float(auc) if defined else None
        overall_ci = None if overall is None or np.isnan(low) else (low, high)
    else:
        overall = float(roc_auc_score(positive, scores)) if defined else None
        results = [aucs.point_aucs(positive, scores, g) for g in groupings]
    if how == "bootstrap" and overall is not None:
        reps = aucs.bootstrap_aucs(positive, scores, groupings, results, cfg["auc_bootstrap"], cfg["seed"])
        low, high = engine.percentile_ci(reps[:, None], cfg["confidence"])[0]
        overall_ci = None if np.isnan(low) else (float(low), float(high))
    for view, result in zip(views, results, strict=False):
        for metric in aucs.AUC_METRICS:
            view.point[metric] = result.point[metric]
            view.notes[metric] = result.notes[metric]
            if metric in result.replicates:
                view.ci[metric] = engine.percentile_ci(result.replicates[metric], cfg["confidence"])
            elif metric in result.ci:
                view.ci[metric] = result.ci[metric]
    return overall, overall_ci


def _ci(replicates: np.ndarray | None, level: float) -> tuple[float, float] | None:
    if replicates is None or len(replicates) == 0:
        return None
    low, high = engine.percentile_ci(replicates[:, None], level)[0]
    return None if np.isnan(low) else (float(low), float(high))


def compute_disparities(inputs: Inputs, views: list[GroupView], cfg: dict[str, Any]) -> dict[str, disparity.Disparity]:
    """Every applicable disparity per grouping, and the worst over the groupings in scope."""
    top: dict[str, disparity.Disparity] = {}
    in_scope = [v for v in views if cfg["intersection_in_score"] or not v.grouping.is_intersection]
    for name in disparity.applicable(inputs.task, inputs.classes):
        comps = disparity.components(name, inputs.task, inputs.classes)
        assert comps is not None
        for view in views:
            d = disparity.compute(
                name,
                comps,
                view.grouping.feature,
                view.grouping.groups,
                view.point,
                view.eligible,
                view.ref,
                view.replicates or None,
            )
            d.ci = _ci(d.replicates, cfg["confidence"])
            view.disparities[name] = d
        worst = disparity.worst([v.disparities[name] for v in in_scope])
        # d is one feature's disparity, so its interval is that feature's own; the interval of
        # the worst over every feature (resampled together) is kept beside it when it differs
        own = next((v.disparities[name] for v in in_scope if v.grouping.feature == worst.feature), None)
        together = _ci(worst.replicates, cfg["confidence"])
        worst.ci = own.ci if own is not None else together
        worst.ci_all_features = together if together != worst.ci else None
        top[name] = worst
    return top


def score_constraints(
    inputs: Inputs,
    cfg: dict[str, Any],
    top: dict[str, disparity.Disparity],
    cfs: list[CounterfactualResult],
) -> tuple[list[constraints.ConstraintResult], list[str]]:
    table = cfg["token_constraints"] if inputs.task == "token" else cfg["constraints"]
    results, skipped = [], []
    for name, tau in table.items():
        kind = DISPARITIES[name][0]
        if name == "counterfactual_flip_rate":
            rated = [c for c in cfs if c.flip_rate is not None]
            if not rated:
                results.append(
                    constraints.evaluate(
                        name,
                        kind,
                        float(tau),
                        None,
                        None,
                        note="no counterfactual test produced a flip rate",
                    )
                )
                continue
            w = max(rated, key=lambda c: c.flip_rate or 0.0)
            results.append(
                constraints.evaluate(
                    name,
                    kind,
                    float(tau),
                    w.flip_rate,
                    w.flip_rate_ci,
                    feature=w.name,
                    metric="flip_rate",
                )
            )
            continue
        if name not in top:
            skipped.append(name)
            continue
        d = top[name]
        result = constraints.evaluate(name, kind, float(tau), d.value, d.ci, d.feature, d.groups, d.metric, d.note)
        result.ci_all_features = d.ci_all_features
        results.append(result)
    return results, skipped
