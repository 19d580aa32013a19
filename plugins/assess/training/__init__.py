"""The training plugin: `auditkit train`, `auditkit demo`, and the training section of every audit.

Hook bodies import their heavy helpers lazily, so `auditkit --help` never loads torch.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from auditkit import ConfigSection, Option, hookimpl

if TYPE_CHECKING:
    from auditkit import Audit, Section

SECTION_ORDER = 100


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    return ConfigSection(
        "training",
        [
            Option(
                "hourly_rate",
                "float",
                0.0,
                "cost of one hour of the training machine; training_cost = wall_seconds / 3600 × hourly_rate",
                minimum=0,
            ),
            Option(
                "wall_seconds",
                "float",
                0.0,
                "training wall time in seconds when the model dir records none (0: read it from the records)",
                minimum=0,
            ),
            Option(
                "record",
                "str",
                "training.json",
                "training record written by auditkit train, relative to the model dir",
                path=True,
            ),
            Option(
                "evaluate",
                "bool",
                True,
                "evaluate the model on the audit's data (per-class report, confusion matrix)",
            ),
        ],
        help="Training record, compute cost and evaluation on the audit data.",
    )


@hookimpl
def auditkit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from auditkit.plugins.assess.training.commands import add_demo_parser, add_train_parser

    add_train_parser(subparsers)
    add_demo_parser(subparsers)


@hookimpl
def auditkit_assess(audit: Audit) -> Section | None:
    from auditkit.plugins.assess.training.assess import assess

    return assess(audit, order=SECTION_ORDER)
