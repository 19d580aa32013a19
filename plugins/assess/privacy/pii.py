"""Scan data frames for personal data; keep counts and masked examples, never raw values.

Every string column (or the configured ones) of each data set is scanned by every
recognizer. Overlapping matches go to the recognizer with the higher priority, so one
number is counted once. Only masked forms of the values leave this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from auditkit.plugins.assess.privacy.recognizers import describe, safe_mask

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class PiiHit:
    """One (data set, column, PII type) with its counts and masked examples."""

    source: str
    column: str
    kind: str
    label: str
    occurrences: int = 0
    rows: int = 0
    total_rows: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.rows / self.total_rows if self.total_rows else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "data": self.source,
            "column": self.column,
            "type": self.kind,
            "occurrences": self.occurrences,
            "rows": self.rows,
            "share": round(self.share, 6),
            "masked_examples": list(self.examples),
        }


def string_columns(frame: pd.DataFrame, wanted: Sequence[str] = ()) -> list[str]:
    """The configured columns that exist, or every column holding text."""
    if wanted:
        return [c for c in wanted if c in frame.columns]
    from pandas.api.types import is_object_dtype, is_string_dtype

    out = []
    for column in frame.columns:
        series = frame[column]
        if is_object_dtype(series.dtype) or is_string_dtype(series.dtype):
            if series.dropna().map(lambda v: isinstance(v, str)).any():
                out.append(str(column))
    return out


def find_spans(text: str, recognizers: Sequence[Any]) -> list[tuple[int, int, Any]]:
    """Non-overlapping (start, end, recognizer) spans, higher priority first."""
    return SpanFinder(recognizers).spans(text)


class SpanFinder:
    """:func:`find_spans` for many texts: recognizers sorted once, and a recognizer that
    declares ``requires`` (a pattern every match contains, such as a digit) is skipped on
    texts without it, which is most texts for most recognizers."""

    def __init__(self, recognizers: Sequence[Any]) -> None:
        self.ordered = sorted(recognizers, key=lambda r: -int(getattr(r, "priority", 0) or 0))
        self.requires = [getattr(r, "requires_regex", None) for r in self.ordered]

    def spans(self, text: str) -> list[tuple[int, int, Any]]:
        taken: list[tuple[int, int, Any]] = []
        present: dict[Any, bool] = {}
        for rec, needed in zip(self.ordered, self.requires, strict=True):
            if needed is not None:
                if needed not in present:
                    present[needed] = needed.search(text) is not None
                if not present[needed]:
                    continue
            try:
                spans = list(rec.find(text))
            except Exception as exc:
                # `from None`, and no text in the message: the exception could quote the raw value
                raise RuntimeError(
                    f"PII recognizer {getattr(rec, 'name', rec)!r} failed: {type(exc).__name__}"
                ) from None
            for start, end in spans:
                start, end = int(start), int(end)
                if end <= start or any(start < e and s < end for s, e, _ in taken):
                    continue
                taken.append((start, end, rec))
        return sorted(taken, key=lambda t: t[0])


def scan_frame(
    frame: pd.DataFrame,
    source: str,
    recognizers: Sequence[Any],
    columns: Sequence[str] = (),
    examples: int = 3,
    max_rows: int = 0,
    seed: int = 0,
) -> tuple[list[PiiHit], list[str]]:
    """Scan ``frame``; returns the hits (only types found) and the columns scanned."""
    if max_rows and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=seed)
    scanned = string_columns(frame, columns)
    hits: dict[tuple[str, str], PiiHit] = {}
    finder = SpanFinder(recognizers)
    for column in scanned:
        for value in frame[column].tolist():
            if not isinstance(value, str) or not value:
                continue
            seen_kinds: set[str] = set()
            for start, end, rec in finder.spans(value):
                key = (column, rec.name)
                hit = hits.get(key)
                if hit is None:
                    hit = hits[key] = PiiHit(source, column, rec.name, describe(rec), total_rows=len(frame))
                hit.occurrences += 1
                if rec.name not in seen_kinds:
                    hit.rows += 1
                    seen_kinds.add(rec.name)
                if len(hit.examples) < examples:
                    masked = safe_mask(rec, value[start:end])
                    if masked not in hit.examples:
                        hit.examples.append(masked)
    return sorted(hits.values(), key=lambda h: (h.column, -h.occurrences, h.kind)), scanned
