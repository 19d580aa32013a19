"""Orchestration: measure, run the counterfactual and mitigation what-ifs, score the constraints."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from auditkit.plugins.assess.fairness import assess, constraints
from auditkit.plugins.assess.fairness.counterfactual import (
    CounterfactualResult,
    TermGroup,
    evaluate,
    file_pairs,
    pair_files_label,
    term_pairs,
)
from auditkit.plugins.assess.fairness.groups import Grouping
from auditkit.plugins.assess.fairness.schema import check_term_table, shipped_terms

from auditkit import result_cache
from auditkit._version import __version__
from auditkit.audit import Audit
from auditkit.errors import ConfigError
from auditkit.hashing import arrays_sha256, value_sha256
from auditkit.warm import WarmProcess, cores


def missing_counts(views: list[assess.GroupView]) -> dict[str, int]:
    """Rows per sensitive column whose value is missing, as the groups count them."""
    return {v.grouping.feature: v.grouping.missing for v in views if not v.grouping.is_intersection}


def term_groups(cf: dict[str, Any]) -> list[TermGroup]:
    known = {**shipped_terms(), **cf["terms"]}
    unknown = [g for g in cf["term_groups"] if g not in known]
    if unknown:
        raise ConfigError(
            f"[fairness.counterfactual] term_groups: unknown group(s) {unknown}; shipped: "
            f"{', '.join(shipped_terms())}; or define them under [fairness.counterfactual.terms]"
        )
    out = []
    for name in cf["term_groups"]:
        try:
            check_term_table(name, known[name])
        except ValueError as exc:
            raise ConfigError(f"[fairness.counterfactual] terms: {exc}") from None
        out.append(TermGroup(name, list(known[name]["classes"]), [list(r) for r in known[name]["terms"]]))
    return out


def _memo(predict: Any) -> Any:
    """Score each distinct text once per audit (term groups share many originals)."""
    seen: dict[str, np.ndarray] = {}

    def scored(texts: list[str]) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in seen))
        if new:
            seen.update(zip(new, np.asarray(predict(new), dtype=float), strict=True))
        return np.vstack([seen[t] for t in texts])

    return scored


def counterfactuals(
    audit: Audit, inputs: assess.Inputs, cfg: dict[str, Any], cf: dict[str, Any]
) -> tuple[list[CounterfactualResult], str | None]:
    """Term swaps and paired files, re-scored by the model; or the reason they were skipped."""
    if not cf["enabled"]:
        return [], "counterfactual tests are turned off ([fairness.counterfactual] enabled = false)"
    if audit.model.task != "sequence-classification":
        return (
            [],
            f"counterfactual tests need a text classifier; this model's task is {audit.model.task!r}",
        )
    predict = getattr(audit.handle, "predict_proba", None)
    if not callable(predict):
        return (
            [],
            "the model cannot be re-run (predictions mode): counterfactual texts cannot be scored",
        )
    text_column = audit.dataset.text if audit.dataset else None
    info = getattr(audit.handle, "info", None)
    labels = [str(x) for x in (getattr(info, "labels", None) or audit.model.labels)]
    positive = labels.index(inputs.positive) if inputs.positive in labels else None
    if inputs.task != "binary":
        positive = None
    rng = np.random.default_rng(cfg["seed"])
    predict = _memo(predict)
    common = dict(
        predict=predict,
        labels=labels,
        positive=positive,
        n_boot=cfg["bootstrap"],
        level=cfg["confidence"],
        seed=cfg["seed"],
        worst=cf["worst_examples"],
    )
    results: list[CounterfactualResult] = []
    if text_column and audit.frame is not None and text_column in audit.frame:
        texts = audit.frame[text_column].fillna("").astype(str).tolist()
        for group in term_groups(cf):
            originals, pairs = term_pairs(texts, group, cf["max_texts"], cf["variants_per_text"], rng)
            results.append(evaluate(group.name, "terms", originals, pairs, **common))
    if cf["pairs_original"] or cf["pairs_counterfactual"]:
        if not (cf["pairs_original"] and cf["pairs_counterfactual"]):
            raise ConfigError(
                "[fairness.counterfactual] pairs_original and pairs_counterfactual: set both (CSV paths "
                "relative to the model dir) or neither"
            )
        originals, pairs, aligned = file_pairs(audit.model_dir, cf, text_column or "text", cf["max_pairs"], rng)
        result = evaluate("paired files", "pairs", originals, pairs, **common)
        result.note = (
            f"{aligned} aligned rows; {len(originals)} with different texts re-scored "
            f"({pair_files_label(audit.model_dir, cf)})"
        )
        results.append(result)
    return results, None


def mitigation(
    inputs: assess.Inputs,
    views: list[assess.GroupView],
    cfg: dict[str, Any],
    binding: constraints.ConstraintResult | None,
    source: WhatIfSource | None = None,
) -> tuple[Any, str | None]:
    """The ThresholdOptimizer what-if on the feature it is for, from ``source`` (by default
    fitted here), or why there is none."""
    grouping, note = _what_if_target(inputs, views, cfg, binding)
    if grouping is None:
        return None, note
    result = (source or WhatIfSource(inputs, cfg)).result(grouping)
    if result is None:
        return None, (
            f"too few rows for a held-out what-if on {grouping.feature!r}: it needs two groups of 4+ rows, 20 in all"
        )
    return result, None


def _what_if_target(
    inputs: assess.Inputs,
    views: list[assess.GroupView],
    cfg: dict[str, Any],
    binding: constraints.ConstraintResult | None,
) -> tuple[Grouping | None, str | None]:
    """The grouping the what-if equalises ([fairness] mitigation_feature, else the binding
    constraint's feature, else the first), or why there is no what-if."""
    if not cfg["mitigation"]:
        return None, "mitigation what-if turned off ([fairness] mitigation = false)"
    if not _can_mitigate(inputs):
        return None, "ThresholdOptimizer needs a binary task with labels and the model's scores"
    if not np.isfinite(inputs.scores).all():
        return None, "some scores are missing or not finite"
    features = {v.grouping.feature: v.grouping for v in views}
    wanted = cfg["mitigation_feature"]
    if wanted and wanted not in features:
        raise ConfigError(f"[fairness] mitigation_feature = {wanted!r}: not one of {sorted(features)}")
    if not wanted:
        wanted = binding.feature if binding is not None and binding.feature in features else views[0].grouping.feature
    if len(features[wanted].groups) < 2:
        return None, f"feature {wanted!r} has one group: nothing to equalise"
    return features[wanted], None


def _can_mitigate(inputs: assess.Inputs) -> bool:
    return inputs.task == "binary" and inputs.scores is not None and inputs.has_labels


class WhatIfSource:
    """Where the what-if's result comes from, best first: kept by an earlier run with the
    same inputs (:mod:`auditkit.result_cache`), a fit here. With ``mitigation_engine =
    "fairlearn"`` the fit runs in a warm process instead (it imports fairlearn, scikit-learn
    and SciPy, about a second, on a spare core while the fairness section is measured); the
    fit itself starts only once its grouping is known: no guess; :meth:`start` sends it to
    the warm process then, so it runs while the AUCs are measured. The NumPy fit needs none.

    ``cache_dir`` None keeps nothing; ``warm`` False fits here.
    """

    def __init__(
        self, inputs: assess.Inputs, cfg: dict[str, Any], cache_dir: str | None = None, warm: bool = False
    ) -> None:
        self.inputs, self.cfg, self.cache_dir = inputs, cfg, cache_dir
        self.name = _cache_name(inputs, cfg) if cache_dir is not None else None
        kept = self.name is not None and result_cache.kept_any(cache_dir, self.name)
        warm = warm and not kept and cfg["mitigation_engine"] == "fairlearn"  # a re-run needs none
        self.side = _mitigation_process() if warm else None
        self.started: tuple[Grouping, Callable[[], Any]] | None = None

    def start(self, grouping: Grouping) -> None:
        """Send the fit on ``grouping`` to the warm process now (there is one only when this
        data has nothing kept, so it is a cache miss); :meth:`result` collects it."""
        from auditkit.plugins.assess.fairness.mitigation import what_if

        if self.side is not None and self.started is None:
            self.started = (grouping, self.side.submit(what_if, *self._args(grouping)))

    def result(self, grouping: Grouping) -> Any:
        from auditkit.plugins.assess.fairness.mitigation import MitigationResult, what_if

        args = self._args(grouping)
        compute: Callable[[], Any]
        if self.started is not None and self.started[0] is grouping:
            compute = self.started[1]
        elif (side := self.side) is not None:
            compute = lambda: side.submit(what_if, *args)()  # noqa: E731  (only on a cache miss)
        else:
            compute = functools.partial(what_if, *args)
        dump = lambda r: asdict(r) if r is not None else None  # noqa: E731
        return result_cache.remember(self._file(grouping), compute, dump, MitigationResult.from_json)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()

    def _args(self, grouping: Grouping) -> tuple[Any, ...]:
        inputs, cfg = self.inputs, self.cfg
        constraints, seed, max_rows = cfg["mitigation_constraints"], cfg["seed"], cfg["mitigation_max_rows"]
        return inputs.scores, inputs.y, inputs.yhat, grouping, constraints, seed, max_rows, cfg["mitigation_engine"]

    def _file(self, grouping: Grouping) -> Path | None:
        if self.name is None:
            return None
        parts = [grouping.feature, grouping.groups, arrays_sha256(grouping.codes)]
        return result_cache.entry(self.cache_dir, self.name, parts)


def _cache_name(inputs: assess.Inputs, cfg: dict[str, Any]) -> str | None:
    """This data's what-ifs (one per feature) are kept under a name for the scores, labels,
    predictions and settings and the versions of the code that fits."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        versions = [version(name) for name in ("fairlearn", "scikit-learn")]
    except PackageNotFoundError:
        return None
    data = arrays_sha256(inputs.scores, inputs.y, inputs.yhat)
    settings = [cfg["mitigation_constraints"], cfg["seed"], cfg["mitigation_max_rows"], cfg["mitigation_engine"]]
    key = value_sha256([data, *settings, versions, __version__])
    return f"fairness-mitigation/{key}"


def _mitigation_process() -> WarmProcess | None:
    """A process importing fairlearn, scikit-learn and SciPy on a spare core; none when this
    process has them already (auditkit used as a library, the tests)."""
    if cores() < 2 or _fairlearn_loaded():
        return None
    return WarmProcess(_MITIGATION_IMPORTS)


def _fairlearn_loaded() -> bool:
    return "fairlearn.postprocessing" in sys.modules


# the what-if splits in NumPy (mitigation.stratified_halves): no sklearn.model_selection
_MITIGATION_IMPORTS = ("fairlearn.postprocessing", "sklearn.base", "auditkit.plugins.assess.fairness.mitigation")


def run(audit: Audit) -> assess.FairnessResult | None:
    """Everything the section reports, computed; None when there is nothing to measure."""
    cfg, cf = assess.settings(audit)
    inputs = assess.prepare(audit)
    if inputs is None:
        return None
    wanted = cfg["mitigation"] and _can_mitigate(inputs)
    source = WhatIfSource(inputs, cfg, audit.cache_dir, warm=True) if wanted else None
    try:
        return _run(audit, cfg, cf, inputs, source)
    finally:
        if source is not None:
            source.close()


def _run(
    audit: Audit, cfg: dict[str, Any], cf: dict[str, Any], inputs: assess.Inputs, source: WhatIfSource | None
) -> assess.FairnessResult:
    assert audit.frame is not None and audit.dataset is not None
    notes: list[str] = []
    views, overall = assess.measure(audit.frame, list(audit.dataset.sensitive), inputs, cfg, notes)
    # the disparities use no AUC: F and its binding feature are known first, so the what-if
    # can fit on the spare core while the AUCs are measured here
    top = assess.compute_disparities(inputs, views, cfg)
    cfs, cf_note = counterfactuals(audit, inputs, cfg, cf)
    results, skipped = assess.score_constraints(inputs, cfg, top, cfs)
    score, binding = constraints.overall(results)
    target, _ = _what_if_target(inputs, views, cfg, binding)
    if source is not None and target is not None:
        source.start(target)
    overall_auc = assess.add_aucs(inputs, views, cfg)
    result = assess.FairnessResult(
        inputs=inputs,
        config={**cfg, "counterfactual": cf},
        views=views,
        overall=overall,
        disparities=top,
        constraints=results,
        score=score,
        binding=binding,
        missing=missing_counts(views),
        skipped_constraints=skipped,
        overall_auc=overall_auc,
        counterfactuals=cfs,
        counterfactual_note=cf_note,
        notes=notes,
        reference_tables=assess.reference_tables(inputs, views, cfg),
    )
    result.mitigation, result.mitigation_note = mitigation(inputs, views, cfg, binding, source)
    return result
