"""Logits of every text a model was already asked about, so a re-run does no inference.

The prediction cache (:mod:`auditkit.cache`) holds the evaluation rows; plugins also run
the model on texts of their own (counterfactual variants, membership samples). A handle
that supports it looks each text up here first and runs the model only on the rest, so
the second run of an unchanged audit never calls the model, and a text met twice in one
run (an original sentence in a counterfactual pair that is also an evaluation row) is
predicted once.

One file per model key, ``OUT/.cache/logits/<key>.npz``: the SHA-256 of each text and its
logits, written atomically at the end of a run, sealed with the reviewer's key (a file
whose seal does not verify is a miss: see :mod:`auditkit.cache`), read with
``allow_pickle=False``. The texts themselves are never written: evaluation data may hold
personal data, and a cache folder must not become a second copy of it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from auditkit.cache import read_sealed, write_sealed
from auditkit.hashing import value_sha256

if TYPE_CHECKING:
    import numpy as np


def logit_cache_file(out_root: Path, model_key: str) -> Path:
    return out_root / ".cache" / "logits" / f"{value_sha256(['logits', model_key])}.npz"


def text_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class LogitCache:
    """text digest → logits row for one model; ``path`` None keeps it in memory only."""

    def __init__(self, path: Path | None = None, read: bool = True) -> None:
        self.path = path
        self.rows: dict[bytes, np.ndarray] = {}
        self.used: set[bytes] = set()  # texts this run asked for: the file keeps only those
        self.added = 0
        if path is not None and read:
            self._read(path)

    def back_with(self, path: Path) -> None:
        """Keep this cache in ``path`` from now on: what an earlier run saved there is read
        (logits this run already holds win), and :meth:`save` writes there. The host calls
        it on the cache a handle's ``caches()`` names, so the handle keeps its own object."""
        held = self.rows
        self.path = path
        self._read(path)
        self.rows.update(held)

    def fill(self, texts: Sequence[str], out: np.ndarray) -> list[int]:
        """Copy known logits into ``out``; return the indices of texts still to predict."""
        return self.lookup(texts, out)[0]

    def lookup(self, texts: Sequence[str], out: np.ndarray) -> tuple[list[int], list[bytes]]:
        """:meth:`fill`, also returning the digests of the texts still to predict, so that
        storing their logits (:meth:`add_digests`) does not hash them again."""
        todo: list[int] = []
        missing: list[bytes] = []
        for i, text in enumerate(texts):
            key = text_digest(text)
            row = self.rows.get(key)
            if row is not None and row.shape == out.shape[1:]:
                out[i] = row
                self.used.add(key)
            else:
                todo.append(i)
                missing.append(key)
        return todo, missing

    def add(self, texts: Sequence[str], logits: np.ndarray) -> None:
        self.add_digests([text_digest(text) for text in texts], logits)

    def add_digests(self, digests: Sequence[bytes], logits: np.ndarray) -> None:
        for key, row in zip(digests, logits, strict=True):
            if key not in self.rows:
                self.added += 1
            self.rows[key] = row
            self.used.add(key)

    def save(self) -> bool:
        """Write the texts this run used, when that changes the file; False when the disk
        refused (not an error: the cache only saves time)."""
        import numpy as np

        if self.path is None or not self.used or (not self.added and len(self.used) == len(self.rows)):
            return True
        keys = [k for k in self.rows if k in self.used]
        buffer = io.BytesIO()
        np.savez(
            buffer,
            digests=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32),
            logits=np.stack([self.rows[k] for k in keys]),
        )
        try:
            write_sealed(self.path, buffer.getvalue())
        except OSError:
            return False
        self.added = 0
        return True

    def _read(self, path: Path) -> None:
        import numpy as np

        payload = read_sealed(path)
        if payload is None:  # absent, or not written by this reviewer's runs
            return
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as data:
                digests, logits = data["digests"], data["logits"]
            if logits.ndim != 2 or digests.shape != (len(logits), 32) or digests.dtype != np.uint8:
                return
            self.rows = {bytes(d): row for d, row in zip(digests, logits, strict=True)}
        except Exception:  # truncated or foreign: a miss, the model runs again
            self.rows = {}
