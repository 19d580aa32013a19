"""Atomic outputs: every report is written to a private staging folder, then renamed.

A reader (or a second ``auditkit run`` on the same folder) never sees half a report; an
interrupted run leaves the previous reports untouched. A run killed outright (SIGKILL,
power loss) leaves its staging folder behind: it is named after its process, so the next
run removes it as soon as that process is gone. Concurrent runs commit one at a time
(a lock file), so each model's folder holds one run's complete set of reports.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from auditkit.errors import UsageError

STAGING_PREFIX = ".staging-"
STALE_SECONDS = 24 * 3600
LOCK_FILE = ".lock"


def disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_full_message(exc: OSError, kept: Path, plugin: str | None = None) -> str:
    """One line for a full disk: what failed, that the previous reports are intact, the fix."""
    what = Path(exc.filename).name if exc.filename else f"the {plugin} report" if plugin else "the reports"
    return (
        f"no space left on device while writing {what}: nothing of this run was moved into {kept}, "
        "so the reports there are the previous ones, intact; free space and run again"
    )


def atomic_write_bytes(path: Path, data: bytes, tmp_prefix: str | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file (named ``tmp_prefix``…, by
    default after ``path``) and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=tmp_prefix or f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, tmp_prefix: str | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), tmp_prefix)


def new_staging(out_root: Path) -> Path:
    """A fresh private folder under ``out_root`` for this run's files, named after this process."""
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        clean_stale_staging(out_root)
        owner = f"{os.getpid()}@{socket.gethostname()}~"
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + owner, dir=out_root))
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"--out {out_root}: a file is in the way of the output folder; pass another --out") from None
    except PermissionError:
        raise UsageError(f"--out {out_root}: no permission to write the output folder; pass another --out") from None
    except OSError as exc:  # a read-only file system, a path that cannot exist (/proc/…)
        if disk_full(exc):
            raise
        why = exc.strerror or type(exc).__name__
        raise UsageError(f"--out {out_root}: cannot write the output folder ({why}); pass another --out") from None


def clean_stale_staging(out_root: Path) -> None:
    """Remove what dead runs left: their staging folders and half-written cache files.

    A live run's files are kept (another ``auditkit run`` may be writing right now);
    files of another host's runs are removed only once they are a day old.
    """
    from auditkit.cache import TMP_PREFIX

    now = time.time()
    leftovers = list(out_root.glob(STAGING_PREFIX + "*")) + list(out_root.glob(f".cache/**/{TMP_PREFIX}*"))
    for entry in leftovers:
        try:
            stale = now - entry.stat().st_mtime > STALE_SECONDS
        except OSError:
            continue
        if stale or _owner_is_dead(entry.name):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _owner_is_dead(name: str) -> bool:
    """``.staging-<pid>@<host>~…`` or ``.tmp-<pid>-…``: is <pid> gone on this host?"""
    from auditkit.cache import TMP_PREFIX

    if name.startswith(STAGING_PREFIX):
        owner, sep, _ = name[len(STAGING_PREFIX) :].partition("~")
        pid, _, host = owner.partition("@")
        if not sep or host != socket.gethostname():
            return False
    else:
        pid = name[len(TMP_PREFIX) :].partition("-")[0]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


@contextlib.contextmanager
def out_lock(out_root: Path) -> Iterator[None]:
    """Hold the output folder's lock: one run at a time moves its files into place."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: renames stay atomic per file
        yield
        return
    out_root.mkdir(parents=True, exist_ok=True)
    with open(out_root / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


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
