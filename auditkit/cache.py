"""The prediction cache: re-running an audit with the same inputs does no inference.

Entries live under ``OUT/.cache/predictions/<key>.npz``; the key hashes the weights,
the data file, the rows chosen and every config value that changes predictions. Entries
are written atomically and read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from auditkit.hashing import value_sha256
from auditkit.model import Predictions

CACHE_VERSION = 1


def cache_key(parts: dict[str, Any]) -> str:
    return value_sha256({"cache_version": CACHE_VERSION, **parts})


def cache_file(out_root: Path, key: str) -> Path:
    return out_root / ".cache" / "predictions" / f"{key}.npz"


def load(path: Path) -> Predictions | None:
    """The cached predictions, or None when absent or unreadable (then they are recomputed)."""
    import numpy as np

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
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
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
