"""Fairness counts of data too large for one frame: summed chunk by chunk.

Every count metric of a group is a function of its (label, prediction) counts, and counts
add: the counts of the whole data are the sums of each chunk's. So a partitioned Parquet
dataset is read one batch at a time (``auditkit.plugins.loaders.tabular.parquet_batches``),
each batch is reduced to a table of (sensitive values…, label, prediction) → rows, and the
tables are added. Memory grows with the distinct cells, not with the rows; the metrics
follow from the summed table with the same functions the audit uses
(:func:`engine.confusion_metrics`).

On a Dask cluster (:func:`dask_cell_counts`) each file of the dataset is a partition: a
worker reads it and returns its table, and the tables are added here, in file order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from auditkit.plugins.assess.fairness import engine
from auditkit.plugins.assess.fairness.groups import INTERSECTION_SEP, _label

from auditkit.data import MISSING_GROUP
from auditkit.errors import DataError

Labeller = Callable[[pd.DataFrame], np.ndarray]  # a chunk → 0/1 per row


def _keys(chunk: pd.DataFrame, sensitive: list[str]) -> pd.DataFrame:
    """Sensitive values as the group names the audit gives them (:func:`groups._label`);
    missing or blank → MISSING_GROUP. Only each chunk's distinct values become strings."""
    out = {}
    for column in sensitive:
        codes, uniques = pd.factorize(chunk[column], use_na_sentinel=True)
        labels = [_label(u) for u in uniques]
        labels = [x if x and x.lower() != "nan" else MISSING_GROUP for x in labels] + [MISSING_GROUP]
        out[column] = np.asarray(labels, dtype=object)[codes]  # code -1 (missing) reads the last
    return pd.DataFrame(out)


def cell_counts(
    batches: Iterable[pd.DataFrame], sensitive: list[str], truth: Labeller, predicted: Labeller
) -> pd.Series:
    """(sensitive values…, y, yhat) → rows, summed over ``batches``."""
    return _sum(_chunk_counts(chunk, sensitive, truth, predicted) for chunk in batches)


def _chunk_counts(chunk: pd.DataFrame, sensitive: list[str], truth: Labeller, predicted: Labeller) -> pd.Series:
    keys = _keys(chunk, sensitive)
    keys["y"], keys["yhat"] = truth(chunk).astype(np.int8), predicted(chunk).astype(np.int8)
    return keys.groupby(list(keys.columns), sort=False, observed=True).size()


def dataset_cell_counts(
    path: Path,
    sensitive: list[str],
    truth: Labeller,
    predicted: Labeller,
    columns: list[str] | None = None,
    executor: str | None = None,
    batch_rows: int = 1 << 20,
) -> pd.Series:
    """:func:`cell_counts` of a partitioned Parquet dataset: read here batch by batch, or,
    with ``executor="dask://HOST:PORT"``, file by file on that Dask cluster's workers
    (``truth`` and ``predicted`` travel to them: module-level functions, or callables
    cloudpickle can send). ``columns``: the only columns read (the sensitive ones, the label's
    and the prediction's)."""
    from auditkit.plugins.loaders.tabular import parquet_batches

    if executor is None:
        return cell_counts(parquet_batches(path, columns, batch_rows), sensitive, truth, predicted)
    return dask_cell_counts(executor, path, sensitive, truth, predicted, columns, batch_rows)


def dask_cell_counts(
    executor: str,
    path: Path,
    sensitive: list[str],
    truth: Labeller,
    predicted: Labeller,
    columns: list[str] | None = None,
    batch_rows: int = 1 << 20,
) -> pd.Series:
    """One task per file of the dataset on the Dask cluster at ``executor``
    (``dask://HOST:PORT``), each returning its file's cell counts; their sum."""
    from auditkit.plugins.execute.dask import address_of, connect

    from auditkit.data import dataset_files

    files = dataset_files(path)
    if not files:
        raise DataError(f"{path}: a folder with no .parquet files; point it at a Parquet dataset")
    client = connect(address_of(executor), executor)
    try:
        futures = client.map(
            _file_counts,
            [str(f) for f in files],
            base=str(path),
            sensitive=sensitive,
            truth=truth,
            predicted=predicted,
            columns=columns,
            batch_rows=batch_rows,
            pure=False,
        )
        parts = client.gather(futures)
    finally:
        client.close()
    return _sum(parts)


def _file_counts(
    file: str, base: str, sensitive: list[str], truth: Labeller, predicted: Labeller,
    columns: list[str] | None, batch_rows: int,
) -> pd.Series:
    """On a worker: one file's cell counts (its hive columns from its path under ``base``)."""
    from auditkit.plugins.loaders.tabular import parquet_batches

    batches = parquet_batches(Path(base), columns, batch_rows, files=[Path(file)])
    return cell_counts(batches, sensitive, truth, predicted)


def _sum(parts: Iterable[pd.Series]) -> pd.Series:
    total: pd.Series | None = None
    for counts in parts:
        total = counts if total is None else total.add(counts, fill_value=0)
    if total is None:
        raise ValueError("no rows: the dataset has no batches")
    return total.astype(np.int64).sort_index()


def group_confusion(counts: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Per group of ``columns`` (one feature, or several: their intersection), the summed
    confusion entries tn, fp, fn, tp; rows with a missing value in any of them left out."""
    frame = counts.rename("rows").reset_index()
    present = np.ones(len(frame), dtype=bool)
    for column in columns:
        present &= (frame[column] != MISSING_GROUP).to_numpy()
    frame = frame[present]
    group = frame[columns[0]] if len(columns) == 1 else frame[columns].agg(INTERSECTION_SEP.join, axis=1)
    cell = frame["y"].astype(int) * 2 + frame["yhat"].astype(int)  # 0 tn, 1 fp, 2 fn, 3 tp
    table = frame.assign(group=group.to_numpy(), cell=cell.to_numpy()).pivot_table(
        index="group", columns="cell", values="rows", aggfunc="sum", fill_value=0
    )
    table = table.reindex(columns=range(4), fill_value=0)
    table.columns = ["tn", "fp", "fn", "tp"]
    return table.sort_index()


def group_metrics(counts: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Every binary count metric per group (n, selection rate, TPR, FPR, accuracy, …), from
    the summed counts by the audit's own functions."""
    confusion = group_confusion(counts, columns)
    metrics = engine.confusion_metrics(confusion.to_numpy(dtype=float), ["0", "1"], binary=True)
    return pd.DataFrame(metrics, index=confusion.index)
