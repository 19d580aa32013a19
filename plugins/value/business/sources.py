"""Who set each business input, and the "illustrative (defaults)" mode of a section.

The market and valuation plugins run on documented defaults when nobody gave business
inputs; their numbers then illustrate the method, they do not value this model. Such a
section is marked :attr:`~auditkit.audit.Section.illustrative`, says which keys to set in
one ``info`` finding, and keeps every finding at ``info``: an invented NPV must never
change the audit's verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from auditkit.audit import Section
from auditkit.config import DEFAULT, FLAG, MEASURED, MODEL_DIR, POLICY, REVIEWER, SOURCE_KINDS

GIVEN = (MODEL_DIR, REVIEWER, FLAG, POLICY)  # every kind but the defaults (and measured)
ILLUSTRATIVE = "illustrative (defaults)"


def kind_of(config: Any) -> Callable[[str], str]:
    """``config.source`` when the config knows its layers, else "default" for every key."""
    source = getattr(config, "source", None)
    return source if callable(source) else (lambda key: DEFAULT)


def given(config: Any, section: str) -> bool:
    """True when the reviewer or the model dir set any key of ``section``."""
    set_by = getattr(config, "set_by", None)
    return bool(set_by(section, *GIVEN)) if callable(set_by) else False


def combine(kinds: Iterable[str]) -> str:
    """The source of a number computed from inputs of these kinds: the weakest of them
    (any default input makes it "default"); "measured" when every input was measured."""
    # SOURCE_KINDS runs from the weakest (default) to measured, the order of precedence
    known = [k for k in kinds if k in SOURCE_KINDS]
    return min(known, key=SOURCE_KINDS.index) if known else MEASURED


def sources_for(inputs: Mapping[str, Any], known: Mapping[str, str], fallback: str = MEASURED) -> dict[str, str]:
    """A calculation's ``sources``: each input's kind from ``known``, else ``fallback``."""
    return {name: known.get(name, fallback) for name in inputs}


def make_illustrative(section: Section, what: str, keys: list[str]) -> None:
    """Mark ``section`` illustrative: findings capped at info, one info naming the keys to set.

    Call after the section's findings are in: a warning about an invented number (a
    negative NPV of a default α) is a note on the illustration, not a problem of the model.
    """
    section.illustrative = True
    for finding in section.findings:
        if finding.severity in ("warn", "fail"):
            finding.message = f"(illustrative, default inputs; would be {finding.severity}) {finding.message}"
            finding.severity = "info"
    section.add_finding(
        "info",
        f"{section.name}-defaults",
        f"{ILLUSTRATIVE}: no {what} inputs were given by the reviewer or the model dir, so every "
        f"number here comes from documented defaults and illustrates the method only; set "
        f"{', '.join(keys)} (auditkit.toml, --config or --set) to value this model",
    )
    if section.summary:
        section.summary = f"Illustrative, from default inputs: {section.summary}"
