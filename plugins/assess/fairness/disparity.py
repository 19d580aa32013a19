"""Disparities between groups, computed from per-group metric arrays.

Between groups (fairlearn's ``method="between_groups"``): a difference is max − min over
the groups where the metric is defined, a ratio is min / max (never above 1). Against a
reference group (Aequitas style): a difference is max |m_g − m_ref| and a ratio is the
smallest m_g / m_ref after folding r > 1 into 1/r. A metric undefined for a group (NaN)
leaves that group out; fewer than two defined groups make the disparity undefined.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from auditkit.plugins.assess.fairness.schema import DISPARITIES

# disparity stem → the group metrics it compares (binary names; multi-class maps them)
_STEMS: dict[str, tuple[str, ...]] = {
    "demographic_parity": ("selection_rate",),
    "equalized_odds": ("tpr", "fpr"),
    "equal_opportunity": ("tpr",),
    "predictive_parity": ("precision",),
    "error_rate": ("error_rate",),
    "f1": ("f1",),
    "macro_f1": ("macro_f1",),
    "entity_f1": ("entity_f1",),
}
_PER_CLASS = {
    "selection_rate": "selection_rate_",
    "tpr": "recall_",
    "fpr": "fpr_",
    "precision": "precision_",
}
_ONLY = {"f1": "binary", "macro_f1": "multiclass", "entity_f1": "token"}


@dataclass
class Disparity:
    """One disparity on one grouping, with the two groups and the metric that define it."""

    name: str
    kind: str  # "difference" or "ratio"
    feature: str
    value: float | None
    groups: list[str] = field(default_factory=list)
    metric: str | None = None
    note: str | None = None
    replicates: np.ndarray | None = None
    ci: tuple[float, float] | None = None
    # across features: the interval of the worst over all of them, replicate by replicate (``ci``
    # is then the interval of the feature that sets the value); None when it is the same
    ci_all_features: tuple[float, float] | None = None


def stem_of(name: str) -> str:
    return name.rsplit("_", 1)[0]


def components(name: str, task: str, classes: list[str]) -> list[str] | None:
    """The group metrics a disparity compares for this task, or None if it does not apply."""
    stem = stem_of(name)
    if stem not in _STEMS:
        return None
    if task == "token":
        return ["entity_f1"] if stem == "entity_f1" else None
    if stem in _ONLY and _ONLY[stem] != task:
        return None
    if task != "multiclass":
        return list(_STEMS[stem])
    out: list[str] = []
    for metric in _STEMS[stem]:  # one-vs-rest: the metric of every class
        if metric in _PER_CLASS:
            out.extend(_PER_CLASS[metric] + c for c in classes)
        else:
            out.append(metric)
    return out


def applicable(task: str, classes: list[str]) -> list[str]:
    return [n for n in DISPARITIES if components(n, task, classes) is not None]


def spread(x: np.ndarray, kind: str, ref: int | None = None) -> np.ndarray:
    """Disparity over the last axis of ``x`` (NaN = group left out); vectorised over the rest."""
    defined = (~np.isnan(x)).sum(axis=-1)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are masked below
        if ref is None:
            hi, lo = np.nanmax(x, axis=-1), np.nanmin(x, axis=-1)
            value = hi - lo if kind == "difference" else np.where(hi == 0, np.nan, lo / hi)
        else:
            r = x[..., ref : ref + 1]
            if kind == "difference":
                value = np.nanmax(np.abs(x - r), axis=-1)
            else:
                q = np.where((x == 0) & (r == 0), 1.0, x / r)  # equal zero rates are parity
                q = np.where(q > 1, 1.0 / q, q)  # fold; m_g > 0 = m_ref gives 1/inf = 0
                value = np.nanmin(q, axis=-1)
            value = np.where(np.isnan(r[..., 0]), np.nan, value)
    return np.where(defined >= 2, value, np.nan)


def _pick_groups(x: np.ndarray, kind: str, ref: int | None, labels: list[str]) -> list[str]:
    if ref is not None:
        r = x[ref]
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.abs(x - r) if kind == "difference" else -np.where(x / r > 1, r / x, x / r)
        gap[ref] = -np.inf
        return [labels[int(np.nanargmax(gap))], labels[ref]]
    hi, lo = int(np.nanargmax(x)), int(np.nanargmin(x))
    if hi == lo:  # every group has the same value: name two of them
        defined = np.flatnonzero(~np.isnan(x))
        hi, lo = int(defined[0]), int(defined[1])
    return [labels[hi], labels[lo]] if kind == "difference" else [labels[lo], labels[hi]]


def compute(
    name: str,
    comps: list[str],
    feature: str,
    labels: list[str],
    point: dict[str, np.ndarray],
    eligible: np.ndarray,
    ref: int | None = None,
    reps: dict[str, np.ndarray] | None = None,
) -> Disparity:
    """One disparity on one grouping; the worst component (max difference, min ratio) sets it."""
    kind = DISPARITIES[name][0]
    worse = np.nanargmax if kind == "difference" else np.nanargmin
    values = np.array([spread(np.where(eligible, point[c], np.nan), kind, ref) for c in comps])
    disparity = Disparity(name, kind, feature, None)
    if np.isnan(values).all():
        masked = [np.where(eligible, point[c], np.nan) for c in comps]
        defined = int(max((~np.isnan(x)).sum() for x in masked))
        metric = " and ".join(comps)
        if ref is not None and all(np.isnan(x[ref]) for x in masked):
            disparity.note = f"{metric} is undefined for the reference group {labels[ref]!r}"
        elif defined >= 2:
            disparity.note = f"every group has {metric} = 0, so the ratio is 0/0"
        else:
            disparity.note = f"{metric} is defined in {defined} group(s); a disparity needs two"
    else:
        best = int(worse(values))
        disparity.value = float(values[best])
        disparity.metric = comps[best]
        disparity.groups = _pick_groups(np.where(eligible, point[comps[best]], np.nan), kind, ref, labels)
    if reps is not None:
        per = np.stack([spread(np.where(eligible, reps[c], np.nan), kind, ref) for c in comps])
        disparity.replicates = combine(per, kind)
    return disparity


def combine(values: np.ndarray, kind: str) -> np.ndarray:
    """The worst of several disparities (axis 0), replicate by replicate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(values, axis=0) if kind == "difference" else np.nanmin(values, axis=0)


def worst(disparities: list[Disparity]) -> Disparity:
    """Across groupings (each feature, maybe the intersection): the one that is worst."""
    defined = [d for d in disparities if d.value is not None]
    if not defined:
        return disparities[0]
    kind = defined[0].kind
    pick = max(defined, key=lambda d: d.value) if kind == "difference" else min(defined, key=lambda d: d.value)
    out = Disparity(pick.name, kind, pick.feature, pick.value, list(pick.groups), pick.metric, pick.note)
    reps = [d.replicates for d in disparities if d.replicates is not None]
    if reps:
        out.replicates = combine(np.stack(reps), kind)
    return out
