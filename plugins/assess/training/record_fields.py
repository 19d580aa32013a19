"""The fields of a ``training.json`` record that may reach a report, checked by type and size.

``[training] record`` names the file, and a config can name any JSON the reviewer can read
(a token file, another tool's settings). So nothing is copied as found: each field
auditkit understands is kept only with the type and size ``auditkit train`` writes, the
rest is dropped and counted (never quoted). Free text (description, notes, source names)
is kept only from a record that says it is one (``"schema_version": 1``): any other JSON
contributes numbers, flags and hashes at most. A recorded local path becomes its file name
and a path hash (:func:`auditkit.safe_text.show_path`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditkit.safe_text import show_path

RECORD_SCHEMA_VERSION = 1
MAX_LIST = 200  # entries of a list field (labels, reweighing cells, …)


@dataclass
class Cleaned:
    """A record with only the checked fields, and how many values were left out."""

    record: dict[str, Any]
    dropped: int = 0


Check = Callable[[Any, "_Cleaner"], Any]
_SKIP = object()  # a value that does not fit its field


def _number(value: Any, _: _Cleaner) -> Any:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else _SKIP


def _integer(value: Any, _: _Cleaner) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63 else _SKIP


def _flag(value: Any, _: _Cleaner) -> Any:
    return value if isinstance(value, bool) else _SKIP


def _sha256(value: Any, _: _Cleaner) -> Any:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else _SKIP


def _text(limit: int) -> Check:
    """A string of at most ``limit`` characters, only from a record that says it is one."""

    def check(value: Any, cleaner: _Cleaner) -> Any:
        if not cleaner.texts or not isinstance(value, str) or len(value) > limit:
            return _SKIP
        return value

    return check


def _path(value: Any, cleaner: _Cleaner) -> Any:
    # where training read its data on the trainer's machine: a name and a hash, never the path
    if not isinstance(value, str) or not value or len(value) > 4096:
        return _SKIP
    return show_path(value, cleaner.model_dir) if cleaner.texts else _SKIP


def _scalar(limit: int = 80) -> Check:
    text = _text(limit)

    def check(value: Any, cleaner: _Cleaner) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return _number(value, cleaner)
        return text(value, cleaner)

    return check


def _optional(check: Check) -> Check:
    return lambda value, cleaner: None if value is None else check(value, cleaner)


def _list(check: Check, limit: int = MAX_LIST) -> Check:
    def run(value: Any, cleaner: _Cleaner) -> Any:
        if not isinstance(value, list) or len(value) > limit:
            return _SKIP
        kept = [cleaner.value(item, check) for item in value]
        return [item for item in kept if item is not _SKIP]

    return run


def _object(fields: dict[str, Check]) -> Check:
    return lambda value, cleaner: cleaner.fields(value, fields) if isinstance(value, dict) else _SKIP


def _mapping(value_check: Check, key_limit: int = 60, limit: int = 100) -> Check:
    """A dict whose keys are names (metric, library): short keys, checked values."""

    def run(value: Any, cleaner: _Cleaner) -> Any:
        if not isinstance(value, dict) or len(value) > limit:
            return _SKIP
        out = {}
        for key, item in value.items():
            kept = cleaner.value(item, value_check)
            if not isinstance(key, str) or len(key) > key_limit or (not cleaner.texts and not _known_key(key)):
                cleaner.dropped += 1
            elif kept is not _SKIP:
                out[key] = kept
        return out

    return run


def _known_key(key: str) -> bool:
    # outside a real record, metric names still read like metrics, never like a sentence
    return re.fullmatch(r"[a-z][a-z0-9_]{0,59}", key) is not None


HYPERPARAMETERS = (
    "task",
    "epochs",
    "batch_size",
    "learning_rate",
    "max_length",
    "weight_decay",
    "warmup_ratio",
    "max_grad_norm",
    "patience",
    "freeze_layers",
    "max_steps",
    "dev_fraction",
    "max_rows",
    "group_by_length",
    "optimizer",
    "scheduler",
    "metric_for_best_model",
    "differential_privacy",
)

FIELDS: dict[str, Check] = {
    "schema_version": _integer,
    "created": _text(40),
    "tool": _text(80),
    "task": _text(40),
    "labels": _list(_text(80)),
    "base_model": _object(
        {"name": _text(200), "id": _text(200), "sha256": _sha256, "package": _text(80), "num_parameters": _integer}
    ),
    "data": _object(
        {
            "path": _path,
            "sha256": _sha256,
            "rows": _integer,
            "train_rows": _integer,
            "dev_rows": _integer,
            "train_file": _text(200),
            "eval_file": _text(200),
            "train_sha256": _sha256,
            "eval_sha256": _sha256,
            "dev_path": _optional(_path),
            "dev_sha256": _optional(_sha256),
            "split": _text(80),
            "text": _text(80),
            "label": _text(80),
            "sensitive": _list(_text(80), 20),
        }
    ),
    "sources": _list(
        _object(
            {"name": _text(200), "use": _text(40), "rows": _integer, "source": _text(300), "licence": _text(120)}
        ),
        50,
    ),
    "description": _text(2000),
    "hyperparameters": _object({key: _scalar() for key in HYPERPARAMETERS}),
    "seed": _integer,
    "frozen": _list(_text(200), 500),
    "device": _text(40),
    "threads": _integer,
    "platform": _text(80),
    "libraries": _mapping(_text(40), limit=40),
    "reweighing": _object(
        {
            "column": _text(80),
            "formula": _text(200),
            "method": _text(80),
            "cells": _list(
                _object({"group": _scalar(80), "label": _scalar(80), "count": _integer, "weight": _number})
            ),
        }
    ),
    "result": _object(
        {
            "global_step": _integer,
            "epochs_completed": _number,
            "best_epoch": _number,
            "best_global_step": _integer,
            "metric_for_best_model": _text(80),
            "best_metric": _optional(_number),
            "stopped_early": _flag,
            "train_runtime": _number,
            "dev_metrics": _mapping(_number),
        }
    ),
    "weights": _object({"files": _list(_text(200), 100), "sha256": _sha256}),
    "notes": _list(_text(500), 20),
    "wall_seconds": _number,
    "dp": _object(
        {
            "noise_multiplier": _number,
            "sample_rate": _number,
            "steps": _number,
            "delta": _number,
            "max_grad_norm": _number,
            "target_epsilon": _optional(_number),
            "epsilon_opacus": _number,
            "epsilon": _number,
            "accountant": _text(40),
            "batch_size": _number,
            "dataset_size": _number,
            "epochs": _number,
            "planned_steps": _integer,
            "expected_batch_size": _number,
            "poisson_sampling": _flag,
            "clipping": _text(40),
            "secure_rng": _flag,
            "library": _text(80),
        }
    ),
}


class _Cleaner:
    def __init__(self, texts: bool, model_dir: str | Path | None) -> None:
        self.texts = texts
        self.model_dir = model_dir
        self.dropped = 0

    def value(self, value: Any, check: Check) -> Any:
        kept = check(value, self)
        if kept is _SKIP:
            self.dropped += 1
        return kept

    def fields(self, value: dict[str, Any], fields: dict[str, Check]) -> dict[str, Any]:
        out = {}
        for key, item in value.items():
            check = fields.get(key) if isinstance(key, str) else None
            if check is None:
                self.dropped += 1
                continue
            kept = self.value(item, check)
            if kept is not _SKIP:
                out[key] = kept
        return out


def clean_record(raw: dict[str, Any], model_dir: str | Path | None = None) -> Cleaned:
    """The fields of ``raw`` that auditkit reads, each of the type and size it writes."""
    texts = raw.get("schema_version") == RECORD_SCHEMA_VERSION
    cleaner = _Cleaner(texts, model_dir)
    record = cleaner.fields(raw, FIELDS)
    return Cleaned(record, cleaner.dropped)


def read_record(model_dir: Path, name: str, problems: list[str], found: list[str]) -> dict[str, Any] | None:
    """``[training] record``, size-capped and cleaned; each problem is a line without content or path."""
    from auditkit.errors import ModelDirError
    from auditkit.model_dir import read_json
    from auditkit.safe_text import clean_reason, not_text

    path = model_dir / name
    shown = show_path(path, model_dir)
    problem = not_text(path)  # before the parser: /proc files claim size 0 and pass the size cap
    if problem:
        problems.append(f"{shown}: the file {problem}; [training] record must name a JSON training record")
        return None
    try:  # size-capped: a model dir is untrusted input
        raw = read_json(path.parent, path.name)
    except (ModelDirError, OSError) as exc:
        reason = str(exc).removeprefix(f"{path.parent / path.name}: ").removeprefix(f"{path}: ")
        problems.append(f"{shown}: unreadable ({clean_reason(reason)})")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{shown}: expected a JSON object")
        return None
    found.append(shown)
    cleaned = clean_record(raw, model_dir)
    if cleaned.dropped:
        problems.append(
            f"{shown}: {cleaned.dropped} value(s) ignored (fields auditkit does not read, or not of the "
            "type and size `auditkit train` writes)"
        )
    return cleaned.record
