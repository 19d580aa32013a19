"""Training data: read, check, label, split and reweigh, with one-line errors for users.

Every check runs before a model is loaded, so a bad file fails in a second, not after
minutes of training. Errors name the file, the field and the fix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from auditkit.plugins.assess.training.options import TrainOptions

from auditkit.errors import UsageError
from auditkit.hashing import file_sha256

READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}


@dataclass
class Prepared:
    """The rows the model trains and is evaluated on, and what the record says of them."""

    train: pd.DataFrame
    dev: pd.DataFrame
    labels: list[str]
    data_rows: int
    data_sha256: str
    dev_sha256: str | None = None
    weights: np.ndarray | None = None
    reweighing: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def read_frame(path: Path, flag: str) -> pd.DataFrame:
    """Read CSV/TSV/Parquet/JSONL by extension; a missing or empty file is a UsageError."""
    if not path.is_file():
        raise UsageError(f"{path}: {flag}: file not found; give the path of a CSV, Parquet or JSONL file")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise UsageError(f"{path}: {flag}: unknown file type {path.suffix!r}; use one of {', '.join(sorted(READERS))}")
    try:
        if kind in ("csv", "tsv"):
            frame = pd.read_csv(path, sep="," if kind == "csv" else "\t")
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True)
    except pd.errors.EmptyDataError:
        raise UsageError(f"{path}: {flag}: the file is empty; give a file with a header and rows") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}: {flag}: cannot read it as {kind} ({first})") from None
    if frame.empty:
        raise UsageError(f"{path}: {flag}: no data rows; add labelled rows below the header")
    return frame.reset_index(drop=True)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def parse_sequence(value: Any) -> list[str]:
    """Words or tags of one row: a JSON list, a list, or a space-separated string."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return text.split()


def check_columns(frame: pd.DataFrame, path: Path, options: TrainOptions) -> None:
    wanted = [("--text", options.text), ("--label", options.label)]
    wanted += [("--sensitive", c) for c in options.sensitive]
    if options.reweigh:
        wanted.append(("--reweigh", options.reweigh))
    for flag, column in wanted:
        if column not in frame.columns:
            raise UsageError(
                f"{path}: {flag} {column}: no such column; columns are: {', '.join(map(str, frame.columns))}"
            )
    for flag, column in wanted[:2]:
        empty = [i for i, v in enumerate(frame[column]) if _missing(v) or str(v).strip() == ""]
        if empty:
            raise UsageError(
                f"{path}: {flag} {column}: {len(empty)} empty value(s), "
                f"first in data row {empty[0] + 1}; "
                f"fill them or drop those rows"
            )


def label_names(values: pd.Series) -> list[str]:
    """Class names as strings, in numeric order when every label is an integer."""
    unique = pd.unique(values)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in unique):
        return [str(v) for v in sorted(int(v) for v in unique)]
    return sorted(str(v) for v in unique)


def check_tags(frame: pd.DataFrame, path: Path, options: TrainOptions) -> list[str]:
    """BIO tag lists of the same length as the word lists; returns the tag set."""
    types: set[str] = set()
    for i, (words, tags) in enumerate(zip(frame[options.text], frame[options.label], strict=True)):
        word_list, tag_list = parse_sequence(words), parse_sequence(tags)
        if len(word_list) != len(tag_list):
            raise UsageError(
                f"{path}: --label {options.label}: data row {i + 1} has {len(tag_list)} tags for "
                f"{len(word_list)} words in {options.text!r}; give exactly one tag per word"
            )
        for tag in tag_list:
            if tag == "O":
                continue
            prefix, _, kind = tag.partition("-")
            if prefix not in ("B", "I") or not kind:
                raise UsageError(
                    f"{path}: --label {options.label}: data row {i + 1}: tag {tag!r} is not BIO; "
                    f"use O, B-TYPE or I-TYPE (e.g. B-PER, I-PER)"
                )
            types.add(kind)
    if not types:
        raise UsageError(
            f"{path}: --label {options.label}: every tag is O; a tagger needs at least one entity (B-TYPE)"
        )
    return ["O"] + [f"{p}-{t}" for t in sorted(types) for p in ("B", "I")]


def entity_types(tags: pd.Series) -> set[str]:
    return {t[2:] for row in tags for t in parse_sequence(row) if t != "O"}


def _sample(frame: pd.DataFrame, options: TrainOptions, stratify: pd.Series | None) -> pd.DataFrame:
    if not options.max_rows or options.max_rows >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    try:
        kept, _ = train_test_split(frame, train_size=options.max_rows, random_state=options.seed, stratify=stratify)
    except ValueError:  # a class too rare to stratify: plain seeded sample
        kept = frame.sample(n=options.max_rows, random_state=options.seed)
    return kept.sort_index().reset_index(drop=True)


def split(
    frame: pd.DataFrame, path: Path, options: TrainOptions, labels: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded held-out dev split: stratified by label for sequences, every entity type for tags."""
    from sklearn.model_selection import train_test_split

    n = len(frame)
    n_dev = math.ceil(options.dev_fraction * n)
    fix = "add rows, raise --dev-fraction or pass --dev FILE"
    if options.task == "sequence-classification":
        keys = frame[options.label].map(str)
        counts = keys.value_counts()
        rare = [(c, int(k)) for c, k in counts.items() if k < 2]
        if rare or n_dev < len(labels) or n - n_dev < len(labels):
            detail = f"class {rare[0][0]!r} has {rare[0][1]} row" if rare else f"{len(labels)} classes"
            raise UsageError(
                f"{path}: --label {options.label}: a dev split of {n_dev} of {n} rows "
                f"(--dev-fraction {options.dev_fraction:g}) cannot hold every class ({detail}); "
                f"{fix}"
            )
        train, dev = train_test_split(frame, test_size=n_dev, random_state=options.seed, stratify=keys)
    else:
        if n_dev < 1 or n - n_dev < 1:
            raise UsageError(f"{path}: --dev-fraction {options.dev_fraction:g}: no rows left for a dev split; {fix}")
        train, dev = train_test_split(frame, test_size=n_dev, random_state=options.seed)
        missing = entity_types(frame[options.label]) - entity_types(dev[options.label])
        if missing:
            raise UsageError(
                f"{path}: --label {options.label}: the dev split of {n_dev} rows holds no "
                f"{', '.join(sorted(missing))} entity; {fix}"
            )
    return train.sort_index().reset_index(drop=True), dev.sort_index().reset_index(drop=True)


def reweigh(groups: pd.Series, labels: pd.Series) -> tuple[np.ndarray, dict[str, Any]]:
    """Kamiran & Calders (2012) reweighing: w(g, y) = P(g)·P(y) / P(g, y).

    Rows of a (group, label) cell rarer than independence predicts weigh more, so that in
    the weighted training loss the label is independent of the group.
    """
    g = groups.map(lambda v: "(missing)" if _missing(v) else str(v)).to_numpy()
    y = labels.map(str).to_numpy()
    n = len(g)
    p_g = pd.Series(g).value_counts() / n
    p_y = pd.Series(y).value_counts() / n
    joint = pd.Series(list(zip(g, y, strict=True))).value_counts()
    cells = []
    weight_of = {}
    for (group, label), count in sorted(joint.items()):
        weight = float(p_g[group] * p_y[label] / (count / n))
        weight_of[(group, label)] = weight
        cells.append({"group": group, "label": label, "count": int(count), "weight": weight})
    weights = np.array([weight_of[(a, b)] for a, b in zip(g, y, strict=True)], dtype=np.float64)
    info = {
        "formula": "w(g, y) = P(g) * P(y) / P(g, y)",
        "method": "Kamiran & Calders reweighing",
        "cells": cells,
    }
    return weights, info


def prepare(options: TrainOptions) -> Prepared:
    """Read and check `--data` (and `--dev`), then split, sample and reweigh as asked."""
    path = Path(options.data)
    frame = read_frame(path, "--data")
    check_columns(frame, path, options)
    notes: list[str] = []
    if options.task == "token-classification":
        labels = check_tags(frame, path, options)
        stratify = None
    else:
        labels = label_names(frame[options.label])
        if len(labels) < 2:
            raise UsageError(
                f"{path}: --label {options.label}: "
                f"only one class ({labels[0]!r}) in {len(frame)} rows; "
                f"a classifier needs rows of at least two classes"
            )
        stratify = frame[options.label].map(str)
    data_rows = len(frame)
    frame = _sample(frame, options, stratify)
    if len(frame) < data_rows:
        notes.append(f"trained on a seeded sample of {len(frame)} of {data_rows} rows (--max-rows)")
    dev_sha = None
    if options.dev is not None:
        dev_path = Path(options.dev)
        dev = read_frame(dev_path, "--dev")
        check_columns(dev, dev_path, options)
        dev_sha = file_sha256(dev_path)
        train = frame
        if options.task == "token-classification":
            dev_labels = check_tags(dev, dev_path, options)
            unknown = sorted(set(dev_labels) - set(labels))
            missing = entity_types(train[options.label]) - entity_types(dev[options.label])
        else:
            dev_labels = label_names(dev[options.label])
            unknown = sorted(set(dev_labels) - set(labels))
            missing = set(labels) - set(dev_labels)
        if unknown:
            raise UsageError(
                f"{dev_path}: --label {options.label}: "
                f"{', '.join(map(repr, unknown))} never occurs in "
                f"{path}; the model cannot learn it; drop those rows or add training rows"
            )
        if missing:
            raise UsageError(
                f"{dev_path}: --label {options.label}: the dev file holds no "
                f"{', '.join(sorted(missing))} "
                f"rows, so it cannot measure every class; add rows for them"
            )
    else:
        train, dev = split(frame, path, options, labels)
    weights = info = None
    if options.reweigh and options.task == "token-classification":
        raise UsageError(
            f"--reweigh {options.reweigh}: reweighing balances one label per row; "
            f"use it with --task sequence-classification"
        )
    if options.reweigh:
        weights, info = reweigh(train[options.reweigh], train[options.label])
        info["column"] = options.reweigh
    return Prepared(
        train=train,
        dev=dev,
        labels=labels,
        data_rows=data_rows,
        data_sha256=file_sha256(path),
        dev_sha256=dev_sha,
        weights=weights,
        reweighing=info,
        notes=notes,
    )
