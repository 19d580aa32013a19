"""Score-based bias (Borkan et al. 2019): subgroup AUC, BPSN AUC and BNSP AUC per group.

AUCs are not count metrics, so their bootstrap resamples rows. To keep that affordable,
every AUC is a Mann–Whitney sum with ties counted half (exactly the trapezoidal ROC area
``sklearn.metrics.roc_auc_score`` computes, which the tests compare against), read from
cumulative sums over the rows sorted once by score, for all replicates at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from auditkit.plugins.assess.fairness.groups import Grouping

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
    """Per-group AUC metrics of one grouping: point values, notes, and bootstrap replicates
    or DeLong intervals ((groups, 2) per metric)."""

    point: dict[str, np.ndarray]
    notes: dict[str, list[str | None]]
    replicates: dict[str, np.ndarray] = field(default_factory=dict)
    ci: dict[str, np.ndarray] = field(default_factory=dict)


def _masks(positive: np.ndarray, codes: np.ndarray, g: int) -> dict[str, np.ndarray]:
    """The rows of each AUC of group ``g`` (the tests' definition of the subsets)."""
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
    order = np.argsort(scores, kind="mergesort")
    s, pos, codes = scores[order], positive[order], grouping.codes[order]
    values = _GroupAucs(s, pos, codes, size).aucs(np.ones((len(s), 1)))
    point = {m: values[m][0] for m in AUC_METRICS}
    return AucResult(point, _notes(pos, codes, size))


class _GroupAucs:
    """Every group's AUC, BPSN and BNSP AUC for many weight columns at once, with per-group
    work proportional to the group's size.

    A pair (positive p, negative n) counts 1 when p scores higher and ½ when tied. BNSP
    pairs the group's positives with the background's negatives: for each group positive,
    the negatives below it among all grouped rows minus those inside the group. BPSN pairs
    the background's positives with the group's negatives, counted from the negatives' side
    (positives above each group negative, all minus inside). The sums over all grouped rows
    come from two cumulative sums shared by every group. Bootstrap weights are whole
    counts, so the subtractions are exact in float64.
    """

    def __init__(self, s: np.ndarray, pos: np.ndarray, codes: np.ndarray, size: int) -> None:
        valid = codes >= 0
        self.rows = np.flatnonzero(valid)  # grouped rows, still in score order
        self.s, self.pos = s[self.rows], pos[self.rows]
        by_group = np.argsort(codes[self.rows], kind="stable")
        bounds = np.searchsorted(codes[self.rows][by_group], np.arange(size + 1))
        self.members = [by_group[bounds[g] : bounds[g + 1]] for g in range(size)]  # ascending

    def aucs(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        """(columns × groups) per metric for ``weights`` (all rows × columns, score order)."""
        w = weights[self.rows]
        neg, posw = np.where(self.pos[:, None], 0.0, w), np.where(self.pos[:, None], w, 0.0)
        neg_below, neg_tied = _level_sums(self.s, neg)
        pos_below, pos_tied = _level_sums(self.s, posw)
        neg_total, pos_total = neg.sum(axis=0), posw.sum(axis=0)
        out = {m: np.full((w.shape[1], len(self.members)), np.nan) for m in AUC_METRICS}
        for g, rows in enumerate(self.members):
            if len(rows) == 0:
                continue
            s, hit, wg = self.s[rows], self.pos[rows], w[rows]
            gneg, gpos = neg[rows], posw[rows]
            in_neg_below, in_neg_tied = _level_sums(s, gneg)
            in_pos_below, in_pos_tied = _level_sums(s, gpos)
            g_neg, g_pos = gneg.sum(axis=0), gpos.sum(axis=0)
            wp, wn = wg[hit], wg[~hit]
            # group positives against the group's negatives (AUC) and the background's (BNSP)
            inside = (wp * (in_neg_below[hit] + 0.5 * in_neg_tied[hit])).sum(axis=0)
            below = neg_below[rows][hit] - in_neg_below[hit]
            tied = neg_tied[rows][hit] - in_neg_tied[hit]
            bnsp = (wp * (below + 0.5 * tied)).sum(axis=0)
            # group negatives against the background's positives above or tied (BPSN)
            in_above = g_pos - in_pos_below[~hit] - in_pos_tied[~hit]
            all_above = pos_total - pos_below[rows][~hit] - pos_tied[rows][~hit]
            tied = pos_tied[rows][~hit] - in_pos_tied[~hit]
            bpsn = (wn * (all_above - in_above + 0.5 * tied)).sum(axis=0)
            out["auc"][:, g] = _ratio(inside, g_pos * g_neg)
            out["bnsp_auc"][:, g] = _ratio(bnsp, g_pos * (neg_total - g_neg))
            out["bpsn_auc"][:, g] = _ratio(bpsn, g_neg * (pos_total - g_pos))
        return out


def _level_sums(s: np.ndarray, values: np.ndarray, at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per row of score-sorted ``s`` (or only the rows ``at``): the sum of ``values`` over
    rows scoring strictly lower, and over rows scoring the same (itself included), read
    from one cumulative sum at the ends of each block of tied scores."""
    new_level = np.r_[True, s[1:] != s[:-1]][: len(s)]
    starts = np.flatnonzero(new_level)
    ends = np.r_[starts[1:], len(s)]
    level = np.cumsum(new_level) - 1
    if at is not None:
        level = level[at]
    cum = np.zeros((len(s) + 1, values.shape[1]))
    np.cumsum(values, axis=0, out=cum[1:])
    below = cum[starts[level]]
    return below, cum[ends[level]] - below


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC for each column of ``weights`` (n, B) as sample weights; NaN where a class weighs 0."""
    order = np.argsort(scores, kind="mergesort")
    return _sorted_auc(scores[order], positive[order], weights[order])


def _sorted_auc(s: np.ndarray, pos: np.ndarray, w: np.ndarray) -> np.ndarray:
    """As weighted_auc, for rows already sorted by score; rows are contiguous in ``w``.

    For each positive row: the negative weight strictly below its score plus half the
    negative weight tied with it (:func:`_level_sums`).
    """
    neg = np.where(pos[:, None], 0.0, w)
    hits = np.flatnonzero(pos)
    below, tied = _level_sums(s, neg, at=hits)
    wp = w[hits]
    return _ratio((wp * (below + 0.5 * tied)).sum(axis=0), wp.sum(axis=0) * neg.sum(axis=0))


def delong_aucs(
    positive: np.ndarray, scores: np.ndarray, groupings: list[Grouping], level: float
) -> tuple[list[AucResult], tuple[float, float], float]:
    """Each grouping's AUCs with DeLong intervals, the overall AUC's interval and the overall
    AUC (NaN when a class is empty), from one sort of the scores (:mod:`delong_groups`: each
    group costs its own rows)."""
    from auditkit.plugins.assess.fairness import delong
    from auditkit.plugins.assess.fairness.delong_groups import group_delong

    order = np.argsort(scores, kind="mergesort")
    s, pos = scores[order], positive[order]
    lo, hi = delong.tie_blocks(s)
    auc, variance = delong.auc_variance(s, pos)
    overall = delong.interval(auc, variance, level)
    results = []
    for grouping in groupings:
        size = len(grouping.groups)
        codes = grouping.codes[order]
        values = group_delong(s, pos, codes, size, lo, hi)
        result = AucResult({m: values[m][0] for m in AUC_METRICS}, _notes(pos, codes, size))
        result.ci = {m: np.full((size, 2), np.nan) for m in AUC_METRICS}
        for metric in AUC_METRICS:
            for g in range(size):
                result.ci[metric][g] = delong.interval(values[metric][0][g], values[metric][1][g], level)
        results.append(result)
    return results, overall, auc


def _notes(pos: np.ndarray, codes: np.ndarray, size: int) -> dict[str, list[str | None]]:
    """Why a group's AUC is undefined (a class has no rows), from per-group class counts."""
    valid = codes >= 0
    gp = np.bincount(codes[valid & pos], minlength=size)
    gn = np.bincount(codes[valid & ~pos], minlength=size)
    counts = {"auc": (gp, gn), "bpsn_auc": (gp.sum() - gp, gn), "bnsp_auc": (gp, gn.sum() - gn)}
    notes: dict[str, list[str | None]] = {m: [None] * size for m in AUC_METRICS}
    for metric, (p, n) in counts.items():
        for g in range(size):
            if p[g] == 0 or n[g] == 0:
                notes[metric][g] = "no rows" if p[g] + n[g] == 0 else _NOTES[metric][0 if p[g] == 0 else 1]
    return notes


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
    per_group = [_GroupAucs(s, pos, g.codes[order], len(g.groups)) for g in groupings]
    chunk = max(1, min(n_boot, 4_000_000 // max(n, 1)))
    overall: list[np.ndarray] = []
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in groupings]
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        w = resample_weights(rng, n, size)[order]
        overall.append(_sorted_auc(s, pos, w))
        for i, engine in enumerate(per_group):
            block = engine.aucs(w)
            for metric in AUC_METRICS:  # no interval where the point value is undefined
                block[metric][:, np.isnan(results[i].point[metric])] = np.nan
            parts[i].append(block)
        done += size
    for i, result in enumerate(results):
        result.replicates = {m: np.concatenate([b[m] for b in parts[i]]) for m in AUC_METRICS}
    return np.concatenate(overall)
