"""Classification scores in NumPy, equal to scikit-learn's (the tests compare them).

An audit needs a confusion matrix, per-class precision, recall and F1, balanced accuracy
and a ROC curve: a few counts and sums. Importing scikit-learn (and SciPy under it) for
them cost about a second of every run, as much as the counts themselves on 10M rows.
Every function here follows the scikit-learn function of the same name, with
``zero_division=0`` where that applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def label_codes(values: Any, labels: Sequence[Any]) -> np.ndarray:
    """Each value's index in ``labels`` (-1 where it is not one of them)."""
    values = np.asarray(values)
    uniques, inverse = np.unique(values, return_inverse=True)
    index = {label: i for i, label in enumerate(labels)}
    lookup = np.array([index.get(u, -1) for u in uniques.tolist()], dtype=np.int64)
    return lookup[inverse.reshape(-1)]


def unique_labels(*ys: Any) -> list[Any]:
    """The sorted labels of every array together (``sklearn.utils.multiclass.unique_labels``)."""
    return sorted(set().union(*(np.unique(np.asarray(y)).tolist() for y in ys)))


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any]) -> np.ndarray:
    """Row ``i``, column ``j``: rows whose true label is ``labels[i]`` predicted ``labels[j]``;
    rows with a label outside ``labels`` are not counted."""
    k = len(labels)
    t, p = label_codes(y_true, labels), label_codes(y_pred, labels)
    keep = (t >= 0) & (p >= 0)
    return np.bincount(t[keep] * k + p[keep], minlength=k * k).reshape(k, k)


def precision_recall_fscore_support(
    y_true: Any, y_pred: Any, labels: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per label: precision, recall, F1 and support (true count), 0 where undefined."""
    k = len(labels)
    t, p = label_codes(y_true, labels), label_codes(y_pred, labels)
    support = np.bincount(t[t >= 0], minlength=k)
    predicted = np.bincount(p[p >= 0], minlength=k)
    hits = np.bincount(t[(t == p) & (t >= 0)], minlength=k)
    return (
        _divide(hits, predicted),
        _divide(hits, support),
        _divide(2 * hits, support + predicted),
        support,
    )


def accuracy_score(y_true: Any, y_pred: Any) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def balanced_accuracy_score(y_true: Any, y_pred: Any) -> float:
    """The mean recall over the labels that occur in ``y_true``."""
    labels = unique_labels(y_true, y_pred)
    _, recall, _, support = precision_recall_fscore_support(y_true, y_pred, labels)
    return float(np.mean(recall[support > 0]))


def f1_score(y_true: Any, y_pred: Any, average: str) -> float:
    """``average`` ``"macro"`` (unweighted mean over the labels of both arrays) or
    ``"weighted"`` (weighted by support)."""
    labels = unique_labels(y_true, y_pred)
    _, _, f1, support = precision_recall_fscore_support(y_true, y_pred, labels)
    if average == "macro":
        return float(np.mean(f1))
    if average == "weighted":
        return float(np.sum(f1 * support) / support.sum()) if support.sum() else 0.0
    raise ValueError(f"average must be 'macro' or 'weighted', not {average!r}")


def binary_scores(y_true: Any, y_pred: Any, pos_label: Any) -> dict[str, float]:
    """Precision, recall and F1 of the positive label (``average="binary"``); like
    scikit-learn, refuses more than two labels, where "the positive one" hides the rest."""
    labels = unique_labels(y_true, y_pred)
    if len(labels) > 2:
        raise ValueError(f"binary scores need at most two labels; y_true and y_pred hold {len(labels)}: {labels}")
    precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, [pos_label])
    return {"precision": float(precision[0]), "recall": float(recall[0]), "f1": float(f1[0])}


def roc_curve(y_true: Any, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FPR, TPR and thresholds at every distinct score, highest first, after a first point
    (0, 0) at threshold +inf (``drop_intermediate=False``). ``y_true``: 1 for positives."""
    order = np.argsort(score, kind="mergesort")[::-1]
    s, y = np.asarray(score, dtype=float)[order], np.asarray(y_true, dtype=float)[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1] if len(s) else np.zeros(0, dtype=np.int64)
    tps = np.r_[0.0, np.cumsum(y)[ends]]
    fps = np.r_[0.0, 1.0 + ends - tps[1:]]
    with np.errstate(divide="ignore", invalid="ignore"):
        return fps / fps[-1], tps / tps[-1], np.r_[np.inf, s[ends]]


def roc_auc_score(y_true: Any, score: Any) -> float:
    """The area under the ROC curve (trapezoids: tied scores count half); needs both classes."""
    y = np.asarray(y_true)
    if y.min() == y.max():
        raise ValueError("only one class present in y_true: the ROC AUC is not defined")
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
