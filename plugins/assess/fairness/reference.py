"""Every group against a reference group: Aequitas's crosstab and disparity columns.

Readers who know Aequitas or dalex expect one row per group with the confusion counts,
every count metric, and each metric's ratio to the reference group's, unfolded: a group
whose FPR is 2.09 times the reference's reads 2.09, not 0.48. The definitions are
Aequitas's (``Group.gen_metrics_df`` and ``Bias``):

- ``ppr`` = the group's predicted positives / the predicted positives of every group of
  the feature (Aequitas's k); ``pprev`` = the group's predicted positives / its size;
  ``prev`` = its positive labels / its size.
- ``<m>_disparity`` = m(group) / m(reference) (Aequitas's column name), undefined when
  either value is undefined or the reference's is 0; ``<m>_difference`` = m(group) −
  m(reference).

The reference is ``[fairness] reference_groups`` (or ``--reference feature=group``) for
that feature, else the largest group (Aequitas's ``majority`` method; ties go to the
first in sort order). Binary tasks only: the counts need one positive class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from auditkit.plugins.assess.fairness.groups import Grouping

# Aequitas's absolute metrics, in its crosstab order, with the counts they are made of
METRICS = ("tpr", "tnr", "for", "fdr", "fpr", "fnr", "npv", "precision", "ppr", "pprev", "prev")
COUNTS = ("group_size", "tp", "fp", "tn", "fn", "pp", "pn", "group_label_pos", "group_label_neg")
_NEEDS_LABEL = {"tpr", "tnr", "for", "fdr", "fpr", "fnr", "npv", "precision", "prev"}
_NEEDS_LABEL_COUNTS = {"tp", "fp", "tn", "fn", "group_label_pos", "group_label_neg"}
DEFINITIONS = {
    "tpr": "TP / (TP + FN)",
    "tnr": "TN / (TN + FP)",
    "for": "FN / (FN + TN), false omission rate",
    "fdr": "FP / (FP + TP), false discovery rate",
    "fpr": "FP / (FP + TN)",
    "fnr": "FN / (FN + TP)",
    "npv": "TN / (TN + FN)",
    "precision": "TP / (TP + FP), the PPV",
    "ppr": "PP / predicted positives of all groups of the feature (Aequitas's k)",
    "pprev": "PP / group size, predicted prevalence (the selection rate)",
    "prev": "(TP + FN) / group size, prevalence (the base rate)",
}


@dataclass
class ReferenceTable:
    """One sensitive feature: counts and metrics per group, and each against the reference."""

    feature: str
    reference: str
    rule: str  # "configured" or "largest group"
    groups: list[str]
    small: list[bool]
    counts: dict[str, list[int | None]]
    values: dict[str, list[float | None]]
    ratios: dict[str, list[float | None]] = field(default_factory=dict)
    differences: dict[str, list[float | None]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """audit.json: one flat object per group, Aequitas's column names."""
        out = []
        for g, label in enumerate(self.groups):
            row: dict[str, Any] = {
                "attribute_name": self.feature,
                "attribute_value": label,
                "reference": self.reference,
                "is_reference": label == self.reference,
                "small": self.small[g],
            }
            row.update({c: self.counts[c][g] for c in COUNTS})
            for m in METRICS:
                row[m] = self.values[m][g]
                row[f"{m}_disparity"] = self.ratios[m][g]
                row[f"{m}_difference"] = self.differences[m][g]
            out.append(row)
        return out


def _div(a: float, b: float) -> float | None:
    return None if b == 0 else float(a) / float(b)


def pick_reference(grouping: Grouping, sizes: np.ndarray, configured: dict[str, Any]) -> tuple[int, str]:
    """The configured reference group of this feature, else the largest group."""
    wanted = {str(k): str(v) for k, v in configured.items()}.get(grouping.feature)
    if wanted is not None and wanted in grouping.groups:  # an unknown name was refused earlier
        return grouping.groups.index(wanted), "configured"
    return int(np.argmax(sizes)), "largest group"


def build(
    grouping: Grouping, confusion: np.ndarray, small: np.ndarray, configured: dict[str, Any], has_labels: bool = True
) -> ReferenceTable:
    """``confusion`` (G, 4): each group's (TN, FP, FN, TP), as the engine's cells sum them."""
    tn, fp, fn, tp = (confusion[:, i].astype(np.int64) for i in range(4))
    pp, pn = tp + fp, tn + fn
    size = pp + pn
    k = int(pp.sum())
    ref, rule = pick_reference(grouping, size, configured)
    counts: dict[str, list[int | None]] = {
        "group_size": size.tolist(),
        "tp": tp.tolist(),
        "fp": fp.tolist(),
        "tn": tn.tolist(),
        "fn": fn.tolist(),
        "pp": pp.tolist(),
        "pn": pn.tolist(),
        "group_label_pos": (tp + fn).tolist(),
        "group_label_neg": (fp + tn).tolist(),
    }
    values: dict[str, list[float | None]] = {m: [] for m in METRICS}
    for g in range(len(grouping.groups)):
        t, f_p, t_n, f_n = tp[g], fp[g], tn[g], fn[g]
        for name, value in (
            ("tpr", _div(t, t + f_n)),
            ("tnr", _div(t_n, t_n + f_p)),
            ("for", _div(f_n, f_n + t_n)),
            ("fdr", _div(f_p, f_p + t)),
            ("fpr", _div(f_p, f_p + t_n)),
            ("fnr", _div(f_n, f_n + t)),
            ("npv", _div(t_n, t_n + f_n)),
            ("precision", _div(t, t + f_p)),
            ("ppr", _div(pp[g], k)),
            ("pprev", _div(pp[g], size[g])),
            ("prev", _div(t + f_n, size[g])),
        ):
            values[name].append(value)
    if not has_labels:  # without true labels only the predictions' shares are measured
        for m in _NEEDS_LABEL:
            values[m] = [None] * len(grouping.groups)
        for c in _NEEDS_LABEL_COUNTS:
            counts[c] = [None] * len(grouping.groups)
    table = ReferenceTable(
        grouping.feature, grouping.groups[ref], rule, list(grouping.groups), [bool(s) for s in small], counts, values
    )
    for m in METRICS:
        base = values[m][ref]
        table.ratios[m] = [None if v is None or base is None or base == 0 else v / base for v in values[m]]
        table.differences[m] = [None if v is None or base is None else v - base for v in values[m]]
    return table
