"""Evaluate the audited model on the audit's own data (not the numbers training reported)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditkit.plugins.assess.training.metrics import classification_report, entity_report

from auditkit.audit import Audit, Calculation, Section, Table

if TYPE_CHECKING:
    from auditkit.plugins.assess.training.assess import Files

GAP_WARN = 0.10  # audit macro F1 this far below the dev split's earns a warning
MAX_CHART_CLASSES = 15


def _labelled(value: Any) -> bool:
    if value is None:
        return False
    text = str(value)
    return text not in ("", "nan", "None", "<NA>")


def evaluate_audit(audit: Audit, section: Section, dev: dict[str, Any], files: Files) -> dict[str, Any] | None:
    """Add the evaluation tables, metrics and findings to `section`; return its JSON summary."""
    _check_data_overlap(audit, section, files)
    if audit.model.task == "token-classification":
        return _tokens(audit, section, dev)
    predictions = audit.predictions
    if audit.y_true is None or predictions is None:
        section.add_finding(
            "info",
            "training-no-labels",
            "the audit data has no label column: no evaluation on it (set [data] label)",
        )
        return None
    import numpy as np

    keep = np.array([_labelled(v) for v in audit.y_true], dtype=bool)
    y_true = [str(v) for v in np.asarray(audit.y_true, dtype=object)[keep]]
    y_pred = [str(v) for v in np.asarray(predictions.labels, dtype=object)[keep]]
    if not y_true:
        section.add_finding("info", "training-no-labels", "every label in the audit data is empty: no evaluation")
        return None
    if not keep.all():
        section.add_finding(
            "info",
            "training-unlabelled-rows",
            f"{int((~keep).sum())} rows without a label were left out of the evaluation",
        )
    labels = list(audit.model.labels or predictions.classes)
    report = classification_report(y_true, y_pred, labels)
    section.metrics |= {
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "weighted_f1": report.rows[-1]["f1"],
        "eval_rows": len(y_true),
    }
    section.tables.insert(
        0,
        Table(
            f"Per-class report on the audit data ({len(y_true)} rows)",
            report.frame(),
            name="per_class",
        ),
    )
    import pandas as pd

    assert report.confusion is not None
    matrix = pd.DataFrame(report.confusion, columns=[f"predicted {n}" for n in report.labels])
    matrix.insert(0, "true", report.labels)
    section.tables.insert(
        1,
        Table(
            "Confusion matrix (rows: true label, columns: predicted)",
            matrix,
            name="confusion_matrix",
        ),
    )
    if len(report.labels) <= MAX_CHART_CLASSES:
        from auditkit.plugins.assess.training.figures import confusion_chart

        section.charts.append(confusion_chart(report.labels, report.confusion))
    correct = sum(a == b for a, b in zip(y_true, y_pred, strict=True))
    present = [r for r in report.rows[:-2] if r["support"] > 0 or r["class"] in set(y_pred)]
    section.calculations += [
        Calculation("accuracy", "correct / rows", {"correct": correct, "rows": len(y_true)}, report.accuracy),
        Calculation(
            "macro_f1",
            "mean over classes c of F1_c, F1_c = 2·P_c·R_c / (P_c + R_c)",
            {f"F1[{r['class']}]": r["f1"] for r in present},
            report.macro_f1,
        ),
    ]
    _gap(section, dev.get("eval_macro_f1"), report.macro_f1, "macro F1")
    return {
        "rows": len(y_true),
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "per_class": report.rows,
        "confusion_matrix": {"labels": report.labels, "matrix": report.confusion},
    }


def _tokens(audit: Audit, section: Section, dev: dict[str, Any]) -> dict[str, Any] | None:
    predicted = audit.predictions.token_labels if audit.predictions is not None else None
    if not audit.token_true or predicted is None:
        section.add_finding(
            "info",
            "training-no-labels",
            "the audit data has no tag column or no tag predictions: no entity-level evaluation",
        )
        return None
    report = entity_report(audit.token_true, predicted)
    assert report.micro is not None
    section.metrics |= {
        "entity_precision": report.micro["precision"],
        "entity_recall": report.micro["recall"],
        "entity_f1": report.micro["f1"],
        "macro_f1": report.macro_f1,
        "accuracy": report.accuracy,
        "eval_rows": len(audit.token_true),
        "entities": report.support,
    }
    section.tables.insert(
        0,
        Table(
            f"Entity-level report on the audit data ({len(audit.token_true)} rows, "
            f"{report.support} entities; exact span match)",
            report.frame(),
            name="entities",
        ),
    )
    section.calculations.append(
        Calculation(
            "entity_f1",
            "2·P·R / (P + R) over all entities (micro average)",
            {"precision": report.micro["precision"], "recall": report.micro["recall"]},
            report.micro["f1"],
        )
    )
    _gap(section, dev.get("eval_f1"), report.micro["f1"], "entity F1")
    return {
        "rows": len(audit.token_true),
        "entity": report.micro,
        "per_type": report.rows,
        "accuracy": report.accuracy,
    }


def _gap(section: Section, dev_value: Any, audit_value: float, name: str) -> None:
    if isinstance(dev_value, (int, float)) and dev_value - audit_value > GAP_WARN:
        section.add_finding(
            "warn",
            "training-audit-gap",
            f"{name} is {audit_value:.3f} on the audit data "
            f"but was {dev_value:.3f} on the dev split "
            f"during training: the audit data differs from what the model was tuned for",
        )


def _check_data_overlap(audit: Audit, section: Section, files: Files) -> None:
    data = (files.record or {}).get("data") or {}
    if audit.dataset is not None and data.get("train_sha256") and audit.dataset.sha256 == data["train_sha256"]:
        section.add_finding(
            "warn",
            "training-eval-on-train",
            "the audit data is the training split itself: its scores overstate quality; "
            f"audit on {data.get('eval_file', 'held-out data')} instead",
        )
