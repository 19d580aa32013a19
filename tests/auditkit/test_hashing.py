"""File digests: a settled file is read once per process, a changed one always again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from auditkit import hashing


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths hashing opens, with a fresh memo."""
    seen: list[str] = []

    def counting(path, *args, **kwargs):
        seen.append(os.fspath(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(hashing, "_seen", {})
    monkeypatch.setattr(hashing, "open", counting, raising=False)
    return seen


def test_a_settled_file_is_read_once_and_a_rewritten_one_again(
    tmp_path: Path, opens: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "_SETTLED_NS", 0)  # any file written before the read counts as settled
    path = tmp_path / "w.bin"
    path.write_bytes(b"a" * 3_000_000)
    first = hashing.file_sha256(path)
    assert hashing.file_sha256(path) == first == hashlib.sha256(b"a" * 3_000_000).hexdigest()
    assert len(opens) == 1
    path.write_bytes(b"b" * 3_000_000)  # same size, same inode
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new mtime even on a coarse clock
    assert hashing.file_sha256(path) == hashlib.sha256(b"b" * 3_000_000).hexdigest()
    assert len(opens) == 2


def test_a_file_written_just_now_is_read_every_time(tmp_path: Path, opens: list[str]) -> None:
    """Its times may not change if it is written again within the clock's granularity."""
    path = tmp_path / "w.bin"
    path.write_bytes(b"fresh")
    hashing.file_sha256(path)
    path.write_bytes(b"FRESH")
    assert hashing.file_sha256(path) == hashlib.sha256(b"FRESH").hexdigest()
    assert len(opens) == 2
