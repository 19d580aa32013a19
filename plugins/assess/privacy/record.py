"""Where the privacy section's inputs come from: the training record or ``[privacy.*]``.

``<model_dir>/training.json`` (written by ``auditkit train``) may hold a ``dp`` block
(σ, q, steps, δ, Opacus's own ε) and a ``data`` block naming the exact files trained on
and held out. Config values win over the record, so a reviewer can audit a model trained
elsewhere or correct a record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit.errors import ConfigError, DataError, ModelDirError
from auditkit.model_dir import read_json
from auditkit.safe_text import clean_name, clean_reason, describe_columns, not_text, safe_reason, show_origin, show_path

if TYPE_CHECKING:
    import pandas as pd

    from auditkit.audit import Audit

RECORD_FILE = "training.json"


@dataclass
class TrainingRecord:
    """The parts of ``training.json`` this plugin reads (empty when there is no record)."""

    path: Path | None = None
    dp: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)


def read_record(model_dir: str | Path) -> TrainingRecord:
    path = Path(model_dir) / RECORD_FILE
    if not path.is_file():
        return TrainingRecord()
    try:  # size-capped: a model dir is untrusted input
        body = read_json(path.parent, path.name)
    except (ModelDirError, OSError) as exc:
        reason = safe_reason(exc) if isinstance(exc, OSError) else _model_dir_reason(exc, path)
        raise DataError(
            f"{RECORD_FILE}: not a readable JSON training record ({reason}); fix or remove the file"
        ) from None
    if not isinstance(body, dict):
        raise DataError(f"{RECORD_FILE}: the training record must be a JSON object")
    dp = body.get("dp")
    if dp is not None and not isinstance(dp, dict):
        raise DataError(f"{RECORD_FILE}: field 'dp' must be an object with noise_multiplier, sample_rate, steps, delta")
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    return TrainingRecord(path=path, dp=dp or None, data=data)


@dataclass
class DpSetting:
    """One DP-SGD run as the accountants need it, and where each number came from."""

    noise_multiplier: float
    sample_rate: float
    steps: int
    delta: float
    source: str
    max_grad_norm: float | None = None
    target_epsilon: float | None = None
    recorded_epsilon: float | None = None
    recorded_accountant: str | None = None


def steps_for_epochs(epochs: float, sample_rate: float) -> int:
    """Expected steps for ``epochs`` passes at sampling rate q: ⌈epochs / q⌉ (TF-Privacy's rule)."""
    return math.ceil(epochs / sample_rate - 1e-9)


def resolve_rate(sample_rate: float, batch_size: float, dataset_size: float, where: str) -> float:
    if sample_rate:
        return float(sample_rate)
    if batch_size and dataset_size:
        if batch_size > dataset_size:
            raise ConfigError(f"{where}: batch_size {batch_size:g} is larger than dataset_size {dataset_size:g}")
        return float(batch_size) / float(dataset_size)
    raise ConfigError(f"{where}: give sample_rate, or batch_size and dataset_size")


def dp_setting(audit: Audit, record: TrainingRecord) -> DpSetting | None:
    """The DP run to account for: ``[privacy.dp]`` when it names a noise multiplier, else the record."""
    cfg = audit.config.section("privacy.dp")
    if cfg.get("noise_multiplier"):
        where = show_origin(audit.config.origin("privacy.dp.noise_multiplier"), audit.model_dir) + ": [privacy.dp]"
        rate = resolve_rate(cfg.get("sample_rate", 0), cfg.get("batch_size", 0), cfg.get("dataset_size", 0), where)
        steps = int(cfg.get("steps") or 0) or (steps_for_epochs(cfg["epochs"], rate) if cfg.get("epochs") else 0)
        if steps <= 0:
            raise ConfigError(f"{where}: give steps, or epochs (steps = ⌈epochs / sample_rate⌉)")
        return DpSetting(float(cfg["noise_multiplier"]), rate, steps, float(cfg["delta"]), "[privacy.dp]")
    if not record.dp:
        return None
    dp = record.dp
    where = f"{RECORD_FILE}: dp"

    def number(key: str, required: bool = True) -> float | None:
        value = dp.get(key)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            # the record is the model dir's own file: a short, cleaned text may be quoted
            shown = repr(clean_name(value)) if isinstance(value, str) else repr(value)[:40]
            raise DataError(f"{where}.{key} = {shown}: expected a number")
        return float(value)

    sigma = number("noise_multiplier")
    rate = number("sample_rate", required=False) or resolve_rate(
        0, number("batch_size", False) or 0, number("dataset_size", False) or 0, where
    )
    steps = number("steps", required=False) or (
        steps_for_epochs(number("epochs") or 0, rate) if dp.get("epochs") is not None else None
    )
    if not steps:
        raise DataError(f"{where}: needs steps (or epochs) to account for the privacy loss")
    delta = number("delta", required=False) or float(audit.config.section("privacy.dp")["delta"])
    for key, value, ok in (
        ("noise_multiplier", sigma, sigma and sigma > 0),
        ("sample_rate", rate, 0 < rate <= 1),
        ("delta", delta, 0 < delta < 1),
    ):
        if not ok:
            raise DataError(f"{where}.{key} = {value!r} is out of range")
    return DpSetting(
        noise_multiplier=float(sigma),  # type: ignore[arg-type]
        sample_rate=rate,
        steps=int(steps),
        delta=delta,
        source=str(record.path.name if record.path else RECORD_FILE),
        max_grad_norm=number("max_grad_norm", required=False),
        target_epsilon=number("target_epsilon", required=False),
        recorded_epsilon=number("epsilon_opacus" if "epsilon_opacus" in dp else "epsilon", required=False),
        recorded_accountant=clean_name(dp["accountant"]) if isinstance(dp.get("accountant"), str) else None,
    )


# ------------------------------------------------------------------------- data files


@dataclass
class MemberData:
    """Training members and held-out non-members, as (texts, label names)."""

    members: pd.DataFrame
    holdout: pd.DataFrame
    text: str
    label: str
    source: str
    members_path: Path
    holdout_path: Path


def member_files(audit: Audit, record: TrainingRecord) -> tuple[Path | None, Path | None, str]:
    """(train file, held-out file, where they were named): config first, then the record."""
    cfg = audit.config.section("privacy.membership")
    base = Path(audit.model_dir)
    if cfg.get("train_data") or cfg.get("holdout_data"):
        where = show_origin(audit.config.origin("privacy.membership.train_data"), base) + ": [privacy.membership]"
        if not (cfg.get("train_data") and cfg.get("holdout_data")):
            raise ConfigError(f"{where}: give both train_data and holdout_data (the rows trained on and held out)")
        return (
            _existing(base, cfg["train_data"], where + " train_data"),
            _existing(base, cfg["holdout_data"], where + " holdout_data"),
            "[privacy.membership]",
        )
    train, held = record.data.get("train_file"), record.data.get("eval_file")
    if record.path is None or not train or not held:
        return None, None, ""
    where = f"{RECORD_FILE}: data"
    return _recorded(base, train, where + ".train_file"), _recorded(base, held, where + ".eval_file"), RECORD_FILE


def training_file(audit: Audit, record: TrainingRecord) -> Path | None:
    """The training data file, when config or record names one (for the PII scan)."""
    train, _, _ = member_files(audit, record)
    if train is None and record.path is not None and record.data.get("train_file"):
        train = _recorded(Path(audit.model_dir), record.data["train_file"], f"{RECORD_FILE}: data.train_file")
    return train


def _recorded(base: Path, value: str, where: str) -> Path:
    """A file training.json names: the model dir's own record may not lead out of the dir
    (it would have the reviewer's files scanned into the report)."""
    from auditkit.model_dir import inside

    if not isinstance(value, str):
        raise DataError(f"{where}: expected a file name (a string), got a {type(value).__name__}")
    try:
        inside(base, value)
    except ModelDirError:
        raise DataError(
            f"{where} = {show_path(value, base)!r}: leads outside the model dir; "
            "auditkit reads only files inside the model dir"
        ) from None
    return _existing(base, value, where)


def _existing(base: Path, value: str, where: str) -> Path:
    path = Path(value)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise DataError(f"{where} = {show_path(path, base)!r}: no such file")
    return path


def _model_dir_reason(exc: Exception, path: Path) -> str:
    # read_json's own messages start with the path and say no more than size, encoding or
    # the JSON error's line and column; keep that part, cleaned
    return clean_reason(str(exc).removeprefix(f"{path}: ").removeprefix(f"{path.parent / path.name}: "))


def read_table(path: Path, audit: Audit) -> pd.DataFrame:
    """Read a data file through the ``auditkit_load_data`` hook, as the evaluation data is
    read (so a loader the reviewer disabled stays disabled, and a plugin's format works).

    A file that is not text (``/proc/self/environ``, a binary) is refused before a parser
    sees it (Parquet, which is binary, is left to the loaders), and a reader's error is
    re-worded: its message may quote what it read.
    """
    from auditkit.data import read_table as read_through_hook

    shown = show_path(path, audit.model_dir)
    kind = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "text"
    problem = not_text(path) if kind != "parquet" else None
    if problem:
        raise DataError(f"{shown}: the file {problem}; give a CSV, JSON Lines or Parquet file")
    if audit.hook is not None:
        loader = audit.hook.auditkit_load_data
    else:  # an Audit built by hand (tests, a library caller) has no plugin manager: the built-in readers
        from auditkit.plugins.loaders.tabular import auditkit_load_data as loader
    try:
        frame = read_through_hook(loader, {"path": str(path), "format": "auto"}, audit.config)
    except DataError as exc:
        raise DataError(f"{shown}: not a readable data file ({_reader_reason(exc, path)})") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _reader_reason(exc: Exception, path: Path) -> str:
    text = str(exc).removeprefix(f"{path}: ")
    for known in ("the file is empty", "cannot decode the text"):
        if text.startswith(known):
            return known
    return safe_reason(Exception(text)).removeprefix("Exception: ")


def columns_text(frame: pd.DataFrame) -> str:
    """A data file's column list as an error may quote it (a few cleaned names)."""
    return describe_columns(frame.columns)
