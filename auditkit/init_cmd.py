"""``auditkit init``: write a starting ``auditkit.toml`` for a model dir.

Labels come from the model's config.json; columns from the flags, or guessed from the
data when a flag is left out (and the guess is said). Every section is written with a
comment per key, so the file documents itself; only the keys init chose are live, the
rest commented out with their defaults, so a run labels them "default", not "reviewer config".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.config import CONFIG_FILE, ConfigSection, build_config, read_toml, render_toml
from auditkit.errors import UsageError
from auditkit.model_dir import read_json
from auditkit.outputs import atomic_write_text

LABEL_NAMES = ("label", "labels", "target", "y", "class", "gold", "outcome", "toxic", "toxicity", "hateful")
SENSITIVE_NAMES = (
    "gender",
    "sex",
    "race",
    "ethnicity",
    "age",
    "age_group",
    "religion",
    "identity",
    "disability",
    "nationality",
    "sexual_orientation",
    "target_ident",
    "marital_status",
)


@dataclass
class InitRequest:
    model_dir: Path
    data: str | None = None
    text: str | None = None
    label: str | None = None
    sensitive: list[str] | None = None
    positive: str | None = None
    predictions: str | None = None
    score: str | None = None
    threshold: float | None = None
    predicted_label: str | None = None
    reference: dict[str, str] | None = None  # sensitive feature → fairness reference group
    force: bool = False


@dataclass
class InitResult:
    path: Path
    notes: list[str] = field(default_factory=list)


def init_model_dir(request: InitRequest, schemas: dict[str, ConfigSection], load_data: Any) -> InitResult:
    model_dir = request.model_dir
    target = model_dir / CONFIG_FILE
    if target.exists() and not request.force:
        raise UsageError(f"{target}: already exists; pass --force to replace it")
    notes: list[str] = []
    labels: list[str] = []
    if request.predictions:
        model_dir.mkdir(parents=True, exist_ok=True)
    elif not model_dir.is_dir():
        raise UsageError(f"{model_dir}: no such directory; for a scores file without a model, pass --predictions FILE")
    elif (model_dir / "config.json").is_file():
        labels = _model_labels(model_dir)
    elif not (model_dir / "adapter_config.json").is_file():
        raise UsageError(
            f"{model_dir}: no config.json; point at a model dir, or pass --predictions FILE for a scores file"
        )

    data_arg = request.data or request.predictions
    if not data_arg:
        raise UsageError(f"auditkit init {model_dir}: pass --data FILE (the evaluation data)")
    data_path, data_rel = _locate(data_arg, model_dir, "--data" if request.data else "--predictions")
    frame = load_data(spec={"path": str(data_path), "format": "auto"}, config=None)
    columns = [str(c) for c in frame.columns]

    def need(column: str | None, flag: str) -> str | None:
        if column is not None and column not in columns:
            raise UsageError(
                f"{data_path}: no column {column!r} ({flag}); the columns are: {', '.join(map(repr, columns))}"
            )
        return column

    label = need(request.label, "--label")
    if label is None:
        label = next((c for c in columns if c.lower() in LABEL_NAMES), None)
        if label is None:
            raise UsageError(
                f"{data_path}: cannot guess the label column; pass --label (columns: {', '.join(columns)})"
            )
        notes.append(f"label column guessed: {label!r} (pass --label to choose)")
    sensitive = [need(c, "--sensitive") for c in request.sensitive] if request.sensitive else None
    if sensitive is None:
        sensitive = [c for c in columns if c.lower() in SENSITIVE_NAMES and c != label]
        notes.append(f"sensitive columns guessed: {sensitive or 'none'} (pass --sensitive to choose)")
    values: dict[str, Any] = {"data": {"path": data_rel, "label": label, "sensitive": sensitive}}
    if not request.predictions:
        text = need(request.text, "--text") or _guess_text(frame, exclude={label, *sensitive})
        if request.text is None:
            notes.append(f"text column guessed: {text!r}, the longest text (pass --text to choose)")
        values["data"]["text"] = text
    if request.positive is not None:
        known = {str(v) for v in frame[label].dropna().unique()} | set(labels)
        if request.positive not in known:
            raise UsageError(
                f"--positive {request.positive}: not a value of column {label!r} ({', '.join(sorted(known)[:8])})"
            )
        values["data"]["positive"] = request.positive
    if request.reference:
        values["fairness"] = {"reference_groups": _reference_groups(request.reference, frame, sensitive, data_path)}
    if request.predictions:
        pred_path, pred_rel = _locate(request.predictions, model_dir, "--predictions")
        pred_columns = (
            columns
            if pred_path == data_path
            else [str(c) for c in load_data(spec={"path": str(pred_path), "format": "auto"}, config=None).columns]
        )
        if not request.score and not request.predicted_label:
            raise UsageError("--predictions: pass --score COLUMN (with --threshold) or --predicted-label COLUMN")
        for column, flag in ((request.score, "--score"), (request.predicted_label, "--predicted-label")):
            if column and column not in pred_columns:
                raise UsageError(
                    f"{pred_path}: no column {column!r} ({flag}); the columns are: {', '.join(map(repr, pred_columns))}"
                )
        values["predictions"] = {"file": pred_rel, "score": request.score or "", "label": request.predicted_label or ""}
        if request.threshold is not None:
            values["predictions"]["threshold"] = float(request.threshold)

    header = (
        f"auditkit configuration for {model_dir.name}\n"
        + (f"model labels (config.json id2label): {', '.join(labels)}\n" if labels else "")
        + "Only the keys init chose are set; every other key is shown commented out with its\n"
        "default (reports label it 'default'): uncomment a key to set it.\n"
        "auditkit run reads this file from the model dir; --config FILE and flags override it."
    )
    text = render_toml(schemas, values, header=header, live_defaults=False)
    atomic_write_text(target, text)
    build_config(schemas, [(str(target), read_toml(target))])  # the file must load as written
    return InitResult(path=target, notes=notes)


def parse_reference(items: list[str]) -> dict[str, str]:
    """``--reference feature=group`` flags → {feature: group}."""
    out: dict[str, str] = {}
    for item in items:
        feature, sep, group = item.partition("=")
        if not sep or not feature.strip() or not group.strip():
            raise UsageError(f"--reference {item}: expected FEATURE=GROUP, e.g. --reference race=Caucasian")
        out[feature.strip()] = group.strip()
    return out


def _reference_groups(wanted: dict[str, str], frame: Any, sensitive: list[str], data_path: Path) -> dict[str, str]:
    """Each reference must name a sensitive column and one of its values (as the fairness groups spell them)."""
    for feature, group in wanted.items():
        if feature not in sensitive:
            raise UsageError(
                f"--reference {feature}={group}: {feature!r} is not a sensitive column "
                f"({', '.join(sensitive) or 'none'}); pass it to --sensitive"
            )
        groups = sorted({_group_label(v) for v in frame[feature].dropna().unique()} - {""})
        if group not in groups:
            raise UsageError(
                f"--reference {feature}={group}: no group {group!r} in column {feature!r} of {data_path} "
                f"(groups: {', '.join(groups[:20])})"
            )
    return dict(wanted)


def _group_label(value: Any) -> str:
    """A value as the fairness plugin names its group: 1.0 read from a CSV with blanks is "1"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _model_labels(model_dir: Path) -> list[str]:
    config = read_json(model_dir, "config.json")
    id2label = config.get("id2label") if isinstance(config, dict) else None
    if isinstance(id2label, dict):
        try:
            return [str(v) for _, v in sorted((int(k), v) for k, v in id2label.items())]
        except (TypeError, ValueError):
            return []
    return []


def _locate(given: str, model_dir: Path, flag: str) -> tuple[Path, str]:
    """Find the file (relative to the cwd, else to the model dir); return it and its
    path relative to the model dir, as the config stores it."""
    path = Path(given)
    candidates = [path] if path.is_absolute() else [path, model_dir / path]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise UsageError(f"{flag} {given}: no such file (looked in . and in {model_dir})")
    relative = os.path.relpath(found.resolve(), model_dir.resolve())
    return found, Path(relative).as_posix()


def _guess_text(frame: Any, exclude: set[str | None]) -> str:
    from pandas.api.types import is_object_dtype, is_string_dtype

    best, best_len = None, -1.0
    for column in frame.columns:
        if column in exclude or not (is_string_dtype(frame[column]) or is_object_dtype(frame[column])):
            continue
        length = frame[column].dropna().astype(str).str.len().mean()
        if length == length and length > best_len:
            best, best_len = str(column), float(length)
    if best is None:
        raise UsageError("cannot guess the text column (no string column); pass --text")
    return best
