"""Fairness metrics on plain arrays, without an Audit: for notebooks, tests and benchmarks.

``group_fairness(y_true, y_pred, sensitive_features)`` returns the same per-group metrics,
intervals and disparities the plugin reports, computed by the same engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from auditkit.plugins.assess.fairness import assess
from auditkit.plugins.assess.fairness.disparity import Disparity
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
