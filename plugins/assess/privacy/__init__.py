"""Built-in privacy plugin: DP accounting, PII scan, membership inference, governance costs.

The ``privacy`` section (compliance report, order 300) carries ``epsilon`` (PLD ε, None
without DP), ``protection_cost`` (C) and ``compliance_cost`` (D), which the valuation
reads. ``auditkit epsilon`` is the planning calculator. Recognizers for the PII scan are
pluggable through ``auditkit_pii_recognizers``, a hook this plugin defines (``hookspecs``
below, added by the manager when it registers the plugin); the built-ins come through it too.

Everything heavy (dp-accounting, numpy, pandas, matplotlib) is imported inside the hooks.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from auditkit.plugins.assess.privacy import hookspecs as hookspecs  # this plugin's own hook, for others

from auditkit import hookimpl

if TYPE_CHECKING:
    from auditkit.audit import Audit, Section
    from auditkit.config import ConfigSection


@hookimpl
def auditkit_config_schema() -> list[ConfigSection]:
    from auditkit.plugins.assess.privacy.schema import privacy_schema

    return privacy_schema()


@hookimpl
def auditkit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from auditkit.plugins.assess.privacy.epsilon_cmd import add_parser

    add_parser(subparsers)


@hookimpl
def auditkit_pii_recognizers() -> list[Any]:
    from auditkit.plugins.assess.privacy.recognizers import builtin_recognizers

    return builtin_recognizers()


@hookimpl
def auditkit_assess(audit: Audit) -> Section:
    from auditkit.plugins.assess.privacy.assess import assess

    return assess(audit)
