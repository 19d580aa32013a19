"""Exact group metrics from counts: one pass over the rows, everything else from the counts.

Every count-based metric of a group (selection rate, TPR, F1, …) is a function of the
group's confusion counts, so one ``np.bincount`` over a combined (groups, label,
prediction) code gives all of them for every sensitive feature and the intersection.
Resampling rows with replacement only changes how many rows fall in each cell, so a
bootstrap replicate is one multinomial draw over the cells: its cost depends on the
number of cells, not on the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from auditkit.plugins.assess.fairness.groups import Grouping

# Above this many possible cells the dense bincount would waste memory; use np.unique.
_DENSE_LIMIT = 1 << 22
# An aggregation matrix of at most this many entries is kept dense: no SciPy import (about
# 0.4 s of start-up) and the same sums, which are of whole numbers and so exact either way.
_DENSE_MATRIX_LIMIT = 1 << 20


@dataclass
class Cells:
    """Rows collapsed into distinct cells: joint group x per-row statistics."""

    counts: np.ndarray  # (J,) rows in each cell
    stats: np.ndarray  # (J, m) what one row of the cell contributes (one-hot confusion entry …)
    rep: np.ndarray  # (J,) index of one row of the cell: its group in any grouping is the cell's

    @property
    def rows(self) -> int:
        return int(self.counts.sum())


def _joint_code(groupings: list[Grouping]) -> tuple[np.ndarray, int]:
    """A mixed-radix code of every feature's group (missing = its own digit)."""
    features = [g for g in groupings if not g.is_intersection]  # the intersection follows from them
    n = len(features[0].codes) if features else 0
    code = np.zeros(n, dtype=np.int64)
    size = 1
    for g in features:
        radix = len(g.groups) + 1
        if size * radix > 1 << 40:  # compress before the code could overflow
            _, code = np.unique(code, return_inverse=True)
            size = int(code.max()) + 1 if n else 1
        code = code * radix + (g.codes + 1)
        size *= radix
    return code, size


def confusion_cells(groupings: list[Grouping], y: np.ndarray, yhat: np.ndarray, k: int) -> Cells:
    """One pass over the rows: cell = (joint group, true class, predicted class)."""
    joint, size = _joint_code(groupings)
    kk = k * k
    code = joint * kk + y.astype(np.int64) * k + yhat.astype(np.int64)
    if size * kk <= _DENSE_LIMIT:
        dense = np.bincount(code, minlength=size * kk)
        cells = np.flatnonzero(dense)
        counts = dense[cells]
        rep_of_joint = np.empty(size, dtype=np.int64)
        rep_of_joint[joint] = np.arange(len(joint))  # any row of the joint group will do
        rep = rep_of_joint[cells // kk]
    else:
        cells, rep, counts = np.unique(code, return_index=True, return_counts=True)
    stats = np.zeros((len(cells), kk))
    stats[np.arange(len(cells)), cells % kk] = 1.0
    return Cells(counts=counts.astype(np.int64), stats=stats, rep=rep)


def example_cells(groupings: list[Grouping], stats: np.ndarray) -> Cells:
    """Cells for per-example statistics (token tasks: true, predicted, matched entities)."""
    joint, _ = _joint_code(groupings)
    keys = np.column_stack([joint, stats.astype(np.int64)])
    uniq, rep, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
    return Cells(counts=counts.astype(np.int64), stats=uniq[:, 1:].astype(float), rep=rep)


class Aggregator:
    """Sums cell statistics into one grouping's groups: counts (J,) or (B, J) → (…, G, m).

    Each cell belongs to one group (or none, for a missing value), so the sum is a sparse
    (G·m x J) matrix times the counts: cost and memory grow with the cells, not with
    cells x groups. A small matrix (a few groups and cells, the common case) is dense.
    """

    def __init__(self, cells: Cells, grouping: Grouping) -> None:
        member = grouping.codes[cells.rep]
        m = cells.stats.shape[1]
        j, k = np.nonzero((member >= 0)[:, None] & (cells.stats != 0))
        shape = (len(grouping.groups) * m, len(member))
        if shape[0] * shape[1] <= _DENSE_MATRIX_LIMIT:
            dense = np.zeros(shape)
            dense[member[j] * m + k, j] = cells.stats[j, k]  # each (row, cell) pair once
            self.matrix: Any = dense
        else:
            from scipy import sparse

            self.matrix = sparse.coo_matrix((cells.stats[j, k], (member[j] * m + k, j)), shape=shape).tocsr()
        self.shape = (len(grouping.groups), m)

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        summed = self.matrix @ counts.astype(float).T  # (G·m,) or (G·m, B)
        return np.asarray(summed).T.reshape(*counts.shape[:-1], *self.shape)


def draw_replicates(cells: Cells, n_boot: int, seed: int, chunk: int | None = None) -> Iterator[np.ndarray]:
    """Bootstrap cell counts: each replicate is Multinomial(rows, cell shares), in chunks.

    Chunks keep (replicates x cells x statistics) near 4M numbers, whatever the cell count.
    """
    if chunk is None:
        chunk = int(np.clip(4_000_000 // max(cells.stats.size, 1), 1, 250))
    rng = np.random.default_rng(seed)
    n = cells.rows
    shares = cells.counts / n
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        yield rng.multinomial(n, shares, size=size)
        done += size


def bootstrap(
    cells: Cells, aggregators: list[Aggregator], metric_fn: Any, n_boot: int, seed: int
) -> list[dict[str, np.ndarray]]:
    """Replicates (n_boot, G) of every metric of every grouping, from the same draws."""
    parts: list[dict[str, list[np.ndarray]]] = [{} for _ in aggregators]
    for draw in draw_replicates(cells, n_boot, seed):
        for i, aggregate in enumerate(aggregators):
            for name, value in metric_fn(aggregate(draw)).items():
                parts[i].setdefault(name, []).append(value)
    return [{k: np.concatenate(v) for k, v in p.items()} for p in parts]


# --------------------------------------------------------------------------------------
# metrics from counts; NaN marks a metric that is undefined (0/0), never 0
# --------------------------------------------------------------------------------------


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(a, b)
    return np.where(b == 0, np.nan, out)


def confusion_metrics(agg: np.ndarray, classes: list[str], binary: bool) -> dict[str, np.ndarray]:
    """Group metrics from summed one-hot confusion entries, shape (…, G, k·k) → (…, G)."""
    k = len(classes)
    conf = agg.reshape(*agg.shape[:-1], k, k)  # [true, predicted]
    n = conf.sum(axis=(-1, -2))
    diag = np.diagonal(conf, axis1=-2, axis2=-1)
    out: dict[str, np.ndarray] = {
        "n": n,
        "share": _div(n, n.sum(axis=-1, keepdims=True)),
        "accuracy": _div(diag.sum(axis=-1), n),
    }
    out["error_rate"] = 1.0 - out["accuracy"]
    if binary:
        tn, fp, fn, tp = conf[..., 0, 0], conf[..., 0, 1], conf[..., 1, 0], conf[..., 1, 1]
        out.update(
            base_rate=_div(tp + fn, n),
            selection_rate=_div(tp + fp, n),
            precision=_div(tp, tp + fp),
            tpr=_div(tp, tp + fn),
            fpr=_div(fp, fp + tn),
            fnr=_div(fn, tp + fn),
            f1=_div(2.0 * tp, 2.0 * tp + fp + fn),
        )
        return out
    true_c, pred_c = conf.sum(axis=-1), conf.sum(axis=-2)
    f1_c = _div(2.0 * diag, true_c + pred_c)
    with np.errstate(invalid="ignore"):
        present = ~np.isnan(f1_c)
        out["macro_f1"] = _div(np.where(present, f1_c, 0.0).sum(axis=-1), present.sum(axis=-1))
    for i, name in enumerate(classes):
        out[f"selection_rate_{name}"] = _div(pred_c[..., i], n)
        out[f"recall_{name}"] = _div(diag[..., i], true_c[..., i])
        out[f"precision_{name}"] = _div(diag[..., i], pred_c[..., i])
        out[f"fpr_{name}"] = _div(pred_c[..., i] - diag[..., i], n - true_c[..., i])
    return out


def entity_metrics(agg: np.ndarray) -> dict[str, np.ndarray]:
    """Token tasks: stats are (matched, predicted, true entities, 1 per example)."""
    matched, predicted, true, n = (agg[..., i] for i in range(4))
    return {
        "n": n,
        "share": _div(n, n.sum(axis=-1, keepdims=True)),
        "entities": true,
        "entity_precision": _div(matched, predicted),
        "entity_recall": _div(matched, true),
        "entity_f1": _div(2.0 * matched, predicted + true),
    }


def undefined_reason(metric: str) -> str:
    """Why a metric is undefined (0/0) for a group: the note written next to its null."""
    fixed = {
        "precision": "no positive predictions in this group (TP + FP = 0)",
        "tpr": "no rows with the positive label in this group (TP + FN = 0)",
        "fnr": "no rows with the positive label in this group (TP + FN = 0)",
        "fpr": "no rows with the negative label in this group (FP + TN = 0)",
        "f1": "no positive labels and no positive predictions in this group",
        "entity_precision": "no predicted entities in this group",
        "entity_recall": "no true entities in this group",
        "entity_f1": "no true and no predicted entities in this group",
    }
    if metric in fixed:
        return fixed[metric]
    for prefix, text in (
        ("recall_", "no rows of class {} in this group"),
        ("precision_", "no predictions of class {} in this group"),
        ("fpr_", "every row of this group is of class {}"),
    ):
        if metric.startswith(prefix):
            return text.format(repr(metric[len(prefix) :]))
    return "no rows in this group"


def percentile_ci(replicates: np.ndarray, level: float) -> np.ndarray:
    """Percentile intervals over axis 0, NaN where fewer than half the replicates are defined.

    numpy's default (linear) quantile of the defined replicates, computed from one sort:
    ``np.nanquantile`` loops over columns in Python, far too slow for many groups.
    """
    alpha = (1.0 - level) / 2.0
    ordered = np.sort(replicates, axis=0)  # NaN sorts last
    count = (~np.isnan(replicates)).sum(axis=0)
    out = np.full((2, *replicates.shape[1:]), np.nan)
    ok = count >= max(1, 0.5 * replicates.shape[0])
    for i, q in enumerate((alpha, 1.0 - alpha)):
        position = q * (np.maximum(count, 1) - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(count - 1, 0))
        a = np.take_along_axis(ordered, below[None], axis=0)[0]
        b = np.take_along_axis(ordered, above[None], axis=0)[0]
        t = position - below
        value = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)  # numpy's _lerp
        out[i] = np.where(ok, value, np.nan)
    return np.moveaxis(out, 0, -1)  # (…, 2)
