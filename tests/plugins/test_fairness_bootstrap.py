"""Uncertainty: the multinomial-cell bootstrap against row resampling; AUCs against sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from auditkit.plugins.assess.fairness.api import group_fairness
from auditkit.plugins.assess.fairness.aucs import resample_weights, weighted_auc
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score


def _data(n: int = 3000, seed: int = 5):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < np.select([group == "a", group == "b"], [0.3, 0.5], 0.2)).astype(int)
    yhat = np.where(rng.random(n) < 0.2, 1 - y, y)
    return group, y, yhat


def _row_bootstrap(group: np.ndarray, y: np.ndarray, yhat: np.ndarray, n_boot: int, seed: int):
    """The textbook bootstrap: resample rows, recompute selection rate and TPR per group."""
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c"]
    codes = np.searchsorted(labels, group)
    sel, tpr = np.empty((n_boot, 3)), np.empty((n_boot, 3))
    for b in range(n_boot):
        idx = rng.integers(0, len(y), size=len(y))
        c, yy, pp = codes[idx], y[idx], yhat[idx]
        n = np.bincount(c, minlength=3)
        sel[b] = np.bincount(c, weights=pp, minlength=3) / n
        tpr[b] = np.bincount(c, weights=pp * yy, minlength=3) / np.bincount(c, weights=yy, minlength=3)
    return sel, tpr, sel.max(axis=1) - sel.min(axis=1)


def test_multinomial_bootstrap_agrees_in_distribution_with_row_resampling() -> None:
    group, y, yhat = _data()
    n_boot = 1500
    result = group_fairness(y, yhat, {"g": group}, positive="1", bootstrap=n_boot, seed=11)
    view = result.view("g")
    sel_rows, tpr_rows, dp_rows = _row_bootstrap(group, y, yhat, n_boot, seed=12)
    fast = {"selection_rate": view.replicates["selection_rate"], "tpr": view.replicates["tpr"]}
    for name, slow in (("selection_rate", sel_rows), ("tpr", tpr_rows)):
        a, b = fast[name], slow
        assert a.shape == b.shape
        se = np.sqrt(a.var(axis=0) / n_boot + b.var(axis=0) / n_boot)
        assert (np.abs(a.mean(axis=0) - b.mean(axis=0)) < 4 * se).all(), name
        assert np.allclose(a.std(axis=0) / b.std(axis=0), 1.0, atol=0.12), name
        # both are centred on the point estimate
        assert (np.abs(a.mean(axis=0) - view.point[name]) < 4 * a.std(axis=0) / np.sqrt(n_boot)).all()
    dp_fast = view.disparities["demographic_parity_difference"].replicates
    assert dp_fast is not None and len(dp_fast) == n_boot
    assert ks_2samp(dp_fast, dp_rows).pvalue > 1e-3
    assert abs(np.std(dp_fast) / np.std(dp_rows) - 1) < 0.12
    # the reported interval is the percentile interval of those replicates
    low, high = view.disparities["demographic_parity_difference"].ci
    assert (low, high) == pytest.approx(tuple(np.quantile(dp_fast, [0.025, 0.975])), abs=1e-12)
    row_low, row_high = np.quantile(dp_rows, [0.025, 0.975])
    assert abs(low - row_low) < 0.01 and abs(high - row_high) < 0.01


def test_bootstrap_is_seeded_and_group_intervals_cover_the_estimate() -> None:
    group, y, yhat = _data(n=800)
    one = group_fairness(y, yhat, {"g": group}, positive="1", bootstrap=200, seed=3).view("g")
    two = group_fairness(y, yhat, {"g": group}, positive="1", bootstrap=200, seed=3).view("g")
    assert np.array_equal(one.replicates["tpr"], two.replicates["tpr"])
    ci = one.ci["selection_rate"]
    assert ((ci[:, 0] <= one.point["selection_rate"]) & (one.point["selection_rate"] <= ci[:, 1])).all()


def test_weighted_auc_equals_sklearn_with_sample_weights() -> None:
    rng = np.random.default_rng(0)
    n = 700
    scores = np.round(rng.random(n), 2)  # many ties
    positive = rng.random(n) < 0.35
    weights = resample_weights(rng, n, 25)
    ours = weighted_auc(scores, positive, weights)
    for j in range(weights.shape[1]):
        assert abs(ours[j] - roc_auc_score(positive, scores, sample_weight=weights[:, j])) <= 1e-12


def test_subgroup_bpsn_bnsp_auc_equal_sklearn() -> None:
    rng = np.random.default_rng(1)
    n = 1500
    group = rng.choice(["a", "b", "c", "nopos"], size=n, p=[0.5, 0.3, 0.19, 0.01])
    y = (rng.random(n) < 0.4).astype(int)
    y[group == "nopos"] = 0
    scores = np.clip(0.35 * y + 0.5 * rng.random(n) + 0.1 * (group == "b"), 0, 1)
    yhat = (scores > 0.5).astype(int)
    result = group_fairness(y, yhat, {"g": group}, positive="1", scores=scores, bootstrap=0, auc_bootstrap=50)
    view = result.view("g")
    assert abs(result.overall["auc"] - roc_auc_score(y, scores)) <= 1e-12
    for i, g in enumerate(view.grouping.groups):
        inside = group == g
        if g == "nopos":
            assert np.isnan(view.point["auc"][i]) and "positive label" in view.notes["auc"][i]
            assert np.isnan(view.point["bnsp_auc"][i])
            continue
        assert abs(view.point["auc"][i] - roc_auc_score(y[inside], scores[inside])) <= 1e-12
        bpsn = (inside & (y == 0)) | (~inside & (y == 1))
        bnsp = (inside & (y == 1)) | (~inside & (y == 0))
        assert abs(view.point["bpsn_auc"][i] - roc_auc_score(y[bpsn], scores[bpsn])) <= 1e-12
        assert abs(view.point["bnsp_auc"][i] - roc_auc_score(y[bnsp], scores[bnsp])) <= 1e-12
        low, high = view.ci["auc"][i]
        assert low <= view.point["auc"][i] <= high


def test_group_aucs_of_every_replicate_equal_sklearn_with_sample_weights() -> None:
    """The per-group fast path (BPSN/BNSP from shared cumulative sums) against sklearn on
    each replicate's weights, with tied scores, ungrouped rows and a one-class group."""
    from auditkit.plugins.assess.fairness.aucs import _GroupAucs, _masks

    rng = np.random.default_rng(8)
    n, size = 600, 5
    codes = rng.integers(-1, size, n)  # -1: no group value
    positive = rng.random(n) < 0.4
    positive[codes == 4] = True  # group 4 has no negatives
    scores = np.round(rng.random(n), 2)  # many ties
    order = np.argsort(scores, kind="mergesort")
    s, pos, c = scores[order], positive[order], codes[order]
    weights = resample_weights(rng, n, 6)[order]
    fast = _GroupAucs(s, pos, c, size).aucs(weights)
    for g in range(size):
        for metric, mask in _masks(pos, c, g).items():
            for b in range(weights.shape[1]):
                w = weights[mask, b]
                if w[pos[mask]].sum() == 0 or w[~pos[mask]].sum() == 0:
                    assert np.isnan(fast[metric][b, g]), (metric, g, b)
                    continue
                expected = roc_auc_score(pos[mask], s[mask], sample_weight=w)
                assert abs(fast[metric][b, g] - expected) <= 1e-12, (metric, g, b)
