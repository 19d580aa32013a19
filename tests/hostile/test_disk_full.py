"""Disk full while writing the reports: one line that says so, and the previous reports stay whole.

Two ways to fill the disk: ``Path.write_bytes`` of the PDF raises ENOSPC halfway (every
machine), and a real 8 MB tmpfs filled to the brim (root only; skipped elsewhere).
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from auditkit import hookimpl
from auditkit.testing import run_cli

try:
    import auditkit.plugins.render.pdf_report  # noqa: F401

    HAVE_PDF = True
except ImportError:  # the reports branch is not merged here yet: a stand-in writes the PDF
    HAVE_PDF = False


class StandInPdf:
    """Writes compliance.pdf the way the real renderer does (``Path.write_bytes``)."""

    @staticmethod
    @hookimpl
    def auditkit_render(audit, out_dir, formats):
        path = Path(out_dir) / "compliance.pdf"
        path.write_bytes(b"%PDF-1.7\n" + audit.report_id.encode() * 500)
        return [path]


@pytest.fixture
def pdf_plugins(monkeypatch) -> list[str]:
    """CLI flags that make a PDF be written: the real renderer, or the stand-in."""
    if HAVE_PDF:
        return []
    import sys
    import types

    module = types.ModuleType("ak_stand_in_pdf")
    module.auditkit_render = StandInPdf.auditkit_render
    monkeypatch.setitem(sys.modules, "ak_stand_in_pdf", module)
    return ["-p", "ak_stand_in_pdf"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _leftovers(out: Path) -> list[Path]:
    return [*out.glob(".staging-*"), *out.rglob(".tmp-*"), *out.rglob(".*.tmp")]


def _assert_disk_full_reported(result, out: Path, before: dict[str, bytes]) -> None:
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "no space left on device" in line]
    assert len(errors) == 1, result.stderr
    assert "the reports there are the previous ones, intact; free space and run again" in errors[0]
    assert _snapshot(out / "tox-v3") == before, "the previous reports must survive, all of them"
    assert not _leftovers(out)


@pytest.mark.slow
def test_pdf_write_fails_with_enospc(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch, pdf_plugins, lean_flags
) -> None:
    out = tmp_path / "out"
    formats = ["--format", "json,md,html,pdf", *lean_flags]
    first = run_cli(["run", tiny_model_dir, "--out", out, *formats, *pdf_plugins])
    assert (out / "tox-v3" / "compliance.pdf").is_file(), first.stderr
    before = _snapshot(out / "tox-v3")

    real_write = Path.write_bytes

    def full_disk(self: Path, data: bytes) -> int:
        if self.suffix != ".pdf":
            return real_write(self, data)
        real_write(self, data[: len(data) // 2])  # half a file, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    again = run_cli(["run", tiny_model_dir, "--out", out, *formats, *pdf_plugins, "--set", "data.max_rows=50"])
    _assert_disk_full_reported(again, out, before)
    assert "while writing compliance.pdf" in again.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A real 8 MB tmpfs (needs root and mount); unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.slow
def test_real_full_disk(tiny_model_dir: Path, tiny_disk: Path, pdf_plugins, lean_flags) -> None:
    out = tiny_disk / "out"
    formats = ["--format", "json,md,html,pdf", *lean_flags]
    first = run_cli(["run", tiny_model_dir, "--out", out, *formats, *pdf_plugins])
    assert (out / "tox-v3" / "audit.json").is_file(), first.stderr
    before = _snapshot(out / "tox-v3")
    stat = os.statvfs(tiny_disk)
    with open(tiny_disk / "filler", "wb") as handle:  # leave 8 KB: less than any report set
        handle.truncate(0)
        handle.write(b"\0" * (stat.f_bavail * stat.f_frsize - 8192))
    again = run_cli(["run", tiny_model_dir, "--out", out, *formats, *pdf_plugins, "--set", "data.max_rows=50"])
    _assert_disk_full_reported(again, out, before)


def test_disk_full_before_any_audit(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The staging folder itself cannot be made: still one line, no traceback."""
    import tempfile

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "out"))

    monkeypatch.setattr(tempfile, "mkdtemp", no_space)
    result = run_cli(["run", tiny_model_dir, "--out", tmp_path / "out", "--format", "json"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("auditkit: error: no space left on device")
