"""The reviewer's approvals: model-dir ``auditkit.toml`` files they wrote or reviewed.

A model dir's config is the vendor's unless the reviewer approved that exact file, as
direnv approves an ``.envrc``: ``auditkit init`` approves what it writes, ``auditkit trust
DIR`` approves a file the reviewer has read. An approval holds the file's sha256, so any
change to the file (by the vendor, or by the reviewer) makes it the vendor's again until
it is approved anew. The store lives on the reviewer's machine, outside every model dir.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from auditkit.config import MAX_CONFIG_BYTES
from auditkit.errors import UsageError
from auditkit.outputs import atomic_write_text
from auditkit.reviewer_home import home

STORE_NAME = "trusted-configs.json"


def _store() -> Path:
    return home() / STORE_NAME


def _read() -> dict[str, str]:
    try:
        data = json.loads(_store().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _digest(path: Path) -> str:
    # read afresh every time (no stat cache): an edit must revoke the approval at once
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(MAX_CONFIG_BYTES + 1)).hexdigest()


def is_approved(path: Path) -> bool:
    """True when the reviewer approved this file with its present content."""
    try:
        key = str(path.resolve())
        return _read().get(key) == _digest(path)
    except OSError:
        return False


def approve(path: Path) -> None:
    """Record the file's present content as the reviewer's own (mode 0600 store)."""
    entries = _read()
    entries[str(path.resolve())] = _digest(path)
    _write(entries)


def revoke(path: Path) -> None:
    entries = _read()
    entries.pop(str(path.resolve()), None)
    _write(entries)


def _write(entries: dict[str, str]) -> None:
    store = _store()
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(store, json.dumps(entries, indent=1, sort_keys=True) + "\n")
        os.chmod(store, 0o600)
    except OSError as exc:
        raise UsageError(
            f"{store}: cannot record the approval ({exc.strerror}); set AUDITKIT_HOME to a folder you can write"
        ) from None
