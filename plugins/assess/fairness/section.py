"""Build the fairness Section: the findings that set its verdict, then the report parts."""

from __future__ import annotations

from auditkit.plugins.assess.fairness.assess import FairnessResult
from auditkit.plugins.assess.fairness.counterfactual import CounterfactualResult

from auditkit.audit import Audit, IndexColumn, KeyNumber, Section
from auditkit.charts import drawn_for

NAME, TITLE, ORDER = "fairness", "Fairness", 200
SCORE_NOTE = "F: fairness score (1 = every constraint within tolerance)."


def _new_section() -> Section:
    return Section(
        name=NAME,
        title=TITLE,
        report="compliance",
        order=ORDER,
        plugin="fairness",
        # F weighs the value in the business report too, so both covers show it
        headline=[KeyNumber("score", "Fairness score F", reports=("compliance", "business"))],
        index_columns=[IndexColumn("score", "Fairness F", note=SCORE_NOTE)],
    )


def _fmt_ci(ci: tuple[float, float] | None, level: float) -> str:
    return f"{level:.0%} interval {ci[0]:.3f}–{ci[1]:.3f}" if ci else "no interval"


def describe_change(c: CounterfactualResult) -> str:
    """'changing gender_pronouns terms' or 'the paired files' for a sentence."""
    return "rewriting texts as in the paired files" if c.kind == "pairs" else f"changing {c.name} terms"


def add_findings(section: Section, result: FairnessResult, audit: Audit) -> None:
    level = result.config["confidence"]
    for c in result.constraints:
        where = f" on {c.feature!r}" if c.feature else ""
        between = f" ({' vs '.join(c.groups)})" if c.groups else ""
        if c.verdict == "undefined":
            section.add_finding(
                "warn",
                "fairness-constraint-undefined",
                f"{c.name}{where} cannot be evaluated: {c.note}",
            )
            continue
        together = (
            f"; over all features together {c.ci_all_features[0]:.3f}–{c.ci_all_features[1]:.3f}"
            if c.ci_all_features
            else ""
        )
        text = (
            f"{c.name}{where}{between} = {c.value:.3f} against tolerance {c.tolerance:g} "
            f"({_fmt_ci(c.ci, level)}{together}); F_c = {c.score:.3f}"
        )
        if c.verdict == "fail":
            section.add_finding(
                "fail",
                "fairness-constraint-failed",
                text + ": beyond the tolerance by more than noise",
            )
        elif c.verdict == "warn":
            section.add_finding(
                "warn",
                "fairness-constraint-uncertain",
                text + ": beyond the tolerance, but the interval contains it, so the data cannot tell "
                "whether the tolerance is met (more rows would)",
            )
    for note in result.notes:
        section.add_finding("info", "fairness-intersection-skipped", note)
    for name in result.skipped_constraints:
        section.add_finding(
            "info",
            "fairness-constraint-not-applicable",
            f"constraint {name} does not apply to a {result.inputs.task} task; left out of F",
        )
    if result.score is None:
        section.add_finding(
            "warn",
            "fairness-no-score",
            "no constraint could be evaluated, so the fairness score F is undefined",
        )
    rows = len(audit.frame) if audit.frame is not None else 0
    host = audit.dataset.missing_sensitive if audit.dataset else {}
    for feature, count in result.missing.items():
        if count:
            also = f" (the loader counted {host[feature]})" if feature in host and host[feature] != count else ""
            section.add_finding(
                "info",
                "fairness-missing-sensitive",
                f"{count} of {rows} rows have no value for {feature!r}{also}: they are left out "
                f"of that feature's groups and of the intersection",
            )
    small = [
        f"{v.grouping.feature}={g} (n={int(n)})"
        for v in result.views
        for g, n, s in zip(v.grouping.groups, v.point["n"], v.small, strict=False)
        if s
    ]
    if small:
        size = result.config["min_group_size"]
        counted = (
            "they count towards the disparities and F ([fairness] small_groups = \"include\")"
            if result.config["small_groups"] == "include"
            else "they are reported but left out of the disparities and F (set [fairness] small_groups = "
            "\"include\" to count them)"
        )
        section.add_finding(
            "info",
            "fairness-small-groups",
            f"{len(small)} group(s) below min_group_size {size}: "
            + ", ".join(small[:12])
            + (" …" if len(small) > 12 else "")
            + f"; {counted}",
        )
    limit = result.config["counterfactual"]["max_flip_rate"]
    for c in result.counterfactuals:
        if c.flip_rate is not None and c.flip_rate > limit:
            section.add_finding(
                "warn",
                "fairness-counterfactual-flips",
                f"{describe_change(c)} flips {c.flip_rate:.1%} of {c.variants} predictions "
                f"({_fmt_ci(c.flip_rate_ci, level)}; warning level {limit:g}); the score moves by "
                f"{c.mean_abs_score_change:.3f} on average (signed mean {c.mean_score_change:+.3f})",
            )
    if result.counterfactual_note:
        section.add_finding("info", "fairness-counterfactual-skipped", result.counterfactual_note)
    if result.mitigation_note:
        section.add_finding("info", "fairness-mitigation-skipped", result.mitigation_note)
    if result.mitigation is not None:
        for skipped in result.mitigation.skipped:
            section.add_finding(
                "info",
                "fairness-mitigation-skipped",
                f"ThresholdOptimizer ({skipped['constraint']}) could not be fitted: {skipped['reason']}",
            )
        if result.mitigation.runs:
            section.add_finding(
                "info",
                "fairness-mitigation-needs-sensitive",
                f"the ThresholdOptimizer what-if uses a threshold per {result.mitigation.feature!r} "
                f"group: deploying it needs that feature at prediction time",
            )


def assess_section(audit: Audit) -> Section | None:
    section = _new_section()
    if audit.dataset is None or audit.frame is None:
        return None
    if not audit.dataset.sensitive:
        section.add_finding(
            "warn",
            "fairness-no-sensitive-features",
            "no sensitive features are configured, so fairness was not measured; "
            "list the columns under [data] sensitive",
        )
        section.summary = "Fairness was not measured: the evaluation data names no sensitive features."
        section.assessed = False
        section.metrics = {"score": None}
        section.key_metrics = ["score"]
        section.data = {"groups": [], "disparities": {}, "score": None}
        return section
    from auditkit.plugins.assess.fairness import report
    from auditkit.plugins.assess.fairness.run import run

    result = run(audit)
    if result is None:
        section.add_finding(
            "warn",
            "fairness-no-predictions",
            "the model produced no predictions to measure (token task without token labels?)",
        )
        section.summary = "Fairness was not measured: there are no predictions."
        section.assessed = False
        section.metrics = {"score": None}
        section.key_metrics = ["score"]
        section.data = {"groups": [], "disparities": {}, "score": None}
        return section
    add_findings(section, result, audit)
    return report.build(result, section, draw=drawn_for(audit.formats))
