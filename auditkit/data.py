"""Evaluation data: read through the ``auditkit_load_data`` hook, then checked and aligned.

The host owns the checks every plugin relies on: the columns exist, the labels are ones
the model knows (data holding 0/1 for a model labelled ``negative``/``positive`` is mapped
by index), rows with a missing sensitive value are counted, not silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit.audit import DatasetInfo
from auditkit.config import Config
from auditkit.errors import DataError
from auditkit.hashing import file_sha256
from auditkit.isolation import PluginExit
from auditkit.safe_text import show_path

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MISSING_GROUP = "(missing)"


@dataclass
class EvalData:
    frame: pd.DataFrame
    info: DatasetInfo
    y_true: np.ndarray | None
    token_true: list[list[str]] | None = None


def resolve_data_path(model_dir: Path, config: Config, field: str = "data.path") -> Path:
    section, _, key = field.rpartition(".")
    where = config.origin(field)
    value = config.section(section).get(key) or ""
    if not value:
        raise DataError(
            f"{where}: [{section}] {key} is empty; set it to the evaluation file (CSV, Parquet or JSONL), "
            f"or run `auditkit init {model_dir} --data FILE`"
        )
    path = Path(value)
    path = path if path.is_absolute() else model_dir / path
    relative = _relative_inside(model_dir, path)
    if relative is not None:
        # a file of the model dir must really be in it: a symlink there leading out is refused
        # (a path that leaves the dir explicitly, as `auditkit init` writes, is visible in the config)
        from auditkit.model_dir import inside

        inside(model_dir, relative)
    if path.is_dir() and not path.is_symlink() and dataset_files(path):
        return path  # partitioned Parquet: a folder of .parquet files, read in chunks
    if not path.is_file():
        what = "not a regular file (a device, pipe or folder)" if path.exists() else "no such file"
        raise DataError(f"{where}: [{section}] {key} = {value!r}: {what} {path}")
    return path


def dataset_files(folder: Path) -> list[Path]:
    """The .parquet files of a partitioned dataset folder (hive ``key=value`` subfolders
    included), sorted; a symlink anywhere in it is refused, so the folder cannot lead out."""
    files = []
    for item in sorted(folder.rglob("*")):
        if item.is_symlink():
            raise DataError(f"{folder}: {item.relative_to(folder)} is a symlink; a dataset folder must hold its files")
        if item.is_file() and item.suffix.lower() in (".parquet", ".pq"):
            files.append(item)
    return files


def data_sha256(path: Path) -> str:
    """A file's sha256; for a dataset folder, the sha256 of each file's relative path and sha256."""
    if not path.is_dir():
        return file_sha256(path)
    import hashlib

    digest = hashlib.sha256()
    for item in dataset_files(path):
        digest.update(f"{item.relative_to(path).as_posix()}\0{file_sha256(item)}\n".encode())
    return digest.hexdigest()


def _relative_inside(model_dir: Path, path: Path) -> str | None:
    """``path`` relative to ``model_dir`` when it names something inside it (before any
    symlink is followed), else None."""
    import os

    base = os.path.abspath(model_dir)
    relative = os.path.relpath(os.path.abspath(path), base)
    return None if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


def load_eval_data(hook: Any, model_dir: Path, config: Config, labels: list[str], task: str) -> EvalData:
    """Read, check and align the evaluation data of one audit."""
    import numpy as np
    import pandas as pd

    cfg = config.section("data")
    path = resolve_data_path(model_dir, config)
    frame = read_table(hook, {**cfg, "path": str(path), "format": cfg["format"]}, config, "[data] format")
    if len(frame) == 0:
        raise DataError(f"{path}: the file has no data rows; point [data] path at the evaluation data")
    frame.columns = [str(c) for c in frame.columns]
    token_task = task == "token-classification"
    needs_text = task != "scores"
    required = [("label", cfg["label"])] + ([("text", cfg["text"])] if needs_text else [])
    required += [("sensitive", c) for c in cfg["sensitive"]]
    for role, column in required:
        if column not in frame.columns:
            where = config.origin(f"data.{role}")
            raise DataError(
                f"{path}: no column {column!r} ([data] {role} in {where}); the columns are: "
                + ", ".join(repr(c) for c in frame.columns)
            )
    if cfg["max_rows"] and len(frame) > cfg["max_rows"]:
        frame = frame.sample(n=cfg["max_rows"], random_state=cfg["seed"]).sort_index()
    frame = frame.reset_index(drop=True)
    for column in frame.columns:  # a Parquet category no row has would be an empty group
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].cat.remove_unused_categories()

    label_col = cfg["label"]
    token_true = None
    if token_task:
        token_true = token_lists(frame, label_col, path)
        words = token_lists(frame, cfg["text"], path)
        for i, (w, t) in enumerate(zip(words, token_true, strict=False)):
            if len(w) != len(t):
                raise DataError(
                    f"{path}: row {i + 1}: {len(w)} words in {cfg['text']!r} but {len(t)} tags in "
                    f"{label_col!r}; give one tag per word"
                )
        unknown = sorted({t for tags in token_true for t in tags} - set(labels))
        if unknown:
            raise DataError(
                f"{path}: column {label_col!r} has tags the model does not know: {unknown[:5]}; "
                f"the model's labels (config.json id2label) are {labels}"
            )
        y_true = None
    else:
        missing = frame[label_col].isna()
        if missing.any():
            raise DataError(
                f"{path}: {int(missing.sum())} rows have no value in label column {label_col!r} "
                f"(first at row {int(np.flatnonzero(missing.to_numpy())[0]) + 1}); fill or drop them"
            )
        if not labels:
            labels = sorted({_label_str(v) for v in frame[label_col].unique()})
        y_true = align_labels(frame[label_col], labels, f"{path}: column {label_col!r}")

    missing_sensitive = {c: int(_blank(frame[c]).sum()) for c in cfg["sensitive"]}
    blank = _blank(frame[cfg["text"]]) if needs_text and token_true is None else np.zeros(len(frame), dtype=bool)
    positive = positive_label(cfg["positive"], labels, config.origin("data.positive"))
    info = DatasetInfo(
        path=show_path(path, model_dir),  # a report never shows the reviewer's folders
        sha256=data_sha256(path),
        rows=len(frame),
        format=_format_of(path, cfg["format"]),
        columns=list(frame.columns),
        text=cfg["text"] if needs_text else None,
        label=label_col,
        sensitive=list(cfg["sensitive"]),
        positive=positive,
        missing_sensitive={k: v for k, v in missing_sensitive.items() if v},
        missing_text=int(blank.sum()),
        first_missing_text=int(np.flatnonzero(blank)[0]) + 1 if blank.any() else None,
    )
    return EvalData(frame=frame, info=info, y_true=y_true, token_true=token_true)


def read_table(hook: Any, spec: dict[str, Any], config: Config, format_key: str | None = None) -> pd.DataFrame:
    """Read one file through the ``auditkit_load_data`` hook (``hook`` is its caller, such as
    ``audit.hook.auditkit_load_data``), never through a loader module directly: a loader the
    user disabled (``-p no:tabular``, ``[run] disable``) stays disabled, and a third-party
    format is readable wherever auditkit reads a file.

    ``spec`` is the hook's (``path``, ``format``, …); ``format_key`` names the setting that
    declares the file's format, if one does, for the message when no enabled loader reads it.
    """
    path = spec["path"]
    try:
        frame = hook(spec=spec, config=config)
    except (DataError, PluginExit):  # a loader's sys.exit() is a plugin error (exit 3), not the file's
        raise
    except Exception as exc:  # a loader that chokes on the file: the file is the problem
        raise DataError(f"{path}: cannot be read: {type(exc).__name__}: {str(exc)[:300]}") from exc
    if frame is None:
        declare = f"set {format_key}, " if format_key else ""
        raise DataError(
            f"{path}: no enabled data loader reads this file; use CSV, Parquet or JSONL (read by the built-in "
            f"plugin 'tabular' unless -p no:tabular or [run] disable turned it off), {declare}"
            "or install a loader plugin for its format"
        )
    return frame


def _blank(column: pd.Series) -> np.ndarray:
    """Rows with no value: missing, or only white space (for a text, the model would be
    asked about "")."""
    return (column.isna() | (column.astype(str).str.strip() == "")).to_numpy()


def align_labels(values: Any, labels: list[str], where: str) -> np.ndarray:
    """Map data label values (a list or Series) onto the model's label names (by name, else by index).

    A typed column is mapped through its distinct values, so 10 million rows cost one
    array of references to a few label strings, not 10 million new Python strings.
    """
    import pandas as pd

    if isinstance(values, pd.Series) and values.dtype != object:  # object: True == 1 would merge
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        return _align_values(list(uniques), labels, where)[codes]
    return _align_values(list(values), labels, where)


def _align_values(values: list[Any], labels: list[str], where: str) -> np.ndarray:
    import numpy as np

    as_str = [_label_str(v) for v in values]
    known = set(labels)
    if all(v in known for v in as_str):
        return np.asarray(as_str, dtype=object)
    as_index = [_as_index(v) for v in values]
    if all(i is not None and 0 <= i < len(labels) for i in as_index):
        return np.asarray([labels[i] for i in as_index], dtype=object)  # type: ignore[index]
    unknown = sorted({v for v in as_str if v not in known})
    raise DataError(
        f"{where} has labels the model does not know: {', '.join(map(repr, unknown[:5]))}; "
        f"the model's labels (config.json id2label) are {labels}; fix the data or the [data] label column"
    )


def positive_label(value: Any, labels: list[str], where: str) -> str | None:
    """The model's label that ``[data] positive`` names, so every plugin reads it alike.

    For two labels: ``value`` by name, else by index (``1`` is ``labels[1]``), and
    ``labels[1]`` when unset; otherwise ``value`` when it is a label, else None. A value
    that is neither is a :class:`DataError` naming ``where`` (the setting's origin).
    """
    if len(labels) != 2:
        return str(value) if value not in ("", None) and str(value) in labels else None
    if value in ("", None):
        return labels[1]
    text = _label_str(value)
    if text in labels:
        return text
    index = _as_index(value)
    if index is not None and 0 <= index < 2:
        return labels[index]
    raise DataError(f"{where}: [data] positive = {value!r} is not one of the labels {labels}")


def _label_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_index(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def token_lists(frame: pd.DataFrame, column: str, path: Path | str) -> list[list[str]]:
    """A token-classification column as one list of strings per row.

    A cell may be a list (Parquet, JSONL), a JSON list written as text (CSV) or words
    separated by white space; anything else is a :class:`DataError` naming ``path``, the
    row and the column.
    """
    out = []
    for i, value in enumerate(frame[column].tolist()):
        if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
            items = list(value.tolist() if hasattr(value, "tolist") else value)
        elif isinstance(value, str) and value.lstrip().startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError:
                raise DataError(f"{path}: row {i + 1}, column {column!r}: not a JSON list") from None
        elif isinstance(value, str):
            items = value.split()
        else:
            raise DataError(f"{path}: row {i + 1}, column {column!r}: expected words or tags, got {value!r}")
        out.append([str(x) for x in items])
    return out


def _format_of(path: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    suffixes = [s.lower() for s in path.suffixes]
    for fmt, exts in (("parquet", {".parquet", ".pq"}), ("jsonl", {".jsonl", ".ndjson", ".json"})):
        if exts & set(suffixes):
            return fmt
    return "csv"
