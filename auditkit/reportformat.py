"""How every report words a value: numbers, dates, statuses, labelled facts, settings.

Shared by :mod:`auditkit.rendering` (templates) and :mod:`auditkit.reportdata` (what the
reports say); both import it and neither imports the other's caller, so there is no
import cycle. Nothing heavy here: the ``[report]`` schema is read on light commands too.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReportSettings:
    paper: str = "A4"
    author: str = ""
    organisation: str = ""
    classification: str = ""
    keywords: tuple[str, ...] = ()
    top_findings: int = 10

    @property
    def paper_css(self) -> str:
        return "A4" if self.paper == "A4" else "letter"

    @property
    def author_or_default(self) -> str:
        return self.author or "auditkit"


@dataclass
class Fact:
    label: str
    value: Any
    mono: bool = False


STATUS_LABELS = {"not_assessed": "not assessed", "illustrative": "illustrative (defaults)"}
ILLUSTRATIVE_LABEL = STATUS_LABELS["illustrative"]


def status_label(status: str) -> str:
    """A verdict or section status as words (``not_assessed`` → ``not assessed``)."""
    return STATUS_LABELS.get(status, status)


def is_number(value: Any) -> bool:
    """Python and numpy numbers, not booleans (numpy scalars register as numbers.Number)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def format_number(value: Any) -> str:
    """One way to print a number everywhere: 4 significant digits, thousands separated.

    ``None`` and non-finite values print as an em dash; integers in full with commas;
    magnitudes of 1,000 and more without decimals (money, counts).
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy scalar
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value == 0:
            return "0"
        if 1000 <= abs(value) < 1e15:
            return f"{value:,.0f}"
        text = f"{value:.4g}"
        return text.replace("e-0", "e-").replace("e+0", "e+").replace("e+", "e")
    return str(value)


def format_value(value: Any) -> str:
    """Any JSON-like value as short text: numbers as :func:`format_number`, lists joined."""
    if isinstance(value, (list, tuple)):
        return "[" + "; ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return format_number(value)


def format_date(iso: str) -> str:
    """``2024-03-01T12:00:00+00:00`` → ``2024-03-01 12:00 UTC`` (input kept if unparsable)."""
    parsed = parse_created(iso)
    if parsed is None:
        return iso or "—"
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def parse_created(iso: str) -> dt.datetime | None:
    if not iso:
        return None
    try:
        parsed = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def w3c_date(iso: str) -> str:
    """The form weasyprint accepts in ``dcterms.created`` (seconds, explicit offset)."""
    parsed = parse_created(iso)
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if parsed else ""
