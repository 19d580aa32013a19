"""Turn an audit's predictions into the calibration Section: numbers, findings, tables, charts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from auditkit import Calculation, ConfigError, Section, Table
from auditkit.audit import IndexColumn, KeyNumber

from auditkit_calibration.ece import Calibration, bin_edges, calibrate

if TYPE_CHECKING:
    from auditkit import Audit

SECTION, ORDER, TEMPLATE = "calibration", 250, "calibration/section.html.j2"


@dataclass(frozen=True)
class Settings:
    """The validated ``[calibration]`` section (auditkit checked types and ranges)."""

    bins: int
    strategy: str
    kind: str
    warn_ece: float
    max_ece: float
    sensitive: list[str]
    min_group_size: int
    bootstrap: int
    confidence: float
    seed: int

    @classmethod
    def from_audit(cls, audit: Audit) -> Settings:
        return cls(**audit.config.section(SECTION))


@dataclass(frozen=True)
class Target:
    """What is calibrated: a probability per row and the 0/1 outcome it predicts."""

    kind: str
    prob: np.ndarray
    outcome: np.ndarray
    meaning: str


@dataclass(frozen=True)
class GroupResult:
    feature: str
    group: str
    result: Calibration
    verdict: str  # pass | warn | fail | not judged


def target(audit: Audit, kind: str) -> Target | str:
    """The probabilities to judge, or the reason there are none."""
    predictions, classes = audit.predictions, list(audit.predictions.classes)
    binary = len(classes) == 2
    if kind == "auto":
        kind = "positive" if binary else "top-label"
    y_true = np.asarray(audit.y_true, dtype=object)
    if kind == "positive":
        if not binary:
            raise ConfigError(
                f"{audit.config.origin('calibration.kind')}: [calibration] kind = 'positive' needs a binary task; "
                f"this model has {len(classes)} labels: use 'top-label' or 'auto'"
            )
        positive = audit.positive_label or classes[1]
        if predictions.proba is not None:
            prob = np.asarray(predictions.proba, dtype=float)[:, classes.index(positive)]
        elif predictions.scores is not None:
            prob = np.asarray(predictions.scores, dtype=float)
            if prob.min() < 0 or prob.max() > 1:
                return f"the scores range from {prob.min():.4g} to {prob.max():.4g}, so they are not probabilities"
        else:
            return "the predictions hold labels only, no probabilities"
        return Target("positive", prob, (y_true == positive).astype(float), f"P({positive})")
    if predictions.proba is None:
        return "top-label calibration needs class probabilities; the predictions have none"
    column = np.asarray([classes.index(str(label)) for label in predictions.labels])
    prob = np.asarray(predictions.proba, dtype=float)[np.arange(len(column)), column]
    correct = np.asarray(predictions.labels, dtype=object) == y_true
    return Target("top-label", prob, correct.astype(float), "confidence of the predicted label")


def assess(audit: Audit) -> Section | None:
    if audit.predictions is None or audit.y_true is None or audit.model.task == "token-classification":
        return None  # token tasks have no per-row probability to calibrate
    cfg = Settings.from_audit(audit)
    section = Section(
        name=SECTION,
        title="Calibration",
        order=ORDER,
        template=TEMPLATE,
        key_metrics=["ece", "worst_group_ece"],
        # on the compliance cover and as a column of the multi-model index, like a built-in's
        headline=[KeyNumber("ece", "Expected calibration error ECE")],
        index_columns=[
            IndexColumn("ece", "Calibration ECE", note="ECE: expected calibration error (0 = probabilities match).")
        ],
    )
    found = target(audit, cfg.kind)
    if isinstance(found, str):
        section.summary = f"Not assessed: {found}."
        section.assessed = False  # badge NOT ASSESSED: an info finding alone would read as PASS
        section.add_finding("info", "calibration-not-applicable", f"calibration was not assessed: {found}")
        return section
    edges = bin_edges(found.prob, cfg.bins, cfg.strategy)
    overall = calibrate(found.prob, found.outcome, edges, cfg.bootstrap, cfg.confidence, cfg.seed)
    groups = [
        _judge_group(
            feature,
            group,
            calibrate(found.prob[m], found.outcome[m], edges, cfg.bootstrap, cfg.confidence, cfg.seed),
            cfg,
        )
        for feature, group, m in _group_masks(audit, cfg)
    ]
    _findings(section, overall, groups, cfg)
    judged = [g for g in groups if g.verdict != "not judged"]
    worst = max(judged, key=lambda g: g.result.ece, default=None)
    interval = overall.interval
    section.metrics = {
        "rows": overall.n,
        "ece": overall.ece,
        "ece_bias_corrected": overall.debiased,
        "ece_ci_low": interval.low if interval else None,
        "ece_ci_high": interval.high if interval else None,
        "ece_noise_floor": overall.noise_floor,
        "mce": overall.mce,
        "brier": overall.brier,
        "worst_group_ece": worst.result.ece if worst else None,
        "groups_judged": len(judged),
        "groups_failed": sum(g.verdict == "fail" for g in groups),
    }
    ci = (
        f" (bias-corrected {overall.debiased:.3f}, {cfg.confidence:.0%} CI {interval.low:.3f}–{interval.high:.3f})"
        if interval and overall.debiased is not None
        else ""
    )
    worst_text = f"; worst group {worst.feature}={worst.group}: {worst.result.ece:.3f}" if worst else ""
    section.summary = (
        f"ECE of {found.meaning}: {overall.ece:.3f}{ci} over {overall.n} rows, tolerance {cfg.max_ece:g}{worst_text}."
    )
    section.tables = [_bins_table(overall), _groups_table(groups, cfg)]
    section.calculations = [
        Calculation(
            "expected calibration error",
            "ECE = Σ_b (n_b / n) · |observed_b − predicted_b|",
            {
                "n": overall.n,
                "bins": cfg.bins,
                "strategy": cfg.strategy,
                "Σ_b n_b·|observed_b − predicted_b|": sum(b.count * b.gap for b in overall.bins if b.gap is not None),
            },
            overall.ece,
        )
    ]
    section.data = {
        "method": {
            "kind": found.kind,
            "probability": found.meaning,
            "bins": cfg.bins,
            "strategy": cfg.strategy,
            "bootstrap": cfg.bootstrap,
            "confidence": cfg.confidence,
            "seed": cfg.seed,
            "warn_ece": cfg.warn_ece,
            "max_ece": cfg.max_ece,
            "min_group_size": cfg.min_group_size,
        },
        "reliability": [{**vars(b), "gap": b.gap} for b in overall.bins],
        "groups": [_group_json(g) for g in groups],
    }
    from auditkit_calibration.chart import group_chart, reliability_chart

    section.charts = [reliability_chart(overall, found.meaning)]
    if judged:
        section.charts.append(group_chart(judged, cfg.warn_ece, cfg.max_ece, cfg.confidence))
    return section


def _group_masks(audit: Audit, cfg: Settings) -> list[tuple[str, str, np.ndarray]]:
    frame: pd.DataFrame = audit.frame
    columns = cfg.sensitive or (list(audit.dataset.sensitive) if audit.dataset else [])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{audit.config.origin('calibration.sensitive')}: [calibration] sensitive names "
            f"{', '.join(map(repr, missing))}, not columns of the evaluation data; columns: {list(frame.columns)}"
        )
    out = []
    for column in columns:
        values = frame[column]
        present = values.notna().to_numpy()
        text = values.astype(str).to_numpy()
        for group in sorted(set(text[present])):
            out.append((column, group, present & (text == group)))
    return out


def judge(result: Calibration, max_ece: float) -> str:
    """pass when the ECE is within the tolerance; fail only when the data shows it is not.

    An interval (of the bias-corrected ECE) that reaches the tolerance, or an ECE that a
    perfectly calibrated model reaches by chance on this many rows (the noise floor), is
    at most a warn: the data cannot tell. Without a bootstrap there is neither, and an ECE
    above the tolerance fails.
    """
    if result.ece <= max_ece:
        return "pass"
    if result.interval is None:
        return "fail"
    within_noise = result.noise_floor is not None and result.ece <= result.noise_floor
    return "warn" if result.interval.low <= max_ece or within_noise else "fail"


def _judge_group(feature: str, group: str, result: Calibration, cfg: Settings) -> GroupResult:
    """Small groups are not judged; the others as :func:`judge` says."""
    verdict = "not judged" if result.n < cfg.min_group_size else judge(result, cfg.max_ece)
    return GroupResult(feature, group, result, verdict)


def _cannot_tell(result: Calibration) -> str:
    """Why a miss is only a warn: the interval reaches the tolerance, or noise explains the ECE."""
    parts = []
    if result.interval is not None:
        parts.append(f"the interval of its bias-corrected value reaches down to {result.interval.low:.3f}")
    if result.noise_floor is not None and result.ece <= result.noise_floor:
        parts.append(f"a perfectly calibrated model shows up to {result.noise_floor:.3f} on {result.n} rows by chance")
    return " and ".join(parts) + ": the data cannot tell, more rows would"


def _findings(section: Section, overall: Calibration, groups: list[GroupResult], cfg: Settings) -> None:
    tolerance = f"the tolerance max_ece = {cfg.max_ece:g} ([calibration])"
    if judge(overall, cfg.max_ece) == "fail":
        section.add_finding("fail", "calibration-ece-above-max", f"ECE {overall.ece:.3f} is above {tolerance}")
    elif overall.ece > cfg.max_ece:
        section.add_finding(
            "warn",
            "calibration-ece-uncertain",
            f"ECE {overall.ece:.3f} is above {tolerance}, but {_cannot_tell(overall)}",
        )
    elif overall.ece > cfg.warn_ece:
        section.add_finding(
            "warn", "calibration-ece-above-warn", f"ECE {overall.ece:.3f} is above warn_ece = {cfg.warn_ece:g}"
        )
    else:
        section.add_finding(
            "info", "calibration-ece-within-tolerance", f"ECE {overall.ece:.3f} is within warn_ece = {cfg.warn_ece:g}"
        )
    if overall.noise_floor is not None and overall.noise_floor > cfg.max_ece:
        section.add_finding(
            "warn",
            "calibration-noise-floor-above-max",
            f"with {overall.n} rows a perfectly calibrated model reaches ECE {overall.noise_floor:.3f} by chance "
            f"({cfg.confidence:.0%} quantile), more than {tolerance}: add evaluation rows or use fewer bins",
        )
    for g in groups:
        where = f"{g.feature}={g.group} ({g.result.n} rows)"
        low = g.result.interval.low if g.result.interval else None
        if g.verdict == "fail":
            bound = (
                f", and so is the lower end of the interval of its bias-corrected value {low:.3f}"
                if low is not None
                else " (no interval: [calibration] bootstrap = 0)"
            )
            section.add_finding(
                "fail",
                "calibration-group-ece-above-max",
                f"{where}: ECE {g.result.ece:.3f} is above {tolerance}{bound}",
            )
        elif g.verdict == "warn":
            section.add_finding(
                "warn",
                "calibration-group-ece-uncertain",
                f"{where}: ECE {g.result.ece:.3f} is above {tolerance}, but {_cannot_tell(g.result)}",
            )
    small = [f"{g.feature}={g.group} ({g.result.n})" for g in groups if g.verdict == "not judged"]
    if small:
        section.add_finding(
            "info",
            "calibration-small-groups",
            f"not judged, fewer than min_group_size = {cfg.min_group_size} rows: {', '.join(small)}",
        )


def _bins_table(overall: Calibration) -> Table:
    rows = [
        {
            "bin": f"{'[' if i == 0 else '('}{b.lower:.3g}, {b.upper:.3g}]",
            "rows": b.count,
            "mean predicted": b.mean_predicted,
            "observed": b.observed,
            "gap": b.gap,
        }
        for i, b in enumerate(overall.bins)
    ]
    return Table("Reliability bins, all rows", pd.DataFrame(rows), name="calibration-bins")


def _groups_table(groups: list[GroupResult], cfg: Settings) -> Table:
    columns = [
        "feature",
        "group",
        "rows",
        "ECE",
        "bias-corrected ECE",
        "CI low",
        "CI high",
        "noise floor",
        "Brier",
        "verdict",
    ]
    rows = [
        [
            g.feature,
            g.group,
            g.result.n,
            g.result.ece,
            g.result.debiased,
            *_interval(g.result),
            g.result.noise_floor,
            g.result.brier,
            g.verdict,
        ]
        for g in groups
    ]
    note = (
        f"ECE is biased upwards. Intervals: {cfg.confidence:.0%} bootstrap percentile interval of the bias-corrected "
        f"ECE (2·ECE − bootstrap ECE), {cfg.bootstrap} resamples, bin edges of all rows; it contains the "
        "bias-corrected ECE, not necessarily the raw one. Fail only when the whole interval is above max_ece and "
        "the ECE is above the noise floor (what a perfectly calibrated model reaches by chance)."
    )
    return Table("ECE per sensitive group", pd.DataFrame(rows, columns=columns), name="calibration-groups", note=note)


def _interval(result: Calibration) -> tuple[float | None, float | None]:
    return (result.interval.low, result.interval.high) if result.interval else (None, None)


def _group_json(g: GroupResult) -> dict[str, Any]:
    low, high = _interval(g.result)
    return {
        "feature": g.feature,
        "group": g.group,
        "rows": g.result.n,
        "ece": g.result.ece,
        "ece_bias_corrected": g.result.debiased,
        "ci_low": low,
        "ci_high": high,
        "noise_floor": g.result.noise_floor,
        "brier": g.result.brier,
        "verdict": g.verdict,
    }
