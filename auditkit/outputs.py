"""Atomic outputs: every report is written to a private staging folder, then renamed.

A reader (or a second ``auditkit run`` on the same folder) never sees half a report; an
interrupted run leaves the previous reports untouched and only a stale staging folder,
which the next run removes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

STAGING_PREFIX = ".staging-"
STALE_SECONDS = 24 * 3600


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def new_staging(out_root: Path) -> Path:
    """A fresh private folder under ``out_root`` for this run's files."""
    out_root.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(out_root)
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_root))


def clean_stale_staging(out_root: Path) -> None:
    """Remove staging folders of runs that died long ago (not those of live runs)."""
    now = time.time()
    for entry in out_root.glob(STAGING_PREFIX + "*"):
        try:
            if now - entry.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def within(path: Path, folder: Path) -> bool:
    """Whether ``path`` (symlinks followed) lies inside ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def commit(staged: list[Path], staging_dir: Path, target_dir: Path) -> list[Path]:
    """Move each staged file into ``target_dir`` with ``os.replace`` (atomic per file).

    A path outside ``staging_dir`` is skipped: only what this run wrote is moved.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in staged:
        if not within(path, staging_dir) or path.is_symlink():
            continue
        relative = path.relative_to(staging_dir)
        destination = target_dir / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)
        moved.append(destination)
    return moved
