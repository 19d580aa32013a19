"""Expected calibration error (ECE), its bins, and how much of it sampling noise explains.

ECE compares what a model's probabilities promise with what happens: rows are binned by
predicted probability, and in each bin the mean probability is compared with the observed
frequency. With ``s_b = Σ_{i∈b} (y_i − p_i)`` it is

    ECE = Σ_b (n_b / n) · |ȳ_b − p̄_b| = (1 / n) · Σ_b |s_b|

which is the form used below: it needs only per-bin sums, so a thousand bootstrap
resamples are two ``bincount`` calls. Bins are right-closed like
``sklearn.calibration.calibration_curve`` (``(0.1, 0.2]``; the first bin includes 0).

This module imports numpy at the top: the plugin imports it only inside hook bodies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STRATEGIES = ("uniform", "quantile")
CHUNK = 4_000_000  # values drawn at once by the bootstrap (about 32 MB of int64)


@dataclass(frozen=True)
class Bin:
    """One bin of a reliability diagram; the means are None when the bin is empty."""

    lower: float
    upper: float
    count: int
    mean_predicted: float | None
    observed: float | None

    @property
    def gap(self) -> float | None:
        if self.mean_predicted is None or self.observed is None:
            return None
        return abs(self.observed - self.mean_predicted)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Calibration:
    """ECE of one set of rows, with its bins and (optionally) its uncertainty."""

    n: int
    ece: float
    mce: float  # the largest gap of any non-empty bin
    brier: float
    bins: list[Bin]
    interval: Interval | None = None  # bootstrap interval of the bias-corrected ECE (see calibrate)
    noise_floor: float | None = None  # ECE a perfectly calibrated model reaches by chance
    debiased: float | None = None  # bias-corrected ECE 2·ECE − mean(bootstrap ECE), at least 0


def bin_edges(prob: np.ndarray, n_bins: int, strategy: str = "uniform") -> np.ndarray:
    """``n_bins + 1`` edges: equal widths on [0, 1], or quantiles of ``prob`` (equal counts)."""
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        # the same float steps as calibration_curve, so a row on an edge lands in the same bin
        edges = np.percentile(prob, np.linspace(0.0, 1.0, n_bins + 1) * 100)
        edges[0], edges[-1] = 0.0, 1.0
        return edges
    raise ValueError(f"strategy {strategy!r}: expected one of {STRATEGIES}")


def bin_ids(prob: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each probability: right-closed bins, as calibration_curve assigns them."""
    return np.searchsorted(edges[1:-1], prob, side="left")


def _check(prob: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prob = np.asarray(prob, dtype=float)
    outcome = np.asarray(outcome, dtype=float)
    if prob.shape != outcome.shape or prob.ndim != 1:
        raise ValueError(f"probabilities {prob.shape} and outcomes {outcome.shape} must be 1-d and equally long")
    if prob.size and (not np.all(np.isfinite(prob)) or prob.min() < 0 or prob.max() > 1):
        raise ValueError("probabilities must be finite and within [0, 1]")
    return prob, outcome


def expected_calibration_error(prob: np.ndarray, outcome: np.ndarray, edges: np.ndarray) -> float:
    """ECE of ``prob`` against 0/1 ``outcome`` with the given bin edges."""
    prob, outcome = _check(prob, outcome)
    if prob.size == 0:
        return float("nan")
    sums = np.bincount(bin_ids(prob, edges), weights=outcome - prob, minlength=len(edges) - 1)
    return float(np.abs(sums).sum() / prob.size)


def _ece_of_rows(ids: np.ndarray, residual: np.ndarray, n_bins: int) -> np.ndarray:
    """ECE of each row of a (k, n) matrix of residuals y − p whose bins are ``ids``, in one bincount."""
    k, n = residual.shape
    flat = (ids + (np.arange(k) * n_bins)[:, None]).ravel()
    sums = np.bincount(flat, weights=residual.ravel(), minlength=k * n_bins)
    return np.abs(sums.reshape(k, n_bins)).sum(axis=1) / n


def _chunks(resamples: int, n: int) -> list[int]:
    """Resamples per step, so that memory stays bounded (about CHUNK values) for any n."""
    step = max(1, CHUNK // n)
    return [min(step, resamples - start) for start in range(0, resamples, step)]


def calibrate(
    prob: np.ndarray,
    outcome: np.ndarray,
    edges: np.ndarray,
    resamples: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
) -> Calibration:
    """ECE, bins and Brier score; with ``resamples`` > 0 also the bootstrap interval and
    the noise floor (the ``confidence`` quantile of the ECE when outcomes are drawn from
    the model's own probabilities, i.e. when the model is perfectly calibrated).

    Bin edges stay fixed across resamples, so the interval is about the rows, not the bins.

    ECE is biased upwards (|noise| adds to every bin's gap), and a bootstrap ECE is biased
    once more, so percentile intervals of the bootstrap ECEs θ* can lie wholly above the
    ECE θ̂ they are for. The bias is estimated the usual bootstrap way, mean(θ*) − θ̂, and
    the interval is the percentile interval of the bias-corrected statistic 2·θ̂ − θ*: it
    is centred on the bias-corrected ECE 2·θ̂ − mean(θ*) (``debiased``), which it contains
    whenever the mean of the θ* lies between their two quantiles; it is widened to contain
    it otherwise. Both are floored at 0, as an ECE is.
    """
    prob, outcome = _check(prob, outcome)
    n, n_bins = prob.size, len(edges) - 1
    ids = bin_ids(prob, edges)
    count = np.bincount(ids, minlength=n_bins)
    sum_prob = np.bincount(ids, weights=prob, minlength=n_bins)
    sum_outcome = np.bincount(ids, weights=outcome, minlength=n_bins)
    bins = [
        Bin(
            lower=float(edges[b]),
            upper=float(edges[b + 1]),
            count=int(count[b]),
            mean_predicted=float(sum_prob[b] / count[b]) if count[b] else None,
            observed=float(sum_outcome[b] / count[b]) if count[b] else None,
        )
        for b in range(n_bins)
    ]
    gaps = [b.gap for b in bins if b.gap is not None]
    ece = float(np.abs(sum_outcome - sum_prob).sum() / n) if n else float("nan")
    brier = float(np.mean((prob - outcome) ** 2)) if n else float("nan")
    interval = floor = None
    if resamples > 0 and n > 0:
        rng = np.random.default_rng(seed)
        residual = outcome - prob
        # all bootstrap draws first, then all outcome draws: one fixed order per seed
        boot = np.concatenate(
            [
                _ece_of_rows(ids[p], residual[p], n_bins)
                for p in (rng.integers(0, n, (k, n)) for k in _chunks(resamples, n))
            ]
        )
        null = np.concatenate(
            [
                _ece_of_rows(np.broadcast_to(ids, (k, n)), (rng.random((k, n)) < prob) - prob, n_bins)
                for k in _chunks(resamples, n)
            ]
        )
        tail = (1.0 - confidence) / 2.0
        corrected = 2.0 * ece - boot
        debiased = max(2.0 * ece - float(boot.mean()), 0.0)
        low = max(float(np.quantile(corrected, tail)), 0.0)
        high = max(float(np.quantile(corrected, 1.0 - tail)), 0.0)
        interval = Interval(min(low, debiased), max(high, debiased))
        floor = float(np.quantile(null, confidence))
    else:
        debiased = None
    return Calibration(
        n=n,
        ece=ece,
        mce=max(gaps, default=float("nan")),
        brier=brier,
        bins=bins,
        interval=interval,
        noise_floor=floor,
        debiased=debiased,
    )
