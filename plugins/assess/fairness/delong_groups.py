"""Every group's subgroup, BPSN and BNSP AUC with its DeLong variance, each group in time
proportional to its own rows.

BNSP pairs the group's positives with the background's negatives. A group positive's
component is its count over every grouped negative (one running count shared by all
groups) less its count over the group's own negatives (the subgroup computation). A
background negative's component, the group positives above it, is a step function of
its score that changes only at the group positives' scores, so its sum and sum of
squares over all grouped negatives come from the running count read at those scores;
the group's own negatives are then taken out. BPSN is the same with the classes swapped.
"""

from __future__ import annotations

import numpy as np
from auditkit.plugins.assess.fairness.delong import pair_counts, running_count

Moments = tuple[float, float, float]  # count, sum, sum of squares


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum, not BLAS: a BLAS dot of 1M numbers took 30 ms on a busy 2-core machine (threads
    # waiting for a core), einsum 1.6 ms
    return float(np.einsum("i,i", a, b))


def _variance(moments: Moments) -> float:
    count, total, squares = moments
    if count < 2:
        return float("nan")
    return max(squares - total * total / count, 0.0) / (count - 1)


def _other_class_moments(rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, other: np.ndarray, above: bool) -> Moments:
    """Over every row Y counted by ``other`` (a running count), c(Y) = the rows ``rows``
    (ascending) strictly above Y (``above``) or strictly below it, plus half those tied:
    (count, Σc, Σc²), from the distinct score levels of ``rows``."""
    first = np.r_[True, lo[rows[1:]] != lo[rows[:-1]]]
    starts = np.flatnonzero(first)
    t = np.diff(np.r_[starts, len(rows)]).astype(float)  # rows at each level
    at = rows[starts]
    level_lo, level_hi = lo[at], hi[at]
    m = t.sum()
    upto = np.cumsum(t)
    beyond = (m - upto) if above else (upto - t)
    tied_value, tied_count = beyond + 0.5 * t, (other[level_hi] - other[level_lo]).astype(float)
    gaps = np.r_[other[level_lo[0]], other[level_lo[1:]] - other[level_hi[:-1]], other[-1] - other[level_hi[-1]]]
    gap_value = np.r_[m, m - upto] if above else np.r_[0.0, upto]
    gaps = gaps.astype(float)
    total = _dot(tied_count, tied_value) + _dot(gaps, gap_value)
    squares = _dot(tied_count, tied_value**2) + _dot(gaps, gap_value**2)
    return float(other[-1]), float(total), float(squares)


def _less(whole: Moments, part: np.ndarray) -> Moments:
    return whole[0] - len(part), whole[1] - float(part.sum()), whole[2] - _dot(part, part)


def _auc_var(ten: np.ndarray | Moments, one: np.ndarray | Moments, m: float, n: float) -> tuple[float, float]:
    """AUC and var(V10)/m + var(V01)/n from the unnormalised components (arrays or moments)."""
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    ten_m = (len(ten), float(ten.sum()), _dot(ten, ten)) if isinstance(ten, np.ndarray) else ten
    one_m = (len(one), float(one.sum()), _dot(one, one)) if isinstance(one, np.ndarray) else one
    auc = ten_m[1] / (m * n)
    return auc, _variance(ten_m) / (n * n) / m + _variance(one_m) / (m * m) / n


def group_delong(
    s: np.ndarray, pos: np.ndarray, codes: np.ndarray, size: int, lo: np.ndarray, hi: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """metric → (AUC per group, DeLong variance per group) for rows sorted by score ``s``;
    ``lo``/``hi`` each row's tie block over all rows; rows with code -1 belong to no group."""
    valid = codes >= 0
    neg_cum, pos_cum = running_count(valid & ~pos), running_count(valid & pos)
    neg_total, pos_total = float(neg_cum[-1]), float(pos_cum[-1])
    grouped = np.flatnonzero(valid)
    # the same stable order; numpy radix-sorts 16-bit keys, several times faster than int64
    keys = codes[grouped].astype(np.int16) if size < 2**15 else codes[grouped]
    by_group = grouped[np.argsort(keys, kind="stable")]  # ascending within a group
    bounds = np.searchsorted(codes[by_group], np.arange(size + 1))
    out = {m: (np.full(size, np.nan), np.full(size, np.nan)) for m in ("auc", "bpsn_auc", "bnsp_auc")}
    for g in range(size):
        rows = by_group[bounds[g] : bounds[g + 1]]
        if len(rows) == 0:
            continue
        hit = pos[rows]
        r_pos, r_neg = rows[hit], rows[~hit]
        m_g, n_g = float(len(r_pos)), float(len(r_neg))
        in_ten, in_one = pair_counts(s[rows], hit)  # against the group's own other class
        results = {"auc": _auc_var(in_ten, in_one, m_g, n_g)}
        if m_g and neg_total - n_g:  # BNSP: group positives vs background negatives
            ten = neg_cum[lo[r_pos]] + 0.5 * (neg_cum[hi[r_pos]] - neg_cum[lo[r_pos]]) - in_ten
            one = _less(_other_class_moments(r_pos, lo, hi, neg_cum, above=True), in_one)
            results["bnsp_auc"] = _auc_var(ten, one, m_g, neg_total - n_g)
        if n_g and pos_total - m_g:  # BPSN: background positives vs group negatives
            above = pos_total - pos_cum[hi[r_neg]] + 0.5 * (pos_cum[hi[r_neg]] - pos_cum[lo[r_neg]])
            ten_m = _less(_other_class_moments(r_neg, lo, hi, pos_cum, above=False), in_ten)
            results["bpsn_auc"] = _auc_var(ten_m, above - in_one, pos_total - m_g, n_g)
        for metric, (auc, var) in results.items():
            out[metric][0][g], out[metric][1][g] = auc, var
    return out
