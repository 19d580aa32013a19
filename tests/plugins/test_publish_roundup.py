"""End to end against a real tracker: Roundup 2.6 (tests/support_roundup.py) on 127.0.0.1.
Publishing three times attaches each file content once and keeps one message, edited in
place; read back through Roundup's own REST API."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from auditkit.testing import run_cli

pytest.importorskip("roundup", reason="Roundup is in auditkit's test extra: pip install 'roundup==2.6.*'")


def _support() -> Any:
    """tests/support_roundup.py by its path: tests/ on sys.path would shadow the auditkit package."""
    spec = importlib.util.spec_from_file_location("support_roundup", Path(__file__).parents[1] / "support_roundup.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["support_roundup"] = module  # the dataclass looks its module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


support = _support()
Tracker = support.Tracker


@pytest.fixture(scope="module")
def tracker():
    with support.roundup_tracker() as running:
        yield running


def rest(tracker: Tracker, path: str) -> dict:
    """GET through Roundup's REST API, as its CSRF checks want it."""
    auth = base64.b64encode(f"{tracker.user}:{tracker.password}".encode()).decode()
    request = urllib.request.Request(
        f"{tracker.url}rest/data/{path}",
        headers={"Authorization": f"Basic {auth}", "X-Requested-With": "rest", "Referer": tracker.url,
                 "Origin": tracker.url.split("/tracker/")[0], "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["data"]


def download(tracker: Tracker, file_id: str, name: str) -> bytes:
    auth = base64.b64encode(f"{tracker.user}:{tracker.password}".encode()).decode()
    request = urllib.request.Request(f"{tracker.url}file{file_id}/{name}", headers={"Authorization": f"Basic {auth}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read()


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """A report folder as auditkit run writes it (hand-written files: the tracker is under test)."""
    folder = tmp_path / "out" / "bert-tiny"
    folder.mkdir(parents=True)
    (folder / "summary.md").write_text("# bert-tiny: warn\n\nThe calibration is off. Nothing else.\n", encoding="utf-8")
    (folder / "compliance.pdf").write_bytes(b"%PDF-1.4\n\x00\xff binary body")
    return folder


def publish(tracker: Tracker, report: Path, monkeypatch: pytest.MonkeyPatch, password: str | None = None):
    monkeypatch.setenv("ROUNDUP_URL", tracker.url)
    monkeypatch.setenv("ROUNDUP_USER", tracker.user)
    monkeypatch.setenv("ROUNDUP_PASSWORD", password or tracker.password)
    return run_cli(["publish", report, "--to", f"roundup:issue{tracker.issue}"])


def test_publish_three_times_files_once_one_message(tracker, report, monkeypatch, written_report):
    shutil.copy(written_report / "audit.json", report / "audit.json")
    for _ in range(2):
        result = publish(tracker, report, monkeypatch)
        assert result.exit_code == 0, result.stderr
    issue = rest(tracker, f"issue/{tracker.issue}")["attributes"]
    assert len(issue["messages"]) == 1
    files = {rest(tracker, f"file/{f['id']}")["attributes"]["name"]: f["id"] for f in issue["files"]}
    expected = {f"bert-tiny-{hashlib.sha256(p.read_bytes()).hexdigest()[:12]}-{p.name}": p for p in report.iterdir()}
    assert set(files) == set(expected)  # three files, each once, though published twice
    for name, path in expected.items():
        assert download(tracker, files[name], name) == path.read_bytes()

    (report / "summary.md").write_text("# bert-tiny: warn\n\nRe-audited. The calibration is fixed.\n")
    result = publish(tracker, report, monkeypatch)
    assert result.exit_code == 0, result.stderr
    issue = rest(tracker, f"issue/{tracker.issue}")["attributes"]
    assert len(issue["messages"]) == 1 and len(issue["files"]) == 4  # the new summary, nothing else again
    content = rest(tracker, f"msg/{issue['messages'][0]['id']}/content")["data"]
    assert content.splitlines()[0] == "auditkit:model=bert-tiny"
    assert "Re-audited. The calibration is fixed." in content and "The calibration is off." not in content


def test_wrong_password_is_one_line_exit_4(tracker, report, monkeypatch, written_report):
    shutil.copy(written_report / "audit.json", report / "audit.json")
    before = {p.name: p.read_bytes() for p in report.iterdir()}
    result = publish(tracker, report, monkeypatch, password="wrong")
    assert result.exit_code == 4
    line = result.stderr.strip()
    assert "\n" not in line and f"roundup:issue{tracker.issue}" in line and "ROUNDUP_PASSWORD" in line
    assert "wrong" not in line.replace("wrong-password", "")
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before
