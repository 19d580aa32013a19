"""Publishing to GitHub, GitLab and Jira, against local servers that speak the documented
subset (tests/plugins/fake_trackers.py), and to dir:; every failure one line, exit 4,
the reports kept."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from auditkit.testing import run_cli

sys.path.insert(0, str(Path(__file__).parent))
import fake_trackers

SUMMARY_ROWS = 3000  # a summary far above Jira's 32,767 characters


@pytest.fixture
def report(written_report: Path, tmp_path: Path) -> Path:
    """A copy of the written report folder, plus a binary file with its own mode (as a PDF report)."""
    import shutil

    folder = tmp_path / "out" / "bert-tiny"
    shutil.copytree(written_report, folder)
    (folder / "compliance.pdf").write_bytes(b"%PDF-1.4\n\x00\x01\x02 binary")
    os.chmod(folder / "compliance.pdf", 0o640)
    return folder


def serious_findings(folder: Path) -> list[tuple[str, str]]:
    """(annotation level, code) of each warn/fail/error finding in audit.json, top level and sections."""
    data = json.loads((folder / "audit.json").read_text())
    findings = [*data["findings"], *(f for s in data["sections"].values() for f in s.get("findings", []))]
    levels = {"warn": "warning", "fail": "failure", "error": "failure"}
    unique = {(f["severity"], f["code"], f["message"]) for f in findings if f["severity"] in levels}
    return sorted((levels[sev], code) for sev, code, _ in unique)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch):
    server, fake = fake_trackers.github()
    monkeypatch.setenv("GITHUB_TOKEN", "gh-token")
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    for name in ("GITHUB_EVENT_PATH", "GITHUB_SHA", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    yield fake
    server.shutdown()


def test_github_twice_one_comment_assets_once_check_run_and_step_summary(report, gh, tmp_path, monkeypatch):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": "cafe1234"}}}))
    summary_file = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_SHA", "merge5678")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))

    first = run_cli(["publish", report, "--to", "github:acme/models#5"])
    assert first.exit_code == 0, first.stderr
    second = run_cli(["publish", report, "--to", "github:acme/models#5"])
    assert second.exit_code == 0, second.stderr

    state = gh.state
    assert len(state["comments"]) == 1  # updated in place, never a second comment
    assert [s.method for s in gh.seen if "/issues/" in s.path and s.method != "GET"] == ["POST", "PATCH"]
    body = state["comments"][0]["body"]
    assert "<!-- auditkit:model=bert-tiny -->" in body and (report / "summary.md").read_text().strip() in body
    names = sorted(a["name"] for a in state["assets"])
    expected = sorted(f"bert-tiny-{sha(p)[:12]}-{p.name}" for p in report.iterdir())
    assert names == expected  # each file once, though published twice
    uploads = [s for s in gh.seen if s.path.startswith("/uploads/")]
    assert len(uploads) == 3
    pdf = next(u for u in uploads if "compliance.pdf" in u.path)
    assert pdf.body == (report / "compliance.pdf").read_bytes() and pdf.headers["content-type"] == "application/pdf"
    assert all(s.headers["authorization"] == "Bearer gh-token" for s in gh.seen)
    check = state["checks"][0]
    verdict = json.loads((report / "audit.json").read_text())["verdict"]
    conclusion = {"pass": "success", "warn": "neutral", "fail": "failure", "error": "failure"}[verdict]
    assert check["head_sha"] == "cafe1234" and check["conclusion"] == conclusion  # the PR head, not the merge
    levels = sorted((a["annotation_level"], a["title"]) for a in check["output"]["annotations"])
    assert levels == serious_findings(report)[:50] and levels
    summary = (report / "summary.md").read_text().strip()
    assert summary_file.read_text().count(summary) == 2  # appended by each run


def test_dry_run_sends_nothing_and_prints_the_comment(report, gh):
    result = run_cli(["publish", report, "--to", "github:acme/models#5", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert gh.seen == []
    assert "would publish bert-tiny" in result.stdout and "<!-- auditkit:model=bert-tiny -->" in result.stdout
    assert sha(report / "compliance.pdf") in result.stdout


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "GITHUB_TOKEN was refused"), (403, "lacks a permission"), (404, "no such repository"),
     (413, "too large")],
)
def test_github_errors_are_one_line_exit_4_reports_kept(report, gh, status, words):
    before = snapshot(report)
    gh.fail.append((r"/uploads/", status, {}))
    result = run_cli(["publish", report, "--to", "github:acme/models#5"])
    assert result.exit_code == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "github:acme/models#5" in lines[0] and words in lines[0] and f"HTTP {status}" in lines[0]
    assert "Traceback" not in result.stderr and "gh-token" not in result.stderr
    assert snapshot(report) == before


def test_rate_limit_retry_after_honoured_once(report, gh):
    gh.fail.append((r"/releases/tags/", 429, {"Retry-After": "1"}))
    ok = run_cli(["publish", report, "--to", "github:acme/models#5"])
    assert ok.exit_code == 0, ok.stderr
    assert len([s for s in gh.seen if "/releases/tags/" in s.path]) == 2  # the refused one, then the retry

    gh.fail.extend([(r"/issues/5/comments", 429, {"Retry-After": "1"})] * 2)
    refused = run_cli(["publish", report, "--to", "github:acme/models#5"])
    assert refused.exit_code == 4
    assert "rate limited" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_gitlab_merge_request_uploads_then_one_note(report, monkeypatch):
    server, fake = fake_trackers.gitlab()
    try:
        monkeypatch.setenv("GITLAB_TOKEN", "gl-token")
        monkeypatch.setenv("GITLAB_URL", fake.url)
        for _ in range(2):
            result = run_cli(["publish", report, "--to", "gitlab:acme/models!3"])
            assert result.exit_code == 0, result.stderr
        assert len(fake.state["notes"]) == 1
        assert [s.method for s in fake.writes() if "/notes" in s.path] == ["POST", "PUT"]
        uploaded = {name: content for name, content in fake.state["uploads"]}
        assert len(fake.state["uploads"]) == 3  # the second run found each sha256 in the note's record
        assert uploaded[f"bert-tiny-{sha(report / 'compliance.pdf')[:12]}-compliance.pdf"] == (
            report / "compliance.pdf").read_bytes()
        assert "/uploads/" in fake.state["notes"][0]["body"]
    finally:
        server.shutdown()


def test_jira_attachments_and_adf_comment_within_its_limit(report, monkeypatch):
    rows = "".join(f"| metric_{i} | {i / 7:.5f} |\n" for i in range(SUMMARY_ROWS))
    (report / "summary.md").write_text(f"# bert-tiny\n\nIntro sentence.\n\n| metric | value |\n| --- | --- |\n{rows}")
    assert len((report / "summary.md").read_text()) > 65_000
    server, fake = fake_trackers.jira()
    try:
        monkeypatch.setenv("JIRA_URL", fake.url)
        monkeypatch.setenv("JIRA_EMAIL", "rev@example.com")
        monkeypatch.setenv("JIRA_API_TOKEN", "jira-token")
        monkeypatch.delenv("JIRA_USER", raising=False)
        monkeypatch.delenv("JIRA_TOKEN", raising=False)
        for _ in range(2):
            result = run_cli(["publish", report, "--to", "jira:AUD-7"])
            assert result.exit_code == 0, result.stderr
        assert len(fake.state["attachments"]) == 3 and len(fake.state["comments"]) == 1
        body = fake.state["comments"][0]["body"]
        text = json.dumps(body, ensure_ascii=False)
        assert len(text) <= 32_767
        table = next(b for b in body["content"] if b["type"] == "codeBlock")["content"][0]["text"]
        assert table.splitlines()[-1].startswith("| metric_") and table.endswith("|")  # cut at a row
        assert "shortened to fit Jira" in text and f"{fake.url}/att/bert-tiny-" in text
        assert "auditkit:model=bert-tiny" in text
    finally:
        server.shutdown()


def test_dir_keeps_the_source_mode_and_skips_unchanged(report, tmp_path):
    ticket = tmp_path / "ticket"
    result = run_cli(["publish", report, "--to", f"dir:{ticket}"])
    assert result.exit_code == 0, result.stderr
    copied = ticket / "bert-tiny" / "compliance.pdf"
    assert stat.S_IMODE(copied.stat().st_mode) == 0o640
    assert (ticket / "bert-tiny" / "ticket-comment.md").read_text() == (report / "summary.md").read_text()


@pytest.mark.parametrize(
    ("target", "env", "words"),
    [
        ("github:acme/models", {}, "expected github:OWNER/REPO#NUMBER"),
        ("github:acme/models#5", {"GITHUB_TOKEN": ""}, "set GITHUB_TOKEN"),
        ("jira:AUD-7", {"JIRA_URL": ""}, "set JIRA_URL"),
        ("gitlab:acme#3", {}, "expected gitlab:GROUP/PROJECT#ISSUE"),
        ("roundup:issue1", {"ROUNDUP_URL": ""}, "set ROUNDUP_URL"),
        ("trac:12", {}, "no publisher knows this target"),
    ],
)
def test_run_checks_the_target_before_the_audit(tmp_path, monkeypatch, target, env, words):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    model = tmp_path / "no-model-here"  # never reached: the target is refused first
    out = tmp_path / "out"
    result = run_cli(["run", model, "--out", out, "--publish", target])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr
    assert not out.exists()


def test_dir_target_must_be_writable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli(["run", tmp_path / "none", "--out", tmp_path / "out", "--publish", f"dir:{blocker}/sub"])
    assert result.exit_code == 2 and "not a writable folder" in result.stderr


def test_run_publish_failure_is_exit_4_with_the_reports_written(written_report, gh, tmp_path):
    model = written_report.parents[1] / "bert-tiny"  # the model dir conftest audited
    gh.fail.append((r"/releases/tags/", 401, {}))
    out = tmp_path / "out"
    result = run_cli(["run", model, "--out", out, "--format", "json,md", "-q", "--no-cache",
                      "--publish", "github:acme/models#5"])
    assert result.exit_code == 4, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("auditkit: error:")]
    assert len(errors) == 1 and "github:acme/models#5" in errors[0] and "HTTP 401" in errors[0]
    assert sorted(p.name for p in (out / "bert-tiny").iterdir()) == ["audit.json", "summary.md"]
