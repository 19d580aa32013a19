"""Evaluation measures shared by the trainer (dev split) and the audit (evaluation data).

Sequence tasks: per-class precision/recall/F1/support, accuracy, macro F1 and the
confusion matrix (as scikit-learn computes them). Token tasks: entity-level scores over BIO spans, with the
conlleval rules (an I- tag after O or after another type starts a new entity).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Report:
    """Per-class (or per-entity-type) rows plus the averages, ready for a table or JSON."""

    rows: list[dict[str, Any]]
    accuracy: float
    macro_f1: float
    labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] | None = None
    micro: dict[str, float] | None = None
    support: int = 0

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["class", "precision", "recall", "f1", "support"])


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def classification_report(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> Report:
    """Per-class report over `labels` (plus any name only the data or model uses)."""
    from auditkit.classification_scores import confusion_matrix, precision_recall_fscore_support

    true = np.asarray([str(v) for v in y_true], dtype=object)
    pred = np.asarray([str(v) for v in y_pred], dtype=object)
    names = [str(v) for v in labels]
    names += sorted({*true, *pred} - set(names))
    p, r, f, s = precision_recall_fscore_support(true, pred, names)
    rows = [
        {
            "class": n,
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, n in enumerate(names)
    ]
    present = [i for i, n in enumerate(names) if s[i] > 0 or n in pred]
    macro = float(np.mean([f[i] for i in present])) if present else 0.0
    accuracy = float(np.mean(true == pred)) if len(true) else 0.0
    total = int(s.sum())
    weighted = float(np.sum(f * s) / total) if total else 0.0
    rows.append(
        {
            "class": "macro avg",
            "precision": float(np.mean(p[present])),
            "recall": float(np.mean(r[present])),
            "f1": macro,
            "support": total,
        }
    )
    rows.append(
        {
            "class": "weighted avg",
            "precision": float(np.sum(p * s) / total) if total else 0.0,
            "recall": float(np.sum(r * s) / total) if total else 0.0,
            "f1": weighted,
            "support": total,
        }
    )
    matrix = confusion_matrix(true, pred, names).tolist()
    return Report(rows=rows, accuracy=accuracy, macro_f1=macro, labels=names, confusion=matrix, support=total)


def _split_tag(tag: str) -> tuple[str, str | None]:
    if tag == "O" or not tag:
        return "O", None
    prefix, sep, kind = tag.partition("-")
    if sep and prefix in ("B", "I"):
        return prefix, kind
    return "I", tag  # an IO-style tag without prefix: inside an entity of that type


def bio_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word) of every entity in one tag sequence."""
    entities: list[tuple[str, int, int]] = []
    kind: str | None = None
    start = 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, this = _split_tag(str(tag))
        if kind is not None and (prefix in ("O", "B") or this != kind):
            entities.append((kind, start, i - 1))
            kind = None
        if prefix == "B" or (prefix == "I" and kind is None):
            kind, start = this, i
    return entities


def entity_report(true_rows: Sequence[Sequence[str]], pred_rows: Sequence[Sequence[str]]) -> Report:
    """Entity-level precision/recall/F1 per type; an entity counts only on an exact span match."""
    true_set: set[tuple[int, str, int, int]] = set()
    pred_set: set[tuple[int, str, int, int]] = set()
    correct_words = total_words = 0
    for n, (t_row, p_row) in enumerate(zip(true_rows, pred_rows, strict=True)):
        t_row, p_row = [str(t) for t in t_row], [str(t) for t in p_row]
        width = min(len(t_row), len(p_row))
        p_row = p_row[:width] + ["O"] * (len(t_row) - width)
        true_set.update((n, *e) for e in bio_entities(t_row))
        pred_set.update((n, *e) for e in bio_entities(p_row))
        correct_words += sum(a == b for a, b in zip(t_row, p_row, strict=True))
        total_words += len(t_row)
    types = sorted({e[1] for e in true_set | pred_set})
    rows = []
    for kind in types:
        t = {e for e in true_set if e[1] == kind}
        p = {e for e in pred_set if e[1] == kind}
        tp = len(t & p)
        prec = tp / len(p) if p else 0.0
        rec = tp / len(t) if t else 0.0
        rows.append(
            {
                "class": kind,
                "precision": prec,
                "recall": rec,
                "f1": _f1(prec, rec),
                "support": len(t),
            }
        )
    tp = len(true_set & pred_set)
    micro_p = tp / len(pred_set) if pred_set else 0.0
    micro_r = tp / len(true_set) if true_set else 0.0
    micro = {"precision": micro_p, "recall": micro_r, "f1": _f1(micro_p, micro_r)}
    macro = float(np.mean([r["f1"] for r in rows])) if rows else 0.0
    if rows:
        rows.append({"class": "micro avg", **micro, "support": len(true_set)})
        rows.append(
            {
                "class": "macro avg",
                "precision": float(np.mean([r["precision"] for r in rows[:-1]])),
                "recall": float(np.mean([r["recall"] for r in rows[:-1]])),
                "f1": macro,
                "support": len(true_set),
            }
        )
    accuracy = correct_words / total_words if total_words else 0.0
    return Report(
        rows=rows,
        accuracy=accuracy,
        macro_f1=macro,
        labels=types,
        micro=micro,
        support=len(true_set),
    )
