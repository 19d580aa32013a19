"""ECE against a hand calculation and against scikit-learn's calibration_curve."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from auditkit_calibration import ece
from auditkit_calibration.ece import bin_edges, bin_ids, calibrate, expected_calibration_error


def test_hand_calculation() -> None:
    # five bins of width 0.2; per bin: rows, mean predicted, observed, |gap|
    #   [0, .2]   {.1→0}          1  .1  0    .1
    #   (.2, .4]  {.3→0, .3→1}    2  .3  .5   .2
    #   (.4, .6]  {.5→1}          1  .5  1    .5
    #   (.6, .8]  {.7→1, .7→1}    2  .7  1    .3
    #   (.8, 1]   {.9→1, .9→0}    2  .9  .5   .4
    # ECE = (1·.1 + 2·.2 + 1·.5 + 2·.3 + 2·.4) / 8 = 2.4 / 8 = 0.3; the largest gap is .5
    # Brier = (.01 + .09 + .49 + .09 + .09 + .01 + .81 + .25) / 8 = 1.84 / 8 = 0.23
    prob = np.array([0.1, 0.3, 0.3, 0.5, 0.7, 0.7, 0.9, 0.9])
    outcome = np.array([0, 0, 1, 1, 1, 1, 1, 0])
    result = calibrate(prob, outcome, bin_edges(prob, 5))
    assert result.ece == pytest.approx(0.3)
    assert result.mce == pytest.approx(0.5)
    assert result.brier == pytest.approx(0.23)
    assert [b.count for b in result.bins] == [1, 2, 1, 2, 2]
    assert [b.observed for b in result.bins] == pytest.approx([0, 0.5, 1, 1, 0.5])
    assert expected_calibration_error(prob, outcome, bin_edges(prob, 5)) == pytest.approx(0.3)


def test_bins_are_right_closed_like_sklearn() -> None:
    edges = bin_edges(np.array([]), 5)
    # 0 and 0.2 fall in the first bin, 0.2000001 in the second, 1.0 in the last
    assert list(bin_ids(np.array([0.0, 0.2, 0.2000001, 0.8, 1.0]), edges)) == [0, 0, 1, 3, 4]


def test_a_perfect_forecast_has_zero_ece() -> None:
    prob = np.array([0.0, 0.0, 1.0, 0.5, 0.5])
    assert calibrate(prob, np.array([0, 0, 1, 0, 1]), bin_edges(prob, 10)).ece == pytest.approx(0.0)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_bins_match_sklearn_calibration_curve(strategy: str, n_bins: int) -> None:
    rng = np.random.default_rng(n_bins)
    prob = rng.beta(2, 3, 700)
    outcome = (rng.random(700) < prob**1.3).astype(int)  # miscalibrated on purpose
    result = calibrate(prob, outcome, bin_edges(prob, n_bins, strategy))
    prob_true, prob_pred = calibration_curve(outcome, prob, n_bins=n_bins, strategy=strategy)
    filled = [b for b in result.bins if b.count]
    np.testing.assert_allclose([b.observed for b in filled], prob_true, rtol=1e-12)
    np.testing.assert_allclose([b.mean_predicted for b in filled], prob_pred, rtol=1e-12)
    # ECE from sklearn's bin means and bin counts from np.digitize (right-closed, as sklearn)
    quantiles = np.linspace(0, 1, n_bins + 1)
    edges = quantiles if strategy == "uniform" else np.percentile(prob, quantiles * 100)
    counts = np.bincount(np.digitize(prob, edges[1:-1], right=True), minlength=n_bins)
    counts = counts[counts > 0]
    assert result.ece == pytest.approx(float(np.sum(counts * np.abs(prob_true - prob_pred)) / len(prob)), rel=1e-12)
    assert result.brier == pytest.approx(brier_score_loss(outcome, prob), rel=1e-12)


@pytest.mark.parametrize(("chunk", "steps"), [(None, [60]), (900, [10] * 6)])
def test_bootstrap_equals_a_plain_loop(chunk: int | None, steps: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorised (and chunked) bootstrap and noise floor give what a loop over resamples gives."""
    if chunk:
        monkeypatch.setattr(ece, "CHUNK", chunk)  # 900 values: 10 resamples of 90 rows at a time
    rng = np.random.default_rng(7)
    prob = rng.uniform(0, 1, 90)
    outcome = (rng.random(90) < prob).astype(float)
    edges = bin_edges(prob, 10)
    result = calibrate(prob, outcome, edges, resamples=60, confidence=0.9, seed=11)

    draw = np.random.default_rng(11)  # same stream, same order: resample rows, then outcomes
    picks = np.vstack([draw.integers(0, 90, size=(k, 90)) for k in steps])
    boot = [expected_calibration_error(prob[p], outcome[p], edges) for p in picks]
    fake = np.vstack([draw.random((k, 90)) < prob for k in steps])
    null = [expected_calibration_error(prob, f.astype(float), edges) for f in fake]
    # the percentile interval of the bias-corrected statistic 2·ECE − ECE*, floored at 0
    corrected = 2 * result.ece - np.asarray(boot)
    assert result.debiased == pytest.approx(max(2 * result.ece - np.mean(boot), 0))
    assert result.interval.low == pytest.approx(min(max(np.quantile(corrected, 0.05), 0), result.debiased))
    assert result.interval.high == pytest.approx(max(np.quantile(corrected, 0.95), 0))
    assert result.noise_floor == pytest.approx(np.quantile(null, 0.9))


def test_noise_floor_by_hand() -> None:
    # a 0/1 forecast cannot be wrong by chance: its noise floor is 0
    prob = np.array([0.0, 1.0, 1.0, 0.0])
    assert calibrate(prob, np.array([0, 1, 1, 0]), bin_edges(prob, 10), resamples=50).noise_floor == 0.0
    # one row at 0.5: whatever the outcome, |y − 0.5| = 0.5
    one = np.array([0.5])
    assert calibrate(one, np.array([1]), bin_edges(one, 10), resamples=50).noise_floor == pytest.approx(0.5)


def test_calibrated_data_stays_under_its_noise_floor_and_miscalibrated_does_not() -> None:
    rng = np.random.default_rng(3)
    prob = rng.uniform(0, 1, 2000)
    calibrated = (rng.random(2000) < prob).astype(float)
    skewed = (rng.random(2000) < prob**3).astype(float)
    edges = bin_edges(prob, 10)
    good = calibrate(prob, calibrated, edges, resamples=300)
    bad = calibrate(prob, skewed, edges, resamples=300)
    assert good.ece < good.noise_floor
    assert bad.interval.low > bad.noise_floor
    # E|p − p³| for p ~ U(0, 1) is 1/2 − 1/4 = 0.25: binning can only make the gap smaller
    assert 0.2 < bad.ece <= 0.25 + 0.02


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="within \\[0, 1\\]"):
        calibrate(np.array([0.2, 1.3]), np.array([0, 1]), bin_edges(np.array([]), 5))
    with pytest.raises(ValueError, match="equally long"):
        calibrate(np.array([0.2]), np.array([0, 1]), bin_edges(np.array([]), 5))
    with pytest.raises(ValueError, match="strategy"):
        bin_edges(np.array([0.5]), 5, "kmeans")


def test_group_chart_with_an_interval_above_the_estimate() -> None:
    """ECE is biased upwards: a bootstrap interval can lie wholly above the point (seen on real data)."""
    import dataclasses

    from auditkit_calibration.assess import GroupResult
    from auditkit_calibration.chart import group_chart
    from auditkit_calibration.ece import Interval

    result = calibrate(np.array([0.2, 0.8, 0.7, 0.3]), np.array([0, 1, 1, 0]), edges=bin_edges(np.array([]), 2))
    result = dataclasses.replace(result, interval=Interval(low=result.ece + 0.05, high=result.ece + 0.2))
    chart = group_chart([GroupResult("identity", "a", result, "pass")], warn_ece=0.05, max_ece=0.1, confidence=0.95)
    assert chart.svg.startswith("<svg")
