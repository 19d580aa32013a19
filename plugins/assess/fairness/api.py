"""Fairness metrics on plain arrays, without an Audit: for notebooks, tests and benchmarks.

``group_fairness(y_true, y_pred, sensitive_features)`` returns the same per-group metrics,
intervals and disparities the plugin reports, computed by the same engine;
``dataset_group_metrics(path, ...)`` the count metrics of a partitioned Parquet dataset too
large for memory, summed batch by batch or across the files on a Dask cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from auditkit.plugins.assess.fairness import assess
from auditkit.plugins.assess.fairness.disparity import Disparity
from auditkit.plugins.assess.fairness.groups import INTERSECTION_SEP
from auditkit.plugins.assess.fairness.schema import schema


@dataclass
class Measured:
    """Per-group results for each grouping, the worst disparities and overall metrics."""

    inputs: assess.Inputs
    views: list[assess.GroupView]
    disparities: dict[str, Disparity]
    overall: dict[str, float | None]

    def view(self, feature: str) -> assess.GroupView:
        for view in self.views:
            if view.grouping.feature == feature:
                return view
        raise KeyError(f"no grouping {feature!r}; have {[v.grouping.feature for v in self.views]}")

    def value(self, feature: str, group: str, metric: str) -> float | None:
        view = self.view(feature)
        x = float(view.point[metric][view.grouping.groups.index(group)])
        return None if np.isnan(x) else x


def _settings(overrides: dict[str, Any]) -> dict[str, Any]:
    main, _ = schema()
    # every group counts here, as in fairlearn's MetricFrame: the plugin's default leaves groups
    # below min_group_size out of its verdicts; pass small_groups="exclude" for the same
    cfg = {**main.defaults(), "small_groups": "include"}
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise TypeError(f"unknown fairness setting(s) {sorted(unknown)}; known: {sorted(cfg)}")
    cfg.update(overrides)
    return cfg


def _frame(sensitive_features: Any) -> pd.DataFrame:
    if isinstance(sensitive_features, pd.DataFrame):
        return sensitive_features.reset_index(drop=True)
    if isinstance(sensitive_features, pd.Series):
        return sensitive_features.reset_index(drop=True).to_frame(sensitive_features.name or "sensitive")
    if isinstance(sensitive_features, dict):
        return pd.DataFrame(sensitive_features)
    return pd.DataFrame({"sensitive": np.asarray(sensitive_features)})


def _finish(inputs: assess.Inputs, frame: pd.DataFrame, cfg: dict[str, Any]) -> Measured:
    views, overall = assess.measure(frame, list(frame.columns), inputs, cfg)
    auc = assess.add_aucs(inputs, views, cfg)
    if auc is not None:
        overall["auc"] = auc[0]
    return Measured(inputs, views, assess.compute_disparities(inputs, views, cfg), overall)


def group_fairness(
    y_true: Any,
    y_pred: Any,
    sensitive_features: Any,
    *,
    classes: Sequence[str] | None = None,
    positive: str | None = None,
    scores: Any = None,
    **settings: Any,
) -> Measured:
    """Group metrics and disparities of a classifier's predictions.

    Labels are compared as strings. ``classes`` defaults to the sorted labels seen; for two
    classes ``positive`` defaults to the second. ``settings`` are ``[fairness]`` options
    (``bootstrap=0`` skips the intervals).
    """
    cfg = _settings(settings)
    if classes is None:
        seen = set(map(str, pd.unique(np.asarray(y_pred))))
        if y_true is not None:
            seen |= set(map(str, pd.unique(np.asarray(y_true))))
        classes = sorted(seen)
    inputs = assess.label_inputs(y_true, y_pred, [str(c) for c in classes], positive, scores)
    return _finish(inputs, _frame(sensitive_features), cfg)


def entity_fairness(
    true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]], sensitive_features: Any, **settings: Any
) -> Measured:
    """Entity precision, recall and F1 per group for token classification (groups per example)."""
    from auditkit.plugins.assess.fairness.tokens import example_stats

    cfg = _settings(settings)
    inputs = assess.Inputs("token", [], None, None, None, stats=example_stats(true_tags, pred_tags))
    return _finish(inputs, _frame(sensitive_features), cfg)


@dataclass(frozen=True)
class Equals:
    """A chunk's rows whose ``column`` is ``value`` (compared as strings, as the audit
    compares labels), as 0/1: a labeller that can travel to a Dask worker."""

    column: str
    value: Any

    def __call__(self, chunk: pd.DataFrame) -> np.ndarray:
        return (chunk[self.column].astype(str) == str(self.value)).to_numpy()


@dataclass(frozen=True)
class AtLeast:
    """A chunk's rows whose score ``column`` is at least ``threshold``, as 0/1."""

    column: str
    threshold: float

    def __call__(self, chunk: pd.DataFrame) -> np.ndarray:
        return chunk[self.column].to_numpy(dtype=float) >= self.threshold


def dataset_group_metrics(
    path: str | Path,
    sensitive: Sequence[str],
    label: str,
    *,
    positive: Any = 1,
    prediction: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    executor: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Every binary count metric per group, of each sensitive feature and of their
    intersection, for a partitioned Parquet dataset too large for one frame.

    The rows are never held at once: their (groups, label, prediction) counts are summed
    batch by batch here, or file by file on a Dask cluster with
    ``executor="dask://HOST:PORT"`` (the workers read the files at the same path). The
    prediction is ``prediction == positive`` or ``score >= threshold``. Equal to
    :func:`group_fairness` on the same rows in memory (``tests/plugins/test_partitioned_parquet.py``).
    """
    from auditkit.plugins.assess.fairness import chunked

    if (prediction is None) == (score is None):
        raise TypeError("give one of prediction= (a column of predicted labels) or score= (a column of scores)")
    sensitive = list(sensitive)
    predicted = Equals(prediction, positive) if prediction is not None else AtLeast(str(score), threshold)
    read = [*sensitive, label, predicted.column]
    counts = chunked.dataset_cell_counts(Path(path), sensitive, Equals(label, positive), predicted, read, executor)
    features = [[name] for name in sensitive] + ([sensitive] if len(sensitive) > 1 else [])
    return {INTERSECTION_SEP.join(columns): chunked.group_metrics(counts, columns) for columns in features}
