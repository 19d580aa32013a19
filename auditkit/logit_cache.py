"""Logits of every text a model was already asked about, so a re-run does no inference.

The prediction cache (:mod:`auditkit.cache`) holds the evaluation rows; plugins also run
the model on texts of their own (counterfactual variants, membership samples). A handle
that supports it looks each text up here first and runs the model only on the rest, so
the second run of an unchanged audit never calls the model, and a text met twice in one
run (an original sentence in a counterfactual pair that is also an evaluation row) is
predicted once.

One file per model key, ``OUT/.cache/logits/<key>.npz``: the texts (UTF-8 bytes and end
offsets) and their logits, written atomically at the end of a run, read with
``allow_pickle=False``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditkit.hashing import value_sha256

if TYPE_CHECKING:
    import numpy as np

TMP_PREFIX = ".tmp-"


def logit_cache_file(out_root: Path, model_key: str) -> Path:
    return out_root / ".cache" / "logits" / f"{value_sha256(['logits', model_key])}.npz"


class LogitCache:
    """text → logits row for one model; ``path`` None keeps it in memory only."""

    def __init__(self, path: Path | None = None, read: bool = True) -> None:
        self.path = path
        self.rows: dict[str, np.ndarray] = {}
        self.used: set[str] = set()  # texts this run asked for: the file keeps only those
        self.added = 0
        if path is not None and read:
            self._read(path)

    def fill(self, texts: Sequence[str], out: np.ndarray) -> list[int]:
        """Copy known logits into ``out``; return the indices of texts still to predict."""
        todo = []
        for i, text in enumerate(texts):
            row = self.rows.get(text)
            if row is not None and row.shape == out.shape[1:]:
                out[i] = row
                self.used.add(text)
            else:
                todo.append(i)
        return todo

    def add(self, texts: Sequence[str], logits: np.ndarray) -> None:
        for text, row in zip(texts, logits, strict=True):
            if text not in self.rows:
                self.added += 1
            self.rows[text] = row
            self.used.add(text)

    def save(self) -> bool:
        """Write the texts this run used, when that changes the file; False when the disk
        refused (not an error: the cache only saves time)."""
        import numpy as np

        if self.path is None or not self.used or (not self.added and len(self.used) == len(self.rows)):
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = [t for t in self.rows if t in self.used]
            fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".npz", dir=self.path.parent)
            try:
                encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
                with os.fdopen(fd, "wb") as handle:
                    np.savez(
                        handle,
                        text_bytes=np.frombuffer(b"".join(encoded), dtype=np.uint8),
                        text_ends=np.cumsum([len(b) for b in encoded], dtype=np.int64),
                        logits=np.stack([self.rows[t] for t in texts]),
                    )
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return False
        self.added = 0
        return True

    def _read(self, path: Path) -> None:
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as data:
                blob, ends, logits = data["text_bytes"].tobytes(), data["text_ends"].tolist(), data["logits"]
            if logits.ndim != 2 or len(ends) != len(logits):
                return
            starts = [0, *ends[:-1]]
            texts = [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends, strict=True)]
            self.rows = dict(zip(texts, logits, strict=True))
        except Exception:  # truncated or foreign: a miss, the model runs again
            self.rows = {}
