"""Evaluation data from CSV, Parquet and JSONL files (the default data loader)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import hookimpl
from auditkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from auditkit.config import Config

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
# tried in order; utf-8-sig also strips a byte-order mark
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def detect_format(path: Path, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    for suffix in reversed(path.suffixes):
        if suffix.lower() in _EXTENSIONS:
            return _EXTENSIONS[suffix.lower()]
    return "csv"


@hookimpl(trylast=True)
def auditkit_load_data(spec: dict[str, Any], config: Config) -> pd.DataFrame | None:
    path = Path(spec["path"])
    fmt = detect_format(path, spec.get("format", "auto"))
    if fmt == "csv":
        return read_csv(path)
    if fmt == "parquet":
        return read_parquet(path)
    if fmt == "jsonl":
        return read_jsonl(path)
    return None


def read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    last: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            return pd.read_csv(path, sep=sep, encoding=encoding, keep_default_na=True, low_memory=False)
        except UnicodeDecodeError as exc:
            last = exc
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty; point [data] path at the evaluation data") from None
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: not a readable CSV file ({_first_line(exc)})") from None
    raise DataError(f"{path}: cannot decode the text ({last}); save the file as UTF-8") from None


def read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None


def read_jsonl(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; point [data] path at the evaluation data")
    try:
        return pd.read_json(path, lines=True, dtype=False)
    except ValueError as exc:
        raise DataError(f"{path}: not JSON Lines (one JSON object per line): {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
