"""Evaluation data from CSV, Parquet and JSONL files (the default data loader)."""

from __future__ import annotations

from collections.abc import Iterator
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
# Text is UTF-8 (a byte-order mark is stripped); a byte that is not UTF-8 is read as
# cp1252 (latin-1 where cp1252 has a hole), so a file that mixes the two (rows pasted from
# Excel into a UTF-8 file) keeps both right, in one streaming pass.
_FALLBACK = "auditkit-cp1252"


def detect_format(path: Path, declared: str = "auto") -> str:
    if declared != "auto":
        return declared
    if path.is_dir():  # a partitioned Parquet dataset (auditkit.data.dataset_files)
        return "parquet"
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
    encoding, errors = _text_encoding(path)
    try:
        try:  # strict first: pandas' fast path; the fallback handler costs twice the time
            return pd.read_csv(path, sep=sep, encoding=encoding, keep_default_na=True, low_memory=False)
        except UnicodeDecodeError:
            if errors == "strict":
                raise
        return pd.read_csv(
            path, sep=sep, encoding=encoding, encoding_errors=errors, keep_default_na=True, low_memory=False
        )
    except UnicodeError as exc:
        raise DataError(f"{path}: cannot decode the text ({exc}); save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; point [data] path at the evaluation data") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a readable CSV file ({_first_line(exc)})") from None


def _text_encoding(path: Path) -> tuple[str, str]:
    """(encoding, errors) for a text file: UTF-16 when it starts with its byte-order mark
    (Excel's "Unicode text"), else UTF-8 with the per-byte cp1252 fallback."""
    import codecs

    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        return "utf-16", "strict"
    _register_fallback()
    return "utf-8-sig", _FALLBACK


def _register_fallback() -> None:
    import codecs

    try:
        codecs.lookup_error(_FALLBACK)
    except LookupError:
        codecs.register_error(_FALLBACK, _cp1252_bytes)


def _cp1252_bytes(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    text = []
    for byte in exc.object[exc.start : exc.end]:
        try:
            text.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            text.append(chr(byte))  # latin-1
    return "".join(text), exc.end


def read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.is_dir():
        return read_parquet_dataset(path)
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from None


def parquet_batches(
    path: Path, columns: list[str] | None = None, batch_rows: int = 1 << 20, files: list[Path] | None = None
) -> Iterator[pd.DataFrame]:
    """A partitioned Parquet dataset (a folder of files, hive ``key=value`` folders as
    columns) as pandas frames of at most ``batch_rows`` rows, one after another: what a
    caller sums per chunk never holds more than one chunk of rows. ``files``: only these
    files of the dataset (one partition on a Dask worker), their hive columns still read
    from their paths under ``path``."""
    import pyarrow.dataset as ds

    from auditkit.data import dataset_files

    files = dataset_files(path) if files is None else files
    if not files:
        raise DataError(f"{path}: a folder with no .parquet files; point [data] path at a file or a Parquet dataset")
    try:
        names = [str(f) for f in files]
        dataset = ds.dataset(names, format="parquet", partitioning="hive", partition_base_dir=str(path))
        for batch in dataset.to_batches(columns=columns, batch_size=batch_rows):
            yield batch.to_pandas()
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: not a readable Parquet dataset ({_first_line(exc)})") from None


def read_parquet_dataset(path: Path) -> pd.DataFrame:
    """The whole dataset in one frame, read chunk by chunk (files in sorted path order)."""
    import pandas as pd

    chunks = list(parquet_batches(path))
    if not chunks:
        raise DataError(f"{path}: the Parquet dataset has no rows; point [data] path at the evaluation data")
    return pd.concat(chunks, ignore_index=True)


def read_jsonl(path: Path) -> pd.DataFrame:
    import pandas as pd

    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; point [data] path at the evaluation data")
    encoding, errors = _text_encoding(path)
    try:
        return pd.read_json(path, lines=True, dtype=False, encoding=encoding, encoding_errors=errors)
    except UnicodeError as exc:
        raise DataError(f"{path}: cannot decode the text ({exc}); save the file as UTF-8") from None
    except ValueError as exc:
        raise DataError(f"{path}: not JSON Lines (one JSON object per line): {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
