"""The prediction cache: re-running an audit with the same inputs does no inference.

Entries live under ``OUT/.cache/predictions/<key>.npz``; the key hashes the weights,
the data file, the rows chosen and every config value that changes predictions. Entries
are written atomically and read with ``allow_pickle=False``.

The output folder is not trusted: a delivery can ship a prepared ``auditkit-reports/.cache``.
Every entry is sealed with the reviewer's key (:mod:`auditkit.reviewer_home`); an entry
whose seal does not verify is a miss, so the model runs and the entry is written again.
A cache folder inside the model dir being audited is not used at all (:func:`usable`).

While predicting, each finished chunk of rows is saved under ``<key>.parts/``, so a run
interrupted (Ctrl-C, SIGTERM, a crash) resumes where it stopped instead of starting over.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import reviewer_home
from auditkit.audit import Predictions
from auditkit.hashing import value_sha256

if TYPE_CHECKING:
    import pandas as pd

CACHE_VERSION = 1
TMP_PREFIX = ".tmp-"  # + pid: a file a dead run left half-written is recognised and removed
CHUNK_ROWS = 1024  # rows per saved chunk: small enough that an interruption loses little


def cache_key(parts: dict[str, Any]) -> str:
    return value_sha256({"cache_version": CACHE_VERSION, **parts})


def cache_file(out_root: Path, key: str) -> Path:
    return out_root / ".cache" / "predictions" / f"{key}.npz"


def usable(out_root: Path, model_dir: Path | str | None) -> bool:
    """Whether caches under ``out_root`` may be used when auditing ``model_dir``: not when
    they lie inside it (the vendor wrote that folder), nor without a reviewer's key."""
    if model_dir is not None:
        from auditkit.outputs import within

        if within(out_root, Path(model_dir)):
            return False
    return reviewer_home.cache_key() is not None


def read_sealed(path: Path) -> bytes | None:
    """The payload of a cache file this reviewer's runs wrote, else None (absent, forged,
    renamed from another entry, half-written)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return reviewer_home.unseal(reviewer_home.context_of(path), data)


def write_sealed(path: Path, payload: bytes) -> None:
    """Atomically write ``payload`` sealed with the reviewer's key (nothing without a key);
    the temporary name is one :func:`auditkit.outputs.clean_stale_staging` recognises."""
    from auditkit.outputs import atomic_write_bytes

    sealed = reviewer_home.seal(reviewer_home.context_of(path), payload)
    if sealed is not None:
        atomic_write_bytes(path, sealed, tmp_prefix=f"{TMP_PREFIX}{os.getpid()}-")


def load(path: Path) -> Predictions | None:
    """The cached predictions, or None when absent, unreadable or not sealed by this
    reviewer (then they are recomputed)."""
    import numpy as np

    payload = read_sealed(path)
    if payload is None:
        return None
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return Predictions(
                labels=np.asarray(data["labels"].astype(str), dtype=object),
                classes=list(meta["classes"]),
                proba=data["proba"] if "proba" in data.files else None,
                scores=data["scores"] if "scores" in data.files else None,
                token_labels=meta.get("token_labels"),
                source="cache",
                seconds=float(meta.get("seconds", 0.0)),
            )
    except Exception:  # a truncated or foreign file is a cache miss, not an error
        return None


def save(path: Path, predictions: Predictions) -> None:
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        "labels": np.asarray(predictions.labels, dtype=str),
        "meta": np.asarray(
            json.dumps(
                {
                    "classes": predictions.classes,
                    "token_labels": predictions.token_labels,
                    "seconds": predictions.seconds,
                }
            )
        ),
    }
    if predictions.proba is not None:
        arrays["proba"] = np.asarray(predictions.proba)
    if predictions.scores is not None:
        arrays["scores"] = np.asarray(predictions.scores)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_sealed(path, buffer.getvalue())


def parts_dir(path: Path) -> Path:
    return path.with_suffix(".parts")


def predict_in_chunks(
    predict: Callable[[pd.DataFrame], Predictions],
    frame: pd.DataFrame,
    path: Path,
    rows: int = CHUNK_ROWS,
) -> tuple[Predictions, int]:
    """Predict ``frame`` chunk by chunk, saving each chunk, reusing chunks saved earlier.

    Returns the predictions for every row and how many rows came from saved chunks.
    When all rows are done the chunks are merged into the one cache entry ``path``.
    """
    folder = parts_dir(path)
    parts: list[Predictions] = []
    reused = 0
    for start in range(0, len(frame), rows):
        stop = min(start + rows, len(frame))
        part_path = folder / f"{start:012d}-{stop:012d}.npz"
        part = load(part_path)
        if part is not None and len(part.labels) == stop - start:
            reused += stop - start
        else:
            part = predict(frame.iloc[start:stop])
            if len(part.labels) != stop - start:
                return part, reused  # the caller reports the wrong count
            _try_save(part_path, part)
        parts.append(part)
    merged = concat(parts)
    merged.source = "cache" if reused == len(frame) else "model"
    if _try_save(path, merged):
        shutil.rmtree(folder, ignore_errors=True)
    return merged, reused


def saved_rows(path: Path, total: int, rows: int = CHUNK_ROWS) -> int:
    """How many of ``total`` rows an earlier, interrupted run already predicted."""
    folder = parts_dir(path)
    if not folder.is_dir():
        return 0
    return sum(
        min(start + rows, total) - start
        for start in range(0, total, rows)
        if read_sealed(folder / f"{start:012d}-{min(start + rows, total):012d}.npz") is not None
    )


def _try_save(path: Path, predictions: Predictions) -> bool:
    """The cache only saves time: a full disk must not fail the audit here (the reports,
    written next, say so if the disk is still full)."""
    try:
        save(path, predictions)
    except OSError:
        return False
    return True


def concat(parts: list[Predictions]) -> Predictions:
    """One Predictions from consecutive chunks (rows in order)."""
    import numpy as np

    first = parts[0]
    token_labels = None
    if first.token_labels is not None:
        token_labels = [tags for part in parts for tags in part.token_labels or []]
    return Predictions(
        labels=np.concatenate([np.asarray(p.labels, dtype=object) for p in parts]),
        classes=list(first.classes),
        proba=None if first.proba is None else np.vstack([p.proba for p in parts]),
        scores=None if first.scores is None else np.concatenate([p.scores for p in parts]),
        token_labels=token_labels,
        source=first.source,
        seconds=float(sum(p.seconds for p in parts)),
    )
