"""The technology metric y, measured on the audit's evaluation data.

Never copied from training logs: the value is what this model scores on the data this
audit evaluated, from ``audit.y_true`` and ``audit.predictions`` (token tasks: the tags
of every word, flattened). Binary measures (f1, precision, recall, auc) use the audit's
positive label; auc ranks by the positive-class score (the vendor's raw score in
predictions mode). Each is scikit-learn's metric of the same name, computed by
:mod:`auditkit.classification_scores` (tested equal), and the formula says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "f1", "precision", "recall", "auc")
BINARY = ("f1", "precision", "recall", "auc")


@dataclass(frozen=True)
class Measured:
    name: str
    value: float
    formula: str
    rows: int
    positive: str | None = None


def measure(audit: Any, name: str) -> Measured:
    """Compute metric ``name`` for the audit; ValueError (with the fix) when it cannot be."""
    import numpy as np

    from auditkit import classification_scores as scores

    preds = audit.predictions
    if preds is None:
        raise ValueError("the audit has no predictions, so the primary metric cannot be measured")
    if audit.model.task == "token-classification":
        if name in BINARY:
            raise ValueError(
                f"[valuation] primary_metric = {name!r} is not defined for token tasks; "
                "use accuracy, balanced_accuracy, macro_f1 or weighted_f1 (per word tag)"
            )
        if audit.token_true is None or preds.token_labels is None:
            raise ValueError("the token task has no true or predicted tags to measure the primary metric on")
        truth: list[str] = []
        guess: list[str] = []
        for true_row, pred_row in zip(audit.token_true, preds.token_labels, strict=True):
            truth.extend(str(t) for t in true_row[: len(pred_row)])
            guess.extend(str(p) for p in pred_row[: len(true_row)])
        y_true, y_pred = np.asarray(truth, dtype=object), np.asarray(guess, dtype=object)
    else:
        if audit.y_true is None:
            raise ValueError(
                "the evaluation data has no label column, so the primary metric cannot be measured; set [data] label"
            )
        y_true = np.asarray([str(v) for v in audit.y_true], dtype=object)
        y_pred = np.asarray([str(v) for v in preds.labels], dtype=object)
    if len(y_true) == 0:
        raise ValueError("the evaluation data is empty: no rows to measure the primary metric on")
    if name == "accuracy":
        value = scores.accuracy_score(y_true, y_pred)
        return Measured(name, value, "accuracy_score(y_true, y_pred), as sklearn.metrics", len(y_true))
    if name == "balanced_accuracy":
        return Measured(
            name,
            scores.balanced_accuracy_score(y_true, y_pred),
            "balanced_accuracy_score(y_true, y_pred), as sklearn.metrics",
            len(y_true),
        )
    if name in ("macro_f1", "weighted_f1"):
        average = name.split("_")[0]
        value = scores.f1_score(y_true, y_pred, average)
        return Measured(
            name,
            value,
            f"f1_score(y_true, y_pred, average={average!r}, zero_division=0), as sklearn.metrics",
            len(y_true),
        )
    classes = [str(c) for c in (preds.classes or audit.model.labels)]
    if len(classes) != 2:
        raise ValueError(
            f"[valuation] primary_metric = {name!r} needs a binary task; this model has "
            f"{len(classes)} labels: use macro_f1, weighted_f1 or accuracy"
        )
    positive = str(audit.positive_label or classes[1])
    if name == "auc":
        ranks = _positive_scores(preds, classes, positive)
        hits = (y_true == positive).astype(int)
        if hits.min() == hits.max():
            raise ValueError("AUC is undefined: the evaluation data holds one class only; use accuracy")
        return Measured(
            name,
            scores.roc_auc_score(hits, ranks),
            f"roc_auc_score(y_true == {positive!r}, score of {positive!r}), as sklearn.metrics",
            len(y_true),
            positive,
        )
    value = scores.binary_scores(y_true, y_pred, positive)[name]
    return Measured(
        name,
        value,
        f"{name}_score(y_true, y_pred, pos_label={positive!r}, zero_division=0), as sklearn.metrics",
        len(y_true),
        positive,
    )


def _positive_scores(preds: Any, classes: list[str], positive: str) -> Any:
    import numpy as np

    if preds.scores is not None:
        return np.asarray(preds.scores, dtype=float)
    if preds.proba is not None:
        return np.asarray(preds.proba, dtype=float)[:, classes.index(positive)]
    raise ValueError(
        "[valuation] primary_metric = 'auc' needs scores or probabilities; these predictions "
        "have labels only: use accuracy or f1"
    )
