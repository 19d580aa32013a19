"""DeLong AUC intervals: the fast midrank form equals the 1988 definitions, covers the true
AUC as often as the bootstrap does, and is what an audit of many rows reports."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
from auditkit.plugins.assess.fairness import aucs, delong
from auditkit.plugins.assess.fairness.api import group_fairness


def reference_delong(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """DeLong, DeLong & Clarke-Pearson (1988) as written: ψ(X, Y) = 1, ½, 0 for every
    (positive X, negative Y) pair; V10(X_i) = mean_j ψ(X_i, Y_j), V01(Y_j) = mean_i ψ(X_i, Y_j);
    S10, S01 their sample variances; Var(AUC) = S10/m + S01/n. O(m·n)."""
    x, y = scores[positive], scores[~positive]
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    m, n = len(x), len(y)
    s10 = ((v10 - v10.mean()) ** 2).sum() / (m - 1)
    s01 = ((v01 - v01.mean()) ** 2).sum() / (n - 1)
    return float(psi.mean()), s10 / m + s01 / n


def _fast(scores: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    order = np.argsort(scores, kind="mergesort")
    return delong.auc_variance(scores[order], positive[order])


@pytest.mark.parametrize("seed", range(5))
def test_fast_delong_equals_the_1988_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    positive = rng.random(n) < rng.uniform(0.1, 0.9)
    positive[:2], positive[2:4] = True, False
    # rounded scores: many ties, the case midranks must count as halves
    scores = np.round(rng.normal(0.8 * positive, 1.0), int(rng.integers(0, 3)))
    auc, var = _fast(scores, positive)
    ref_auc, ref_var = reference_delong(scores, positive)
    assert abs(auc - ref_auc) <= 1e-9
    assert abs(var - ref_var) <= 1e-9
    assert ref_var > 0


def test_fast_components_are_the_per_row_means_of_psi() -> None:
    rng = np.random.default_rng(7)
    scores = np.round(rng.random(60), 1)
    positive = rng.random(60) < 0.4
    order = np.argsort(scores, kind="mergesort")
    s, pos = scores[order], positive[order]
    v10, v01 = delong.components(s, pos)
    x, y = s[pos], s[~pos]
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    np.testing.assert_allclose(v10, psi.mean(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(v01, psi.mean(axis=0), rtol=0, atol=1e-12)


def test_group_intervals_are_delong_of_the_subgroup_bpsn_and_bnsp_rows() -> None:
    rng = np.random.default_rng(3)
    n = 900
    group = rng.choice(["a", "b", "c", "nopos"], size=n, p=[0.5, 0.3, 0.18, 0.02])
    y = (rng.random(n) < 0.4).astype(int)
    y[group == "nopos"] = 0
    scores = np.round(np.clip(0.35 * y + 0.5 * rng.random(n) + 0.1 * (group == "b"), 0, 1), 2)
    result = group_fairness(
        y, (scores > 0.5).astype(int), {"g": group}, positive="1", scores=scores, bootstrap=0, auc_interval="delong"
    )
    view = result.view("g")
    z = NormalDist().inv_cdf(0.975)
    pos = y == 1
    for i, g in enumerate(view.grouping.groups):
        inside = group == g
        subsets = {
            "auc": inside,
            "bpsn_auc": (inside & ~pos) | (~inside & pos),
            "bnsp_auc": (inside & pos) | (~inside & ~pos),
        }
        for metric, rows in subsets.items():
            if g == "nopos" and metric != "bpsn_auc":
                assert np.isnan(view.ci[metric][i]).all()  # no positives in the group: no AUC, no interval
                continue
            auc, var = reference_delong(scores[rows], pos[rows])
            assert abs(view.point[metric][i] - auc) <= 1e-9
            expected = [max(auc - z * np.sqrt(var), 0.0), min(auc + z * np.sqrt(var), 1.0)]
            np.testing.assert_allclose(view.ci[metric][i], expected, rtol=0, atol=1e-9)


def test_auto_uses_the_bootstrap_on_small_data_and_delong_on_large() -> None:
    assert delong.method("auto", delong.BOOTSTRAP_BELOW - 1, 200) == "bootstrap"
    assert delong.method("auto", delong.BOOTSTRAP_BELOW, 200) == "delong"
    assert delong.method("bootstrap", 10**7, 200) == "bootstrap"
    assert delong.method("delong", 10, 200) == "delong"
    assert delong.method("delong", 10**7, 0) is None  # auc_bootstrap = 0: no AUC intervals


def test_an_audit_of_many_rows_reports_delong_intervals() -> None:
    rng = np.random.default_rng(5)
    n = delong.BOOTSTRAP_BELOW + 500
    group = rng.choice(["a", "b"], size=n)
    y = (rng.random(n) < 0.3).astype(int)
    scores = rng.normal(y, 1.0)
    result = group_fairness(y, (scores > 0.5).astype(int), {"g": group}, positive="1", scores=scores, bootstrap=0)
    view = result.view("g")
    inside = group == "a"
    auc, var = reference_delong(scores[inside], y[inside] == 1)
    z = NormalDist().inv_cdf(0.975)
    np.testing.assert_allclose(view.ci["auc"][0], [auc - z * np.sqrt(var), auc + z * np.sqrt(var)], atol=1e-9)


def test_delong_and_bootstrap_cover_the_true_auc_at_the_nominal_rate() -> None:
    """Binormal scores: positives N(d, 1), negatives N(0, 1), so the true AUC is Φ(d/√2).
    Both 95 % intervals should cover it about 95 % of the time, and agree with each other."""
    rng = np.random.default_rng(2024)
    d, m, n, sims, reps = 1.0, 60, 90, 300, 300
    true_auc = NormalDist().cdf(d / np.sqrt(2))
    positive = np.r_[np.ones(m, dtype=bool), np.zeros(n, dtype=bool)]
    hits = {"delong": 0, "bootstrap": 0}
    for _ in range(sims):
        scores = np.r_[rng.normal(d, 1.0, m), rng.normal(0.0, 1.0, n)]
        low, high = delong.interval(*_fast(scores, positive), 0.95)
        hits["delong"] += low <= true_auc <= high
        weights = aucs.resample_weights(rng, m + n, reps)
        boot = aucs.weighted_auc(scores, positive, weights)
        low, high = np.quantile(boot, [0.025, 0.975])
        hits["bootstrap"] += low <= true_auc <= high
    coverage = {k: v / sims for k, v in hits.items()}
    # 300 simulations: the binomial standard error at 0.95 is 0.0126; allow about 3 of them
    for name, rate in coverage.items():
        assert 0.91 <= rate <= 0.99, (name, coverage)
    assert abs(coverage["delong"] - coverage["bootstrap"]) <= 0.04, coverage
