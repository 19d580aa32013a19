"""The ``[fairness]`` config schema and the names of the disparities a constraint may bound.

Kept free of numpy and pandas: `auditkit --help` and `auditkit plugins` import it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from auditkit.config import ConfigSection, Option

# name → (kind, what it compares). A difference d is bad when large (d > τ fails), a ratio
# when small (d < τ fails); every ratio here is folded into [0, 1] (min/max, r > 1 → 1/r).
DISPARITIES: dict[str, tuple[str, str]] = {
    "demographic_parity_difference": ("difference", "selection rate"),
    "demographic_parity_ratio": ("ratio", "selection rate"),
    "equalized_odds_difference": ("difference", "TPR and FPR (the worse of the two)"),
    "equalized_odds_ratio": ("ratio", "TPR and FPR (the worse of the two)"),
    "equal_opportunity_difference": ("difference", "TPR (recall)"),
    "equal_opportunity_ratio": ("ratio", "TPR (recall)"),
    "predictive_parity_difference": ("difference", "precision"),
    "error_rate_difference": ("difference", "error rate (1 − accuracy)"),
    "f1_difference": ("difference", "F1 of the positive class"),
    "macro_f1_difference": ("difference", "macro F1 (multi-class)"),
    "entity_f1_difference": ("difference", "entity F1 (token classification)"),
    "counterfactual_flip_rate": (
        "difference",
        "share of predictions that flip when identity terms are swapped",
    ),
}

DEFAULT_CONSTRAINTS = {
    "demographic_parity_difference": 0.10,
    "equalized_odds_difference": 0.10,
    "demographic_parity_ratio": 0.80,
}
DEFAULT_TOKEN_CONSTRAINTS = {"entity_f1_difference": 0.10}
MITIGATION_CONSTRAINTS = ("demographic_parity", "equalized_odds")
MITIGATION_ENGINES = ("numpy", "fairlearn")


def _check_constraints(value: dict[str, Any]) -> None:
    for name, tau in value.items():
        if name not in DISPARITIES:
            raise ValueError(f"a disparity name, not {name!r}; known: {', '.join(DISPARITIES)}")
        if DISPARITIES[name][0] == "ratio" and not 0 < tau <= 1:
            raise ValueError(f"{name}: a ratio tolerance in (0, 1], e.g. 0.8 (got {tau})")
        if DISPARITIES[name][0] == "difference" and tau < 0:
            raise ValueError(f"{name}: a difference tolerance >= 0, e.g. 0.1 (got {tau})")


def looser_constraints(value: dict[str, float], reviewer: dict[str, float]) -> bool:
    """A model dir's constraints are looser when one of the reviewer's is gone, a difference
    tolerance is larger or a ratio tolerance smaller (trust rules, docs/security.md)."""
    for name, tau in reviewer.items():
        if name not in value:
            return True
        kind = DISPARITIES.get(name, ("difference", ""))[0]
        if (kind == "difference" and value[name] > tau) or (kind == "ratio" and value[name] < tau):
            return True
    return False


SEED_MAX = 2**32 - 1


def _check_reference(value: dict[str, Any]) -> None:
    for feature, group in value.items():
        if not isinstance(group, (str, int)) or isinstance(group, bool):
            raise ValueError(f"{feature}: the reference group as a string (got {group!r})")


@cache
def shipped_terms() -> dict[str, dict[str, Any]]:
    """The default counterfactual term groups shipped with the plugin (terms.json)."""
    text = resources.files("auditkit.plugins.assess.fairness").joinpath("terms.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def check_term_table(name: str, body: Any) -> None:
    """A term group: ``{classes = [...], terms = [[one per class], ...]}``."""
    if not isinstance(body, dict) or "classes" not in body or "terms" not in body:
        raise ValueError(f"{name}: a table with 'classes' (list) and 'terms' (list of lists)")
    classes = body["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"{name}: classes must list at least two names")
    for row in body["terms"]:
        if (
            not isinstance(row, list)
            or len(row) != len(classes)
            or not all(isinstance(t, str) and t.strip() for t in row)
        ):
            raise ValueError(f"{name}: each terms row must hold {len(classes)} words, one per class (got {row!r})")


def _check_terms(value: dict[str, Any]) -> None:
    for name, body in value.items():
        check_term_table(name, body)


def schema() -> list[ConfigSection]:
    main = ConfigSection(
        "fairness",
        [
            Option(
                "constraints",
                "dict[float]",
                dict(DEFAULT_CONSTRAINTS),
                "disparity → tolerance τ; F_c = min(τ/d, 1) for differences, min(d/τ, 1) for ratios",
                validate=_check_constraints,
                weaker=looser_constraints,
            ),
            Option(
                "token_constraints",
                "dict[float]",
                dict(DEFAULT_TOKEN_CONSTRAINTS),
                "the constraints used instead for token-classification models",
                validate=_check_constraints,
                weaker=looser_constraints,
            ),
            Option(
                "min_group_size",
                "int",
                30,
                "groups with fewer rows are flagged as small",
                minimum=1,
                maximum=10_000_000,
                weaker="higher",
            ),
            Option(
                "small_groups",
                "str",
                "exclude",
                "groups below min_group_size: exclude (reported and flagged, but they set no disparity "
                "and so not F) or include (they count)",
                choices=("include", "exclude"),
                weaker="later",
            ),
            Option(
                "intersection", "bool", True, "also measure the intersection of all sensitive features", weaker="fewer"
            ),
            Option(
                "max_intersection_groups",
                "int",
                200,
                "leave the intersection out when it has more groups than this",
                minimum=1,
                maximum=100_000,
            ),
            Option(
                "intersection_in_score",
                "bool",
                False,
                "let intersectional disparities set F (they are noisier: smaller groups)",
                weaker="fewer",
            ),
            Option(
                "reference_groups",
                "table",
                {},
                "feature → reference group: disparities compare each group with it (Aequitas style) instead "
                "of max vs min; the per-group reference table uses it (default there: the largest group)",
                validate=_check_reference,
            ),
            Option(
                "max_groups",
                "int",
                50,
                "a sensitive feature with more distinct values is an input error",
                minimum=2,
                maximum=10_000,
            ),
            Option(
                "bootstrap",
                "int",
                1000,
                "bootstrap replicates for confidence intervals (0: none)",
                minimum=0,
                maximum=100_000,
            ),
            Option(
                "confidence",
                "float",
                0.95,
                "confidence level of the intervals",
                minimum=0.5,
                maximum=0.999,
                weaker="higher",
            ),
            Option(
                "auc_bootstrap",
                "int",
                200,
                "replicates for the AUC-family bootstrap (row resampling: cost grows with rows x replicates); "
                "0: no AUC intervals at all",
                minimum=0,
                maximum=100_000,
            ),
            Option(
                "auc_interval",
                "str",
                "auto",
                "AUC-family intervals: delong (DeLong's variance, fast O(n log n) form, normal interval), "
                "bootstrap (auc_bootstrap row-resampling replicates) or auto (bootstrap below 5,000 rows, "
                "else delong)",
                choices=("auto", "delong", "bootstrap"),
            ),
            Option(
                "seed",
                "int",
                0,
                "seed for bootstrap, mitigation split and counterfactual sampling",
                minimum=0,
                maximum=SEED_MAX,
            ),
            Option(
                "mitigation",
                "bool",
                True,
                "what-if: fit ThresholdOptimizer on half the data (binary tasks with scores)",
            ),
            Option(
                "mitigation_engine",
                "str",
                "numpy",
                "how the what-if's thresholds are fitted: numpy (fairlearn's ThresholdOptimizer algorithm in "
                "NumPy, the same thresholds and predictions, tested against it) or fairlearn (its own class)",
                choices=MITIGATION_ENGINES,
            ),
            Option(
                "mitigation_constraints",
                "list[str]",
                list(MITIGATION_CONSTRAINTS),
                "ThresholdOptimizer constraints to try",
                choices=MITIGATION_CONSTRAINTS,
            ),
            Option(
                "mitigation_feature",
                "str",
                "",
                "sensitive feature to mitigate for (empty: the one that sets F)",
            ),
            Option(
                "mitigation_max_rows",
                "int",
                100_000,
                "fit the what-if's thresholds on a seeded sample (stratified by group x label) of at most this "
                "many rows of the fitting half; the held-out half is measured whole (0: fit on the whole half)",
                minimum=0,
                maximum=10_000_000,
            ),
        ],
        help="Fairness: group metrics, disparities against tolerances, the score F, mitigation, counterfactuals.",
    )
    counterfactual = ConfigSection(
        "fairness.counterfactual",
        [
            Option(
                "enabled",
                "bool",
                True,
                "swap identity terms in the texts and re-score (text classifiers)",
                weaker="fewer",
            ),
            Option(
                "term_groups",
                "list[str]",
                list(shipped_terms()),
                "term groups to swap: shipped ones or ones defined under terms",
                weaker="fewer",
            ),
            Option(
                "terms",
                "table",
                {},
                "extra term groups: name = { classes = [...], terms = [[word per class], ...] }",
                validate=_check_terms,
            ),
            Option(
                "max_texts",
                "int",
                300,
                "texts per term group (a seeded sample when more match)",
                minimum=1,
                maximum=1_000_000,
            ),
            Option(
                "variants_per_text",
                "int",
                1,
                "counterfactuals per text for groups with more than two classes",
                minimum=1,
                maximum=100,
            ),
            Option(
                "max_flip_rate",
                "float",
                0.05,
                "flip rates above this are a warning",
                minimum=0,
                maximum=1,
                weaker="higher",
            ),
            Option(
                "worst_examples", "int", 5, "examples with the largest score change to show", minimum=0, maximum=1_000
            ),
            Option(
                "pairs_original",
                "str",
                "",
                "CSV of original texts for a paired test (relative to the model dir)",
                path=True,
            ),
            Option(
                "pairs_counterfactual",
                "str",
                "",
                "CSV of the same texts with identity terms changed",
                path=True,
            ),
            Option(
                "max_pairs",
                "int",
                2000,
                "pairs re-scored from the paired files (a seeded sample when more)",
                minimum=1,
                maximum=10_000_000,
            ),
            Option("pairs_key", "str", "", "column that aligns the two files (empty: row order)"),
            Option(
                "pairs_text",
                "str",
                "",
                "text column of the pair files (empty: the [data] text column)",
            ),
        ],
        help="Counterfactual tests: identity-term swaps and paired files, re-scored by the model.",
    )
    return [main, counterfactual]
