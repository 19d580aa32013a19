"""Entity-level scores for token classification, per example, in plain Python.

Entities are read from IOB/IOBES tags the way seqeval's default (lenient) mode and
conlleval read them: a chunk starts at B- or S-, or at an I-/E- that follows O or another
type, and ends when the next tag cannot continue it. An entity is (type, start, end); a
predicted entity matches when all three are equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _split(tag: str) -> tuple[str, str]:
    if tag == "O" or not tag:
        return "O", "_"
    if tag in ("B", "I", "E", "S"):
        return tag, "_"
    prefix, _, kind = tag.partition("-")
    return (prefix, kind) if kind else ("I", prefix)  # a bare "PER" reads as I-PER


def _ends(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    if prev in ("E", "S"):
        return True
    if prev in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev != "O" and prev_type != kind


def _starts(prev: str, tag: str, prev_type: str, kind: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev in ("E", "S", "O") and tag in ("I", "E"):
        return True
    return tag != "O" and prev_type != kind


def entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The set of (type, first, last) chunks in one tag sequence."""
    found: set[tuple[str, int, int]] = set()
    prev, prev_type, begin = "O", "", 0
    for i, raw in enumerate([*tags, "O"]):
        tag, kind = _split(str(raw))
        if _ends(prev, tag, prev_type, kind):
            found.add((prev_type, begin, i - 1))
        if _starts(prev, tag, prev_type, kind):
            begin = i
        prev, prev_type = tag, kind
    return found


def example_stats(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> np.ndarray:
    """(matched, predicted, true, 1) per example: the counts entity F1 is made of."""
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true tag sequences but {len(pred)} predicted ones")
    rows = np.zeros((len(true), 4), dtype=np.int64)
    for i, (t, p) in enumerate(zip(true, pred, strict=False)):
        te, pe = entities(t), entities(p)
        rows[i] = (len(te & pe), len(pe), len(te), 1)
    return rows
