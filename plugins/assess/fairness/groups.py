"""Sensitive columns → integer group codes, one `Grouping` per feature and their intersection.

Rows whose value is missing (NaN, None or blank) get code -1: they are left out of that
feature's groups (and of the intersection) and counted, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditkit.errors import DataError

INTERSECTION_SEP = " & "


@dataclass
class Grouping:
    """Rows → groups for one view: a sensitive feature alone, or the intersection."""

    feature: str
    groups: list[str]
    codes: np.ndarray  # per row: index into groups, -1 when the value is missing
    columns: tuple[str, ...]

    @property
    def missing(self) -> int:
        return int((self.codes < 0).sum())

    @property
    def is_intersection(self) -> bool:
        return len(self.columns) > 1


def _label(value: object) -> str:
    # 1.0 read from a CSV column with blanks is the group "1", not "1.0"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _sort_key(labels: list[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def encode_feature(series: pd.Series, name: str, max_groups: int = 0) -> Grouping:
    """Factorize once on the raw values, then map the (few) distinct values to labels."""
    raw_codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = [_label(u) for u in uniques]
    ordered = _sort_key(sorted({lab for lab in labels if lab and lab.lower() != "nan"}))
    if max_groups and len(ordered) > max_groups:
        raise DataError(
            f"[data] sensitive: column {name!r} has {len(ordered)} distinct values; "
            f"[fairness] max_groups is {max_groups}: bin the column or raise max_groups"
        )
    position = {lab: i for i, lab in enumerate(ordered)}
    remap = np.array([position.get(lab, -1) for lab in labels] + [-1], dtype=np.int64)
    codes = remap[raw_codes]  # raw -1 (NaN) indexes the trailing -1
    return Grouping(feature=name, groups=ordered, codes=codes, columns=(name,))


def intersect(parts: list[Grouping]) -> Grouping:
    """The intersection of several features: only the combinations that occur."""
    n = len(parts[0].codes)
    combined = np.zeros(n, dtype=np.int64)
    valid = np.ones(n, dtype=bool)
    size, plain = 1, True  # plain: combined is the pure mixed-radix code of the groups
    for part in parts:
        if size * len(part.groups) > 1 << 40:  # keep the mixed-radix code far from overflow
            _, combined = np.unique(combined, return_inverse=True)
            size, plain = int(combined.max()) + 1, False
        combined = combined * len(part.groups) + part.codes
        valid &= part.codes >= 0
        size *= len(part.groups)
    if size > 1 << 24:  # sparse: sort the codes that occur
        _, combined = np.unique(np.where(valid, combined, -1), return_inverse=True)
        combined = np.where(valid, combined - int((~valid).any()), -1)
        size, plain = int(combined.max()) + 1, False
    combined = np.where(valid, combined, size)  # one extra bin for rows with a missing value
    present = np.flatnonzero(np.bincount(combined, minlength=size + 1)[:size])  # sorted: lexicographic
    rank = np.full(size + 1, -1, dtype=np.int64)
    rank[present] = np.arange(len(present))
    codes = rank[combined]
    if plain:  # read each combination's groups off its digits
        labels = []
        for value in present.tolist():
            names = []
            for part in reversed(parts):
                value, digit = divmod(value, len(part.groups))
                names.append(part.groups[digit])
            labels.append(INTERSECTION_SEP.join(reversed(names)))
    else:  # compressed codes: one row per combination names its groups
        anyrow = np.empty(size + 1, dtype=np.int64)
        anyrow[combined] = np.arange(n)
        labels = [INTERSECTION_SEP.join(p.groups[p.codes[r]] for p in parts) for r in anyrow[present].tolist()]
    name = INTERSECTION_SEP.join(p.feature for p in parts)
    return Grouping(feature=name, groups=labels, codes=codes, columns=tuple(p.feature for p in parts))


def build_groupings(
    frame: pd.DataFrame,
    sensitive: list[str],
    intersection: bool = True,
    max_groups: int = 0,
    max_intersection: int = 0,
    notes: list[str] | None = None,
) -> list[Grouping]:
    """One grouping per sensitive column, then their intersection when there are several.

    An intersection with more than ``max_intersection`` groups is left out (a note says so):
    thousands of tiny groups measure noise, and cost time and report pages.
    """
    missing = [c for c in sensitive if c not in frame.columns]
    if missing:
        raise DataError(
            f"[data] sensitive: column(s) {missing} not in the evaluation data; "
            f"columns are: {', '.join(map(str, frame.columns))}"
        )
    features = [encode_feature(frame[c], c, max_groups) for c in sensitive]
    empty = [f.feature for f in features if not f.groups]
    if empty:
        raise DataError(
            f"[data] sensitive: column(s) {empty} hold no values (every row is blank); "
            f"fill them or remove them from [data] sensitive"
        )
    if intersection and len(features) > 1:
        both = intersect(features)
        if max_intersection and len(both.groups) > max_intersection:
            if notes is not None:
                notes.append(
                    f"the intersection {both.feature!r} has {len(both.groups):,} groups, more than "
                    f"[fairness] max_intersection_groups = {max_intersection}: it was not measured"
                )
        else:
            features.append(both)
    return features
