"""Streaming sha256 of files and of small JSON-able values (cache keys, report ids)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The file's digest. A file met again unchanged (same inode, size, mtime and ctime) is
    not read again: the loader and the training record both hash the weights. As git does
    for its index, a file changed within the last seconds before it was read is always
    read again, since a write that quick after it might leave its times unchanged."""
    stat = os.stat(path)
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    name = os.fspath(path)
    if name in _seen and _seen[name][0] == key:
        return _seen[name][1]
    started = time.time_ns()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    if max(stat.st_mtime_ns, stat.st_ctime_ns) < started - _SETTLED_NS:
        _seen[name] = (key, digest.hexdigest())
    return digest.hexdigest()


# path → (stat key, sha256) of settled files this process hashed
_seen: dict[str, tuple[tuple[int, ...], str]] = {}
_SETTLED_NS = 2_000_000_000


def files_sha256(paths: Iterable[Path]) -> str:
    """One digest over several files (sharded weights), in the order given."""
    paths = list(paths)
    if len(paths) == 1:
        return file_sha256(paths[0])
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def value_sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def arrays_sha256(*arrays: Any) -> str:
    """One digest of NumPy arrays: each one's dtype, shape and bytes."""
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
