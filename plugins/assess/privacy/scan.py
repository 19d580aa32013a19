"""The two data-facing parts of the privacy section: the PII scan and membership inference."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from auditkit.plugins.assess.privacy import membership as mia
from auditkit.plugins.assess.privacy import record
from auditkit.plugins.assess.privacy.assess import make_table
from auditkit.plugins.assess.privacy.recognizers import builtin_recognizers, check_recognizer
from auditkit.plugins.assess.privacy.record import DpSetting, TrainingRecord

from auditkit.audit import Audit, Section
from auditkit.errors import DataError
from auditkit.safe_text import show_path

HOOK = "auditkit_pii_recognizers"


@dataclass
class PiiTotals:
    findings: int = 0
    occurrences: int = 0
    training_rows: int = 0


def collect_recognizers(audit: Audit, section: Section | None = None) -> list[Any]:
    """Every plugin's recognizers through the hook (built-ins when the audit has no hook relay).

    The host's :class:`~auditkit.isolation.Hook` calls each plugin on its own: one that
    raises is an ``error`` finding in ``section`` naming it (raised when there is no
    section), and the others' recognizers still scan.
    """
    from auditkit.isolation import hook_of

    relay = getattr(audit, "hook", None)
    if relay is None or getattr(relay, HOOK, None) is None:
        found = [(r, "privacy") for r in builtin_recognizers()]
    else:
        found = []
        for outcome in hook_of(relay, HOOK).outcomes({}):
            if not outcome.ok:
                if section is None and outcome.exception is not None:
                    raise outcome.exception
                if section is not None:
                    section.findings.append(outcome.finding)  # type: ignore[arg-type]
                continue
            for rec in outcome.result or []:
                check_recognizer(rec, outcome.plugin)
                found.append((rec, outcome.plugin))
    wanted = list(audit.config.section("privacy.pii")["recognizers"])
    names = {r.name for r, _ in found}
    unknown = [w for w in wanted if w not in names]
    if unknown:
        from auditkit.errors import ConfigError

        raise ConfigError(
            f"{audit.config.origin('privacy.pii.recognizers')}: [privacy.pii] recognizers: unknown "
            f"{', '.join(map(repr, unknown))}; installed: {', '.join(sorted(names))}"
        )
    return [r for r, _ in found if not wanted or r.name in wanted]


def pii_part(audit: Audit, section: Section, rec: TrainingRecord, summary: list[str]) -> PiiTotals:
    from auditkit.plugins.assess.privacy.pii import scan_frame

    cfg = audit.config.section("privacy.pii")
    totals = PiiTotals()
    train_path = record.training_file(audit, rec)
    train_frame = record.read_table(train_path, audit) if train_path is not None else None
    if train_frame is not None:
        totals.training_rows = len(train_frame)
    if not cfg["enabled"]:
        return totals
    recognizers = collect_recognizers(audit, section)
    sources: list[tuple[str, Any]] = []
    if audit.frame is not None:
        sources.append(("evaluation", audit.frame))
    if cfg["scan_training"] and train_frame is not None:
        sources.append(("training", train_frame))
    hits = []
    scanned: dict[str, list[str]] = {}
    for name, frame in sources:
        found, columns = scan_frame(frame, name, recognizers, cfg["columns"], cfg["examples"], cfg["max_rows"])
        hits.extend(found)
        scanned[name] = columns
    totals.findings = len(hits)
    totals.occurrences = sum(h.occurrences for h in hits)
    section.metrics["pii_findings"] = totals.findings
    section.metrics["pii_occurrences"] = totals.occurrences
    section.metrics["pii_types"] = len({h.kind for h in hits})
    section.data["pii"] = {
        "recognizers": sorted(r.name for r in recognizers),
        "scanned": scanned,
        "findings": [h.to_json() for h in hits],
    }
    if hits:
        rows = [[h.source, h.column, h.label, h.occurrences, h.rows, h.share, ", ".join(h.examples)] for h in hits]
        section.tables.append(
            make_table(
                "privacy-pii",
                "Personal data found (masked examples only)",
                ["data", "column", "type", "occurrences", "rows", "share of rows", "masked examples"],
                rows,
            )
        )
        by_column: dict[tuple[str, str], list[Any]] = {}
        for h in hits:
            by_column.setdefault((h.source, h.column), []).append(h)
        for (source, column), group in by_column.items():
            kinds = ", ".join(f"{h.occurrences} × {h.label}" for h in group)
            rows_hit = max(h.rows for h in group)
            section.add_finding(
                cfg["severity"],
                "privacy-pii-found",
                f"{source} data, column {column!r}: {kinds} (at least {rows_hit} of {group[0].total_rows} rows).",
            )
        summary.append(f"{totals.occurrences} PII occurrences in {len(by_column)} column(s)")
    else:
        columns = sorted({c for cols in scanned.values() for c in cols})
        section.add_finding(
            "info",
            "privacy-no-pii",
            f"No personal data found by {len(recognizers)} recognizers in "
            f"{', '.join(map(repr, columns)) or 'no text column'}.",
        )
        summary.append("no PII found")
    if not any(r.name == "person" for r in recognizers):
        section.add_finding(
            "info",
            "privacy-names-not-scanned",
            "Person names were not scanned: no offline name recognizer is installed (none ships with auditkit); "
            "a plugin can add one named 'person' through auditkit_pii_recognizers.",
        )
    return totals


# ------------------------------------------------------------------------------ membership


def membership_part(
    audit: Audit,
    section: Section,
    rec: TrainingRecord,
    setting: DpSetting | None,
    eps: float | None,
    summary: list[str],
) -> None:
    cfg = audit.config.section("privacy.membership")
    if not cfg["enabled"]:
        return
    predict = getattr(audit.handle, "predict_proba", None)
    if not callable(predict) or audit.model.task != "sequence-classification":
        section.add_finding(
            "info",
            "privacy-mia-skipped",
            "Membership inference skipped: it needs a text classifier that gives class "
            "probabilities (not a predictions file or a token tagger).",
        )
        return
    train_path, holdout_path, where = record.member_files(audit, rec)
    if train_path is None or holdout_path is None:
        section.add_finding(
            "info",
            "privacy-mia-skipped",
            "Membership inference skipped: the training data is unknown; training.json "
            "data.train_file and data.eval_file, or [privacy.membership] train_data and "
            "holdout_data, name the rows trained on and held out.",
        )
        return
    text = cfg["text"] or rec.data.get("text") or (audit.dataset.text if audit.dataset else None) or "text"
    label = cfg["label"] or rec.data.get("label") or (audit.dataset.label if audit.dataset else None) or "label"
    members = _texts_labels(train_path, text, label, audit)
    holdout = _texts_labels(holdout_path, text, label, audit)
    seen = set(members[0])
    keep = [i for i, t in enumerate(holdout[0]) if t not in seen]  # a duplicate is no non-member
    dropped = len(holdout[0]) - len(keep)
    holdout = ([holdout[0][i] for i in keep], holdout[1][keep])
    if not members[0] or not holdout[0]:
        empty = train_path if not members[0] else holdout_path
        raise DataError(f"{show_path(empty, audit.model_dir)}: no usable rows for membership inference")
    m_idx, n_idx = mia.balanced_sample(len(members[0]), len(holdout[0]), cfg["sample_size"], cfg["seed"])
    m_loss = mia.example_losses(predict, [members[0][i] for i in m_idx], members[1][m_idx])
    n_loss = mia.example_losses(predict, [holdout[0][i] for i in n_idx], holdout[1][n_idx])
    result = mia.loss_threshold_attack(m_loss, n_loss)
    _report_attack(section, result, setting, eps, cfg, summary)
    section.data["membership"] = {
        "source": where,
        "train_file": show_path(train_path, audit.model_dir),
        "holdout_file": show_path(holdout_path, audit.model_dir),
        "members": result.n_members,
        "nonmembers": result.n_nonmembers,
        "holdout_duplicates_dropped": dropped,
        "auc": result.auc,
        "advantage": result.advantage,
        "tpr_at_fpr": {str(k): v for k, v in result.tpr_at.items()},
        "mean_loss": {"members": result.member_loss, "nonmembers": result.nonmember_loss},
    }


def _texts_labels(path: Path, text: str, label: str, audit: Audit) -> tuple[list[str], np.ndarray]:
    from auditkit.data import align_labels

    labels, model_dir = audit.model.labels, audit.model_dir
    shown = show_path(path, model_dir)
    frame = record.read_table(path, audit)
    for role, column in (("text", text), ("label", label)):
        if column not in frame.columns:
            raise DataError(
                f"{shown}: no {role} column {column!r} (set [privacy.membership] {role}); the columns are: "
                + record.columns_text(frame)
            )
    frame = frame.dropna(subset=[text, label])
    try:
        names = align_labels(frame[label].tolist(), list(labels), f"{shown}: column {label!r}")
    except DataError:  # its message quotes the unknown values: cells of a file the report must not carry
        unknown = {str(v) for v in frame[label].tolist()} - set(labels)
        raise DataError(
            f"{shown}: column {label!r} has {len(unknown)} label value(s) the model does not know; "
            f"the model's labels (config.json id2label) are {labels}; fix the data or [privacy.membership] label"
        ) from None
    index = np.asarray([labels.index(n) for n in names], dtype=np.int64)
    return [str(t) for t in frame[text].tolist()], index


def _report_attack(
    section: Section,
    result: mia.AttackResult,
    setting: DpSetting | None,
    eps: float | None,
    cfg: dict[str, Any],
    summary: list[str],
) -> None:
    from auditkit.plugins.assess.privacy import figures

    from auditkit.audit import Calculation

    m = section.metrics
    m["mia_auc"] = result.auc
    m["mia_advantage"] = result.advantage
    m["mia_tpr_at_0_1pct_fpr"] = result.tpr_at[0.001]
    m["mia_tpr_at_1pct_fpr"] = result.tpr_at[0.01]
    m["mia_samples"] = result.n_members
    margin = mia.sampling_margin(result.n_members, result.n_nonmembers)
    rows: list[list[Any]] = [
        ["attack AUC", result.auc, None],
        ["best advantage (TPR − FPR)", result.advantage, None],
        ["TPR at 0.1 % FPR", result.tpr_at[0.001], None],
        ["TPR at 1 % FPR", result.tpr_at[0.01], None],
        ["mean loss, members / non-members", f"{result.member_loss:.4g} / {result.nonmember_loss:.4g}", None],
    ]
    bound = None
    if eps is not None and setting is not None:
        limit = mia.advantage_bound(eps, setting.delta)
        bound = (eps, setting.delta)
        m["mia_advantage_bound"] = limit
        rows[1][2] = limit
        rows[2][2] = mia.tpr_bound(eps, setting.delta, 0.001)
        rows[3][2] = mia.tpr_bound(eps, setting.delta, 0.01)
        section.calculations.append(
            Calculation(
                "membership advantage limit",
                "(e^ε − 1 + 2δ) / (e^ε + 1) (Kairouz et al. 2015)",
                {"epsilon": eps, "delta": setting.delta},
                limit,
            )
        )
        if result.advantage > limit + margin:
            section.add_finding(
                "fail",
                "privacy-mia-exceeds-dp-bound",
                f"the membership attack's advantage {result.advantage:.3f} is above the limit {limit:.3f} that "
                f"ε = {eps:.3g} allows, beyond sampling error ({margin:.3f}): the claimed DP guarantee does not hold.",
            )
        elif result.advantage > limit:
            section.add_finding(
                "warn",
                "privacy-mia-near-dp-bound",
                f"the membership attack's advantage {result.advantage:.3f} is above the limit {limit:.3f} for "
                f"ε = {eps:.3g}, within sampling error ({margin:.3f}); audit with more samples.",
            )
    elif result.auc > cfg["warn_auc"]:
        section.add_finding(
            "warn",
            "privacy-mia-leak",
            f"a loss-threshold attack tells training members from held-out rows with AUC {result.auc:.3f} "
            f"(> {cfg['warn_auc']:g}); the model has no DP guarantee to limit this.",
        )
    table = make_table(
        "privacy-membership",
        f"Membership inference (Yeom et al. loss threshold), {result.n_members} members "
        f"and {result.n_nonmembers} non-members",
        ["measure", "value", "DP limit"],
        rows,
    )
    if result.n_nonmembers < 1000:
        # with n non-members the smallest non-zero FPR is 1/n: say what a low-FPR figure means
        table.note = (
            f"With {result.n_nonmembers} non-members the smallest non-zero FPR is {1 / result.n_nonmembers:.2%}; "
            "a TPR at a lower FPR is the TPR at FPR 0. The advantage is judged against the DP limit "
            f"with a sampling margin of {margin:.3f} (DKW, 95 %)."
        )
    section.tables.append(table)
    section.charts.append(figures.roc_chart(result, bound))
    summary.append(f"membership-inference AUC {result.auc:.3f}")
