"""The hand-built Audit the fairness tests give the plugin's assess hook, as the runner would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from auditkit.plugins.assess.fairness import auditkit_assess, auditkit_config_schema

from auditkit.audit import Audit, DatasetInfo, ModelInfo, Predictions, Section
from auditkit.config import build_config


def fairness_audit(
    frame: pd.DataFrame,
    y: Any,
    yhat: Any,
    scores: Any = None,
    *,
    sensitive: Sequence[str] | None = None,
    config: dict[str, Any] | None = None,
    labels: Sequence[str] = ("neg", "pos"),
    task: str = "sequence-classification",
) -> Audit:
    """``frame`` holds the sensitive columns (all of them unless ``sensitive`` names some);
    ``config`` is the ``[fairness]`` table; for two labels the second is the positive one."""
    schemas = {s.name: s for s in auditkit_config_schema()}
    cfg = build_config(schemas, [("auditkit.toml", {"fairness": config or {}})])
    labels = list(labels)
    model = ModelInfo(name="m", path="/nonexistent", task=task, labels=labels, loader="test")
    dataset = DatasetInfo(
        path="eval.csv",
        sha256="0" * 64,
        rows=len(frame),
        format="csv",
        columns=list(frame.columns),
        text=None,
        label="label",
        sensitive=list(frame.columns if sensitive is None else sensitive),
        positive=labels[-1] if len(labels) == 2 else None,
    )
    preds = Predictions(
        labels=np.asarray(yhat, dtype=object),
        classes=labels,
        scores=None if scores is None else np.asarray(scores, dtype=float),
    )
    return Audit(
        model=model,
        config=cfg,
        model_dir="/nonexistent",
        out_dir="/nonexistent",
        report_id="t",
        dataset=dataset,
        frame=frame,
        y_true=np.asarray(y, dtype=object),
        predictions=preds,
    )


def assess(audit: Audit) -> Section:
    """The fairness section the hook returns for ``audit``, kept in ``audit.sections``."""
    section = auditkit_assess(audit=audit)
    assert isinstance(section, Section)
    audit.sections[section.name] = section
    return section
