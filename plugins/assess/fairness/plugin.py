"""Hook implementations of the fairness plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from auditkit import hookimpl

if TYPE_CHECKING:
    from auditkit.audit import Audit, Section
    from auditkit.config import ConfigSection


@hookimpl
def auditkit_config_schema() -> list[ConfigSection]:
    """``[fairness]`` and ``[fairness.counterfactual]``."""
    from auditkit.plugins.assess.fairness.schema import schema

    return schema()


@hookimpl
def auditkit_assess(audit: Audit) -> Section | None:
    """The fairness section of the compliance report (order 200)."""
    from auditkit.plugins.assess.fairness.section import assess_section

    return assess_section(audit)
