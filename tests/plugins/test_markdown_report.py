"""summary.md: ticket-ready, hashes of the report files, inert text, under 65,000 characters."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from auditkit.plugins.render import html_report, markdown_report
from reportaudit import REPORT_ID, build_report_audit

from auditkit.audit import Finding, Section
from auditkit.isolation import implementations
from auditkit.manager import get_plugin_manager


def _render(audit, out: Path, formats=("html", "md", "json")) -> str:
    """What the host does: each renderer in turn, recording the files it returned."""
    for path in html_report.auditkit_render(audit=audit, out_dir=out, formats=list(formats)) or []:
        audit.files.append(str(path))
    (path,) = markdown_report.auditkit_render(audit=audit, out_dir=out, formats=list(formats))
    assert path == out / "summary.md"
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def summary(tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("md")
    return _render(build_report_audit(), out), out


def test_verdict_line_first(summary) -> None:
    text, _ = summary
    lines = text.splitlines()
    assert lines[0] == "## auditkit: toxicity-bert-v3: **FAIL**"
    assert lines[2] == f"**Verdict: FAIL** (1 fail, 2 warn, 3 info) · report `{REPORT_ID}` · 2024-05-01 12:00 UTC"


def test_sections_and_key_numbers(summary) -> None:
    text, _ = summary
    fairness = (
        "| Fairness | compliance | **FAIL** | score 0.8312; accuracy 0.9124 |"
        " F = 0.8312: equalized odds exceeds its tolerance for 2 groups. |"
    )
    assert fairness in text
    assert "| Valuation | business | **PASS** | risk_adjusted_value 259,238; npv 1,184,220 |" in text
    for row in (
        "| Primary metric (accuracy) | 0.9124 |",
        "| Fairness score F | 0.8312 |",
        "| Privacy budget ε (DP) | 7.93 |",
        "| Risk-adjusted value | 259,238 |",
        "| Net present value | 1,184,220 |",
    ):
        assert row in text, row
    assert "**Recommendation: Hold**: a compliance policy fails; resolve the failing findings first." in text


def test_top_findings_most_severe_first(summary) -> None:
    text, _ = summary
    block = text[text.index("### Top findings (6 of 6)") :]
    severities = [line.split("|")[1].strip() for line in block.splitlines() if line.startswith("| **")]
    assert severities == ["**FAIL**", "**WARN**", "**WARN**", "**INFO**", "**INFO**", "**INFO**"]


def test_report_files_listed_with_their_sha256(summary) -> None:
    text, out = summary
    for name in ("business.html", "compliance.html"):
        digest = hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert f"| {name} | `{digest}` |" in text
    assert "summary.md |" not in text  # it cannot hash itself
    assert text.endswith("audit.json, written with this summary, holds every number with its inputs.\n")


def test_top_findings_count_follows_config(tmp_path: Path) -> None:
    audit = build_report_audit()
    audit.config.values["report"]["top_findings"] = 2
    text = _render(audit, tmp_path, formats=("md",))
    assert "### Top findings (2 of 6)" in text
    assert "No other report files were written." in text and "audit.json" not in text


def test_runs_after_html_and_pdf_and_before_json() -> None:
    pm = get_plugin_manager(autoload=False)
    order = [impl.plugin_name for impl in implementations(pm, "auditkit_render")]
    assert order.index("html") < order.index("markdown") and order.index("pdf") < order.index("markdown")
    assert order.index("markdown") < order.index("json")


def test_stays_under_65000_characters(tmp_path: Path) -> None:
    audit = build_report_audit()
    audit.config.values["report"]["top_findings"] = 200
    for i in range(3000):
        audit.findings.append(Finding("fail", f"flood.{i}", "x" * 2000))
    text = _render(audit, tmp_path, formats=("md",))
    assert len(text) <= markdown_report.MAX_CHARS
    assert "### Top findings (" in text and "### Report files" in text
    assert "x" * 300 not in text  # each message is cut

    for i in range(2000):
        audit.sections[f"s{i}"] = Section(f"s{i}", "T" * 80, summary="s" * 500)
    (tmp_path / "more").mkdir()
    text = _render(audit, tmp_path / "more", formats=("md",))
    assert len(text) <= markdown_report.MAX_CHARS
    assert text.endswith("_Summary truncated: audit.json holds everything._\n")


def test_byte_identical_across_runs(summary, tmp_path: Path) -> None:
    text, _ = summary
    assert _render(build_report_audit(), tmp_path) == text


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
        ("![img](http://a/b.png)", r"!\[img\](http\://a/b.png)"),
        ("see https://evil.example/x", r"see https\://evil.example/x"),
        ("<script>x</script> & more", "&lt;script&gt;x&lt;/script&gt; &amp; more"),
        ("a | b", r"a \| b"),
        ("*bold* _it_ `code` ~~del~~ V_net", "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~\u2060del\\~\\~ V_net"),
        # mentions and refs are linked after rendering: a word joiner, not a backslash, stops them
        ("@team #12 (note): fine", "@\u2060team #\u206012 (note): fine"),
        ("mail a@b.example, see !3 ~bug", "mail a@\u2060b.example, see !\u20603 \\~\u2060bug"),
        ("visit www.evil.example", r"visit www\.evil.example"),
        ("# Verdict: PASS", r"\# Verdict: PASS"),
        ("1. first", r"1\. first"),
        ("- item", r"\- item"),
        ("&#64;x &lt;", "&amp;#\u206064;x &amp;\u2060lt;"),
        ("back\\slash", r"back\\slash"),
        ("\x1b[31mred\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07", "red link"),
        ("line\nbreak\r\n\tand\x00nul", "line break andnul"),  # one line; controls dropped
        ("rtl \u202eevil\u202c", "rtl evil"),
    ],
)
def test_md_text(raw: str, safe: str) -> None:
    assert markdown_report.md_text(raw) == safe


def test_md_text_cuts_long_text() -> None:
    assert markdown_report.md_text("abcdefghij", limit=5) == "abcd…"
