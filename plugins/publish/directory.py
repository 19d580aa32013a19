"""Publishes reports to a review ticket's attachment folder: ``--publish dir:PATH``.

The folder ``PATH/<model>/`` receives the report files (each with its source's mode: a
folder shared with reviewers gets what the report folder has) and ``ticket-comment.md``
(the summary to paste as the ticket comment). A file whose content is already there is
not written again. The folder is checked (creatable, writable) before an audit starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from auditkit.plugins.publish.bundle import describe, dry_run, file_sha256, read_bundle, safe_name

from auditkit import hookimpl
from auditkit.errors import PublishError, UsageError
from auditkit.outputs import atomic_write_bytes


@hookimpl(trylast=True)
def auditkit_publish(audit: Any, files: list[Path], target: str) -> str | None:
    if not target.startswith("dir:"):
        return None
    if not target[4:].strip():
        raise UsageError(f"{target}: expected dir:PATH, e.g. dir:/srv/tickets/REVIEW-12")
    root = Path(target[4:]).expanduser()
    check_writable(root, target)
    if not files:
        return str(root)
    bundle = read_bundle(files, audit)
    folder = root / safe_name(bundle.model)
    if dry_run():
        return describe(bundle, target, f"copies in {folder}", bundle.summary, 0)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for f in bundle.files:
            _copy(f.path, folder / f.name, f.mode)
        if bundle.file("summary.md") is not None:
            summary = bundle.file("summary.md")
            _copy(summary.path, folder / "ticket-comment.md", summary.mode)  # type: ignore[union-attr]
    except OSError as exc:
        where = exc.filename or folder
        raise PublishError(f"{target}: cannot write {where} ({exc.strerror}); check the folder") from None
    return str(folder)


def _copy(source: Path, dest: Path, mode: int) -> None:
    if dest.is_file() and not dest.is_symlink() and file_sha256(dest) == file_sha256(source):
        os.chmod(dest, mode)
        return
    atomic_write_bytes(dest, source.read_bytes())
    os.chmod(dest, mode)  # mkstemp made it 0600; the reviewers get the report folder's mode


def check_writable(root: Path, target: str) -> None:
    """The folder, or the nearest existing parent it would be made in, must be writable."""
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{target}: {probe} is not a writable folder; choose a folder you can write")
