"""The ``[privacy]`` config section and its sub-tables (imported at start-up: keep it light)."""

from __future__ import annotations

from auditkit.config import ConfigSection, Option


def _validate_items(items: object) -> None:
    from auditkit.plugins.assess.privacy.costs import validate_items

    validate_items(items)


_SEVERITY = ("info", "warn", "fail")


def _sigma(value: float) -> None:
    # below 0.1 dp-accounting's PLD needs tens of GiB (σ = 0.001: 38 GiB) or divides by zero
    if 0 < value < 0.1:
        raise ValueError("0 (read training.json) or a number from 0.1 to 1e6")


def _looser_limit(value: float, reviewer: float) -> bool:
    """A limit where 0 means none: looser when higher, or 0 against a set one."""
    return (value == 0 and reviewer > 0) or (reviewer > 0 and value > reviewer)


def _looser_limit_below(value: int, reviewer: int) -> bool:
    """A row cap where 0 means all rows: looser when lower, or set against all."""
    return value > 0 and (reviewer == 0 or value < reviewer)


def _narrower(value: list[str], reviewer: list[str]) -> bool:
    """A list where empty means everything: narrower when it leaves out what the reviewer's holds."""
    return bool(value) and (not reviewer or bool(set(reviewer) - set(value)))


def privacy_schema() -> list[ConfigSection]:
    top = ConfigSection(
        "privacy",
        [
            Option(
                "epsilon_budget",
                "float",
                0.0,
                "privacy budget: fail when the model's ε (PLD) is above it, warn above 80 % (0: no budget)",
                minimum=0,
                maximum=1000,
                weaker=_looser_limit,
            ),
        ],
        help="Privacy: DP accounting, PII in the data, membership inference, data-governance costs.",
    )
    dp = ConfigSection(
        "privacy.dp",
        [
            Option(
                "noise_multiplier",
                "float",
                0.0,
                "DP-SGD noise multiplier σ (0: read the dp block of training.json)",
                minimum=0,
                maximum=1e6,
                validate=_sigma,
            ),
            Option(
                "sample_rate",
                "float",
                0.0,
                "sampling rate q per step (0: batch_size / dataset_size)",
                minimum=0,
                maximum=1,
            ),
            Option(
                "batch_size",
                "int",
                0,
                "expected batch size, with dataset_size, in place of sample_rate",
                minimum=0,
                maximum=10**9,
            ),
            Option("dataset_size", "int", 0, "number of training examples, with batch_size", minimum=0),
            Option("steps", "int", 0, "number of noisy steps (0: from epochs)", minimum=0, maximum=10_000_000),
            Option(
                "epochs",
                "float",
                0.0,
                "epochs, in place of steps: steps = ceil(epochs / q)",
                minimum=0,
                maximum=1_000_000,
            ),
            Option(
                "delta",
                "float",
                1e-5,
                "δ at which ε is reported (the record's δ wins when it has one)",
                minimum=1e-12,
                maximum=0.5,
                weaker="higher",
            ),
            Option(
                "discretization",
                "float",
                1e-4,
                "PLD value discretisation interval: smaller is tighter and slower",
                minimum=1e-6,
                maximum=0.1,
            ),
        ],
        help="A DP-SGD run to account for, when training.json has no dp block (or to override it).",
    )
    pii = ConfigSection(
        "privacy.pii",
        [
            Option("enabled", "bool", True, "scan the data for personal data", weaker="fewer"),
            Option("columns", "list[str]", [], "columns to scan (empty: every text column)", weaker=_narrower),
            Option(
                "recognizers",
                "list[str]",
                [],
                "recognizer names to use (empty: all that are installed)",
                weaker=_narrower,
            ),
            Option(
                "scan_training",
                "bool",
                True,
                "also scan the training data when the record or config names it",
                weaker="fewer",
            ),
            Option("examples", "int", 3, "masked examples to show per column and type", minimum=0, maximum=20),
            Option(
                "max_rows",
                "int",
                0,
                "scan a seeded sample of at most this many rows per data set (0: all)",
                minimum=0,
                weaker=_looser_limit_below,
            ),
            Option(
                "severity",
                "str",
                "warn",
                "finding severity when personal data is found",
                choices=("info", "warn", "fail"),
                weaker=lambda value, reviewer: _SEVERITY.index(value) < _SEVERITY.index(reviewer),
            ),
        ],
        help="Personal data (PII) in the evaluation and training data; only masked values are reported.",
    )
    membership = ConfigSection(
        "privacy.membership",
        [
            Option("enabled", "bool", True, "run the loss-threshold membership-inference attack", weaker="fewer"),
            Option(
                "train_data",
                "str",
                "",
                "file of the rows trained on (empty: training.json data.train_file)",
                path=True,
            ),
            Option(
                "holdout_data",
                "str",
                "",
                "file of held-out rows (empty: training.json data.eval_file)",
                path=True,
            ),
            Option("text", "str", "", "text column of those files (empty: [data] text)"),
            Option("label", "str", "", "label column of those files (empty: [data] label)"),
            Option(
                "sample_size",
                "int",
                500,
                "members and non-members each (0: as many as the smaller set)",
                minimum=0,
                maximum=1_000_000,
            ),
            Option("seed", "int", 0, "seed for the balanced samples", minimum=0, maximum=2**32 - 1),
            Option(
                "warn_auc",
                "float",
                0.6,
                "warn when the attack AUC is above this (no DP bound needed)",
                minimum=0.5,
                maximum=1,
                weaker="higher",
            ),
        ],
        help="Membership inference on training members and held-out non-members.",
    )
    costs = ConfigSection(
        "privacy.costs",
        [
            Option(
                "protection",
                "list[table]",
                [],
                'protection cost items C, e.g. { name = "storage", per_record = 0.002 }',
                validate=_validate_items,
            ),
            Option(
                "compliance",
                "list[table]",
                [],
                'compliance cost items D, e.g. { name = "audit", hours = 20, rate = 120 }',
                validate=_validate_items,
            ),
            Option(
                "remediation_per_finding",
                "float",
                0.0,
                "protection cost per PII finding (data set, column and type)",
                minimum=0,
            ),
            Option("remediation_per_occurrence", "float", 0.0, "protection cost per PII occurrence", minimum=0),
            Option(
                "records",
                "int",
                0,
                "records for per_record items (0: training rows when known, else eval rows)",
                minimum=0,
            ),
        ],
        help="Data-governance costs: C (protection) and D (compliance) flow into the valuation.",
    )
    return [top, dp, pii, membership, costs]
