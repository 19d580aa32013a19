"""Score-based bias (Borkan et al. 2019): subgroup AUC, BPSN AUC and BNSP AUC per group.

Point values come from ``sklearn.metrics.roc_auc_score``. AUCs are not count metrics, so
their bootstrap resamples rows; to keep that affordable each replicate's AUC is computed
in one vectorised pass over the rows sorted by score (Mann–Whitney with ties counted
half, which is exactly the trapezoidal ROC area sklearn computes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from auditkit_plugins.fairness.groups import Grouping

AUC_METRICS = ("auc", "bpsn_auc", "bnsp_auc")
_NOTES = {
    "auc": (
        "the group has no rows with the positive label",
        "the group has no rows with the negative label",
    ),
    "bpsn_auc": (
        "no rows with the positive label outside the group",
        "the group has no rows with the negative label",
    ),
    "bnsp_auc": (
        "the group has no rows with the positive label",
        "no rows with the negative label outside the group",
    ),
}


@dataclass
class AucResult:
    """Per-group AUC metrics of one grouping: point values, notes and bootstrap replicates."""

    point: dict[str, np.ndarray]
    notes: dict[str, list[str | None]]
    replicates: dict[str, np.ndarray] = field(default_factory=dict)


def _masks(positive: np.ndarray, codes: np.ndarray, g: int) -> dict[str, np.ndarray]:
    inside, background = codes == g, (codes >= 0) & (codes != g)
    return {
        "auc": inside,
        "bpsn_auc": (inside & ~positive) | (background & positive),
        "bnsp_auc": (inside & positive) | (background & ~positive),
    }


def point_aucs(positive: np.ndarray, scores: np.ndarray, grouping: Grouping) -> AucResult:
    """Each group's AUC, BPSN and BNSP AUC (Mann-Whitney with ties as halves, as sklearn's
    roc_auc_score), from one sort of the scores: subsets of sorted rows stay sorted."""
    size = len(grouping.groups)
    point = {m: np.full(size, np.nan) for m in AUC_METRICS}
    notes: dict[str, list[str | None]] = {m: [None] * size for m in AUC_METRICS}
    order = np.argsort(scores, kind="mergesort")
    s, pos, codes = scores[order], positive[order], grouping.codes[order]
    ones = np.ones((len(s), 1))
    for g in range(size):
        for metric, mask in _masks(pos, codes, g).items():
            labels = pos[mask]
            if labels.all() or not labels.any():
                notes[metric][g] = _NOTES[metric][0 if not labels.any() else 1] if labels.size else "no rows"
                continue
            point[metric][g] = float(_sorted_auc(s[mask], labels, ones[mask])[0])
    return AucResult(point, notes)


def weighted_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC for each column of ``weights`` (n, B) as sample weights; NaN where a class weighs 0."""
    order = np.argsort(scores, kind="mergesort")
    return _sorted_auc(scores[order], positive[order], weights[order])


def _sorted_auc(s: np.ndarray, pos: np.ndarray, w: np.ndarray) -> np.ndarray:
    """As weighted_auc, for rows already sorted by score; rows are contiguous in ``w``.

    For each positive row: the negative weight strictly below its score plus half the
    negative weight tied with it, read from one cumulative sum at the tie block's ends.
    """
    if len(s) == 0:
        return np.full(w.shape[1], np.nan)
    new_level = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(new_level)
    ends = np.r_[starts[1:], len(s)]
    level = np.cumsum(new_level) - 1
    cum = np.zeros((len(s) + 1, w.shape[1]))
    np.cumsum(np.where(pos[:, None], 0.0, w), axis=0, out=cum[1:])
    hits = np.flatnonzero(pos)
    below = cum[starts[level[hits]]]
    tied = cum[ends[level[hits]]] - below
    wp = w[hits]
    num = (wp * (below + 0.5 * tied)).sum(axis=0)
    den = wp.sum(axis=0) * cum[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def resample_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Row-resampling bootstrap as weights: how often each row was drawn, (n, size)."""
    draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
    counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
    return np.ascontiguousarray(counts.T, dtype=float)


def bootstrap_aucs(
    positive: np.ndarray,
    scores: np.ndarray,
    groupings: list[Grouping],
    results: list[AucResult],
    n_boot: int,
    seed: int,
) -> np.ndarray:
    """Fill each result's replicates; return the overall AUC's replicates. Rows resampled."""
    rng = np.random.default_rng(seed)
    n = len(scores)
    order = np.argsort(scores, kind="mergesort")  # sort once; subsets keep the order
    s, pos = scores[order], positive[order]
    chunk = max(1, min(n_boot, 4_000_000 // max(n, 1)))
    overall: list[np.ndarray] = []
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in groupings]
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        w = resample_weights(rng, n, size)[order]
        overall.append(_sorted_auc(s, pos, w))
        for i, grouping in enumerate(groupings):
            codes = grouping.codes[order]
            block = {m: np.full((size, len(grouping.groups)), np.nan) for m in AUC_METRICS}
            for g in range(len(grouping.groups)):
                for metric, mask in _masks(pos, codes, g).items():
                    if not np.isnan(results[i].point[metric][g]):
                        block[metric][:, g] = _sorted_auc(s[mask], pos[mask], w[mask])
            parts[i].append(block)
        done += size
    for i, result in enumerate(results):
        result.replicates = {m: np.concatenate([b[m] for b in parts[i]]) for m in AUC_METRICS}
    return np.concatenate(overall)
