"""Publishes reports to a review ticket's attachment folder: ``--publish dir:PATH``.

The folder receives the report files and ``ticket-comment.md`` (the summary to paste
as the ticket comment). Other ticket systems are third-party plugins on the same hook.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from auditkit import Audit, hookimpl
from auditkit.outputs import atomic_write_bytes


@hookimpl(trylast=True)
def auditkit_publish(audit: Audit, files: list[Path], target: str) -> str | None:
    if not target.startswith("dir:"):
        return None
    folder = Path(target[4:]).expanduser() / audit.model.name
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        atomic_write_bytes(folder / path.name, path.read_bytes())
    summary = next((p for p in files if p.name == "summary.md"), None)
    if summary is not None:
        shutil.copyfile(summary, folder / "ticket-comment.md")
    return str(folder)
