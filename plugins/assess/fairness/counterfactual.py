"""Counterfactual tests: change only identity terms in a text and see whether the model moves.

Term swapping: a term group has classes (male, female) and rows of terms, one per class
(he/she, him/her). In a text whose first matched term is of class a, every term of
class a becomes the same row's term of class b and every term of class b becomes class
a's (so "he told her" becomes "she told him"); other terms stay. Paired files: the same
texts written twice, aligned by a key column. Both re-score originals and counterfactuals
with the model in one call, and report the share of predictions that flip and the mean
change of the score.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Predict = Callable[[list[str]], np.ndarray]
_SHOW = 200  # characters of a text shown in the worst examples


@dataclass
class TermGroup:
    name: str
    classes: list[str]
    terms: list[list[str]]

    def __post_init__(self) -> None:
        self.lookup: dict[str, tuple[int, int]] = {}
        for r, row in enumerate(self.terms):
            for c, term in enumerate(row):
                self.lookup.setdefault(_norm(term), (r, c))  # first row wins (his/her, him/her)
        words = sorted(self.lookup, key=len, reverse=True)
        body = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
        self.pattern = re.compile(rf"\b({body})\b", re.IGNORECASE)

    def first_class(self, text: str) -> int | None:
        match = self.pattern.search(text)
        return None if match is None else self.lookup[_norm(match.group(0))][1]

    def swap(self, text: str, a: int, b: int) -> str:
        def repl(match: re.Match[str]) -> str:
            row, cls = self.lookup[_norm(match.group(0))]
            if cls not in (a, b):
                return match.group(0)
            return _same_case(match.group(0), self.terms[row][b if cls == a else a])

        return self.pattern.sub(repl, text)


def _norm(term: str) -> str:
    return " ".join(term.lower().split())


def _same_case(original: str, new: str) -> str:
    if original.isupper() and len(original) > 1:
        return new.upper()
    if original[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


@dataclass
class CounterfactualResult:
    """Flip rate and score change of one term group (or of the paired files)."""

    name: str
    kind: str  # "terms" or "pairs"
    texts: int
    variants: int
    flips: int = 0
    flip_rate: float | None = None
    flip_rate_ci: tuple[float, float] | None = None
    mean_score_change: float | None = None
    mean_abs_score_change: float | None = None
    directions: list[dict[str, Any]] = field(default_factory=list)
    worst: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None


def _score(proba: np.ndarray, positive: int | None, reference: np.ndarray) -> np.ndarray:
    # binary: the positive class; multi-class: the class the original text was given
    column = np.full(len(proba), positive) if positive is not None else reference
    return proba[np.arange(len(proba)), column]


def evaluate(
    name: str,
    kind: str,
    originals: list[str],
    pairs: list[tuple[int, str, str, str]],  # (original index, counterfactual, from, to)
    predict: Predict,
    labels: list[str],
    positive: int | None,
    n_boot: int,
    level: float,
    seed: int,
    worst: int,
) -> CounterfactualResult:
    """Re-score originals and counterfactuals in one call and summarise the changes."""
    result = CounterfactualResult(name, kind, texts=len(originals), variants=len(pairs))
    if not pairs:
        result.note = "no text contains a term of this group"
        return result
    proba = np.asarray(predict(originals + [p[1] for p in pairs]), dtype=float)
    before_all, after = proba[: len(originals)], proba[len(originals) :]
    index = np.array([p[0] for p in pairs])
    before = before_all[index]
    label_before, label_after = before.argmax(axis=1), after.argmax(axis=1)
    s_before = _score(before, positive, label_before)
    s_after = _score(after, positive, label_before)
    flipped = label_before != label_after
    delta = s_after - s_before
    result.flips = int(flipped.sum())
    result.flip_rate = float(flipped.mean())
    result.mean_score_change = float(delta.mean())
    result.mean_abs_score_change = float(np.abs(delta).mean())
    result.flip_rate_ci = _cluster_ci(index, flipped, n_boot, level, seed)
    directions = sorted({(p[2], p[3]) for p in pairs})
    src = np.array([p[2] for p in pairs], dtype=object)
    dst = np.array([p[3] for p in pairs], dtype=object)
    for a, b in directions:
        m = (src == a) & (dst == b)
        result.directions.append(
            {
                "from": a,
                "to": b,
                "n": int(m.sum()),
                "flip_rate": float(flipped[m].mean()),
                "mean_score_change": float(delta[m].mean()),
            }
        )
    for j in np.argsort(-np.abs(delta), kind="stable")[:worst]:
        result.worst.append(
            {
                "original": originals[index[j]][:_SHOW],
                "counterfactual": pairs[j][1][:_SHOW],
                "from": pairs[j][2],
                "to": pairs[j][3],
                "score_before": float(s_before[j]),
                "score_after": float(s_after[j]),
                "label_before": labels[label_before[j]],
                "label_after": labels[label_after[j]],
            }
        )
    return result


def _cluster_ci(
    index: np.ndarray, flipped: np.ndarray, n_boot: int, level: float, seed: int
) -> tuple[float, float] | None:
    """Bootstrap over original texts (their variants move together): ratio of resampled sums."""
    if n_boot <= 0:
        return None
    texts, inverse = np.unique(index, return_inverse=True)
    flips = np.bincount(inverse, weights=flipped.astype(float), minlength=len(texts))
    sizes = np.bincount(inverse, minlength=len(texts)).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(texts), np.full(len(texts), 1.0 / len(texts)), size=n_boot)
    rates = (draws @ flips) / (draws @ sizes)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(rates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def term_pairs(
    texts: list[str], group: TermGroup, max_texts: int, variants: int, rng: np.random.Generator
) -> tuple[list[str], list[tuple[int, str, str, str]]]:
    """Originals that mention the group, and their counterfactuals (seeded sample)."""
    hits = [(i, c) for i, t in enumerate(texts) if (c := group.first_class(t)) is not None]
    if len(hits) > max_texts:
        keep = np.sort(rng.choice(len(hits), size=max_texts, replace=False))
        hits = [hits[k] for k in keep]
    originals: list[str] = []
    pairs: list[tuple[int, str, str, str]] = []
    for i, a in hits:
        others = [b for b in range(len(group.classes)) if b != a]
        if len(others) > variants:
            others = sorted(rng.choice(others, size=variants, replace=False).tolist())
        new = [(b, group.swap(texts[i], a, b)) for b in others]
        new = [(b, t) for b, t in new if t != texts[i]]
        if not new:
            continue
        originals.append(texts[i])
        pairs.extend((len(originals) - 1, t, group.classes[a], group.classes[b]) for b, t in new)
    return originals, pairs


def _read_pairs_file(model_dir: str, option: str, value: str, columns: list[str]) -> Any:
    """One paired file as a frame; errors name the file as a report may show it, never its content."""
    import pandas as pd

    from auditkit.errors import DataError
    from auditkit.safe_text import describe_columns, not_text, safe_reason, show_path

    path = Path(model_dir) / value
    where = f"{show_path(path, model_dir)}: [fairness.counterfactual] {option}"
    if not path.is_file():
        raise DataError(f"{where}: file not found; give a CSV path relative to the model dir")
    problem = not_text(path)
    if problem:
        raise DataError(f"{where}: the file {problem}; give a CSV file")
    try:
        frame = pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{where}: not a readable CSV ({safe_reason(exc)})") from None
    missing = [c for c in columns if c and c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: no column(s) {', '.join(map(repr, missing))}; columns are: {describe_columns(frame.columns)}"
        )
    return frame


def pair_files_label(model_dir: str, cfg: dict[str, Any]) -> str:
    """The two paired files as a report shows them (relative, or name and path hash)."""
    from auditkit.safe_text import show_path

    left, right = (show_path(Path(model_dir) / cfg[k], model_dir) for k in ("pairs_original", "pairs_counterfactual"))
    return f"{left} vs {right}"


def file_pairs(
    model_dir: str, cfg: dict[str, Any], text_column: str, max_pairs: int, rng: np.random.Generator
) -> tuple[list[str], list[tuple[int, str, str, str]], int]:
    """Originals and counterfactuals from the paired files; also the number of aligned rows.

    Rows whose two texts are identical are left out of the rates (they cannot differ).
    """
    from auditkit.errors import DataError
    from auditkit.safe_text import show_path

    key, text = cfg["pairs_key"], cfg["pairs_text"] or text_column
    shown = {k: show_path(Path(model_dir) / cfg[k], model_dir) for k in ("pairs_original", "pairs_counterfactual")}
    left = _read_pairs_file(model_dir, "pairs_original", cfg["pairs_original"], [key, text])
    right = _read_pairs_file(model_dir, "pairs_counterfactual", cfg["pairs_counterfactual"], [key, text])
    if key:
        for option, frame in (("pairs_original", left), ("pairs_counterfactual", right)):
            if frame[key].duplicated().any():
                raise DataError(
                    f"{shown[option]}: [fairness.counterfactual] pairs_key {key!r} repeats values; "
                    f"it must identify one row per text"
                )
        merged = left[[key, text]].merge(right[[key, text]], on=key, suffixes=("_a", "_b"))
        a, b = merged[f"{text}_a"], merged[f"{text}_b"]
    else:
        if len(left) != len(right):
            raise DataError(
                f"{shown['pairs_counterfactual']}: {len(right)} rows but {shown['pairs_original']} has "
                f"{len(left)}; set [fairness.counterfactual] pairs_key to align them by a column"
            )
        a, b = left[text], right[text]
    a, b = a.fillna("").astype(str).tolist(), b.fillna("").astype(str).tolist()
    changed = [i for i in range(len(a)) if a[i] != b[i]]
    if len(changed) > max_pairs:
        changed = sorted(rng.choice(changed, size=max_pairs, replace=False).tolist())
    originals = [a[i] for i in changed]
    pairs = [(j, b[i], "original", "counterfactual") for j, i in enumerate(changed)]
    return originals, pairs, len(a)
