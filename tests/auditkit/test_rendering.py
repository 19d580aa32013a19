"""The rendering machinery: loader order, autoescape, error cards, report content, index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reportaudit import ACCURACY, REPORT_ID, build_report_audit, use_template_folder

from auditkit import hookimpl
from auditkit.audit import Section
from auditkit.manager import get_plugin_manager
from auditkit.rendering import (
    RENDER_ERROR_CODE,
    collect_template_dirs,
    format_date,
    format_number,
    make_environment,
    render_index,
    render_report,
    render_section,
)


@pytest.fixture(scope="module")
def audit():
    return build_report_audit()


@pytest.fixture(scope="module")
def compliance(audit) -> str:
    return render_report(audit, "compliance")


@pytest.fixture(scope="module")
def business(audit) -> str:
    return render_report(audit, "business")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (float("nan"), "—"),
        (True, "yes"),
        (0.0, "0"),
        (4_385_920, "4,385,920"),
        (0.8312, "0.8312"),
        (0.123456, "0.1235"),
        (7.93, "7.93"),
        (259_237.5, "259,238"),
        (-12_000.0, "-12,000"),
        (1e-5, "1e-5"),
        (2.5e17, "2.5e17"),
        ("text", "text"),
    ],
)
def test_format_number(value, text) -> None:
    assert format_number(value) == text


def test_format_date_is_utc_and_keeps_garbage() -> None:
    assert format_date("2024-05-01T14:00:00+02:00") == "2024-05-01 12:00 UTC"
    assert format_date("2024-05-01T12:00:00Z") == "2024-05-01 12:00 UTC"
    assert format_date("yesterday") == "yesterday"


def test_autoescape_is_on_for_every_template(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("{{ value }}", encoding="utf-8")
    (tmp_path / "page.css").write_text("{{ value }}", encoding="utf-8")
    env = make_environment([tmp_path])
    for name in ("plain.txt", "page.css"):
        assert env.get_template(name).render(value="<b>&") == "&lt;b&gt;&amp;"


def test_plugin_folder_overrides_builtin_and_default_prefix_extends_it(tmp_path: Path) -> None:
    (tmp_path / "section.html.j2").write_text(
        '{% extends "default:section.html.j2" %}{% block extra %}<p class="mine">extra</p>{% endblock %}',
        encoding="utf-8",
    )
    env = make_environment([tmp_path])
    section = Section("demo", "Demo", summary="built-in summary")
    html = env.get_template("section.html.j2").render(section=section, audit=None, anchor="x")
    assert '<p class="section-summary">built-in summary</p>' in html  # the built-in body
    assert '<p class="mine">extra</p>' in html  # plus the override's block


def test_collect_template_dirs_puts_third_parties_first(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"

    class BuiltinLike:
        @hookimpl
        def auditkit_template_dirs(self):
            return ours

    class ThirdParty:
        @hookimpl
        def auditkit_template_dirs(self):
            return [theirs]

    pm = get_plugin_manager(autoload=False, builtins=())
    pm.add_plugin(BuiltinLike(), "fairness-like", "1", "built-in")  # registered first, yet last
    pm.add_plugin(ThirdParty(), "third", "1", "acme-auditkit")
    assert collect_template_dirs(pm.hook, pm.infos) == [str(theirs), str(ours)]
    assert collect_template_dirs(pm.hook) == [str(ours), str(theirs)]  # registration order


def test_disabled_plugin_templates_are_not_searched(tmp_path: Path) -> None:
    audit = build_report_audit()
    (tmp_path / "section.html.j2").write_text("<p>override</p>", encoding="utf-8")
    pm, plugin = use_template_folder(audit, tmp_path)
    assert "<p>override</p>" in render_report(audit, "compliance")

    class Relay:
        """What the runner's ``audit.hook`` is for an audit with ``[run] disable = ["acme"]``."""

        def __getattr__(self, name: str):
            return pm.subset_hook_caller(name, remove_plugins=[plugin])

    audit.hook = Relay()
    assert "<p>override</p>" not in render_report(audit, "compliance")


def test_section_partial_from_plugin_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "section.html.j2").write_text(
        '<p class="acme">{{ section.metrics.widgets|num }} widgets</p>', encoding="utf-8"
    )
    audit = build_report_audit()
    audit.sections["acme"] = Section("acme", "Acme check", metrics={"widgets": 12345}, template="acme/section.html.j2")
    use_template_folder(audit, tmp_path)
    html = render_report(audit, "compliance")
    assert '<p class="acme">12,345 widgets</p>' in html


def test_failing_partial_becomes_error_card_and_one_render_error(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "section.html.j2").write_text("{{ section.no_such_thing.deeper }}", encoding="utf-8")
    audit = build_report_audit()
    audit.sections["broken"] = Section(
        "broken", "Broken plugin", summary="s", template="broken/section.html.j2", plugin="broken", order=250
    )
    use_template_folder(audit, tmp_path, name="broken")
    view = render_section(make_environment([tmp_path]), audit, audit.sections["broken"])
    assert view.error and "no_such_thing" in view.error
    first = render_report(audit, "compliance")
    render_report(audit, "compliance")  # the pdf renderer renders the same HTML again
    assert not [f for f in audit.findings if f.code == RENDER_ERROR_CODE]  # the verdict is not the renderer's
    errors = [f for f in audit.render_errors if f.code == RENDER_ERROR_CODE]
    assert len(errors) == 1 and errors[0].section == "broken" and errors[0].plugin == "broken"
    assert 'class="error-card"' in first
    assert "broken/section.html.j2" in first
    # the rest of the report is still there, in order
    assert (
        first.index('id="section-fairness"') < first.index('id="section-broken"') < first.index('id="section-privacy"')
    )
    assert audit.verdict != "error"


def test_compliance_report_structure(compliance: str) -> None:
    ids = re.findall(r'<section class="report-section[^"]*" id="([^"]+)"', compliance)
    assert ids == [
        "section-training",
        "section-fairness",
        "section-privacy",
        "model-card",
        "method-notes",
        "configuration",
    ]
    # every table-of-contents link points at an anchor that exists
    for target in re.findall(r'<nav class="toc".*?</nav>', compliance, re.S)[0].split('href="#')[1:]:
        assert f'id="{target.split(chr(34))[0]}"' in compliance
    # a verdict badge per section, next to its title
    assert re.search(
        r'<h2 id="section-fairness-title">Fairness</h2><span class="badge badge-fail">FAIL</span>', compliance
    )
    assert (
        re.search(r'<h2 id="section-training-title">Training record</h2><span class="badge badge-info">', compliance)
        is None
    )
    assert re.search(r'<h2 id="section-training-title">Training record</h2><span class="badge badge-pass">', compliance)
    assert "<title>Compliance report: toxicity-bert-v3</title>" in compliance
    assert (
        f'<meta name="description" content="Compliance report of model toxicity-bert-v3 (report {REPORT_ID})'
        in compliance
    )
    assert '<meta name="dcterms.created" content="2024-05-01T12:00:00Z">' in compliance


def test_executive_summary_findings_sorted_by_severity(compliance: str) -> None:
    summary = compliance[compliance.index('id="summary"') : compliance.index('id="section-training"')]
    severities = re.findall(r'<tr class="finding-(\w+)">', summary)
    assert severities == ["fail", "warn", "warn", "info", "info", "info"]
    assert "auditkit audited toxicity-bert-v3 (sequence-classification, 4,385,920 parameters)" in summary
    assert "Overall verdict: FAIL (1 fail, 2 warn, 3 info)" in summary
    assert "0.9124" in summary and format_number(ACCURACY) == "0.9124"


def test_method_notes_and_config(compliance: str, audit) -> None:
    notes = compliance[compliance.index('id="method-notes"') : compliance.index('id="configuration"')]
    assert "F_c = min(τ_c / d_c, 1)" in notes
    assert "largest acceptable disparity d before F_c drops below 1" in notes  # the option's help
    assert "<td><code>tolerance</code></td><td><code>0.125</code></td>" in notes  # the value used
    assert "A section&#39;s verdict is its most severe finding" in notes
    config = compliance[compliance.index('id="configuration"') :]
    assert "&#34;tolerance&#34;: 0.125" in config
    assert "&#34;paper&#34;: &#34;A4&#34;" in config


def test_business_report_has_only_business_sections(business: str) -> None:
    ids = re.findall(r'<section class="report-section[^"]*" id="([^"]+)"', business)
    assert ids == ["section-market", "section-valuation", "assumptions"]
    assert "Recommendation: <strong>Hold</strong>" in business  # the audit fails a policy
    assert "259,238" in business and "1,184,220" in business
    assert "value per unit of the primary metric (α)" in business  # the assumptions table


def test_reports_are_self_contained(compliance: str, business: str) -> None:
    for html in (compliance, business):
        assert not re.search(r"(?:src|href)\s*=", html.replace('href="#', "")), "only in-page links"
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
            'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
        )
        assert "<link" not in html and "@import" not in html
        assert html.count("<svg ") == len(re.findall(r'<figure class="chart"', html))


def test_rendering_is_deterministic() -> None:
    first, second = build_report_audit(), build_report_audit()
    assert render_report(first, "compliance") == render_report(second, "compliance")
    assert render_report(first, "business") == render_report(second, "business")


def test_no_sections_still_renders_a_report(audit) -> None:
    empty = build_report_audit()
    empty.sections.clear()
    html = render_report(empty, "business")
    assert "No plugin contributed a section to this report" in html
    assert "Recommendation: <strong>No valuation</strong>" in html


def test_index_ranks_models_and_links_their_reports() -> None:
    best = build_report_audit(name="best model")
    middle = build_report_audit(name="middle")
    middle.sections["valuation"].metrics["risk_adjusted_value"] = 1000.0
    middle.sections["fairness"].metrics["score"] = 0.5
    unvalued = build_report_audit(name="unvalued")
    del unvalued.sections["valuation"]
    del unvalued.sections["privacy"]
    html = render_index([unvalued, middle, best])
    rows = re.findall(r"<tr>\s*<td data-sort=\"([^\"]+)\"><a href=\"([^\"]+)\">", html)
    assert rows == [
        ("best model", "best%20model/compliance.html"),
        ("middle", "middle/compliance.html"),
        ("unvalued", "unvalued/compliance.html"),
    ]
    assert 'href="best%20model/business.html"' in html
    middle_row = html[html.index('data-sort="middle"') : html.index('data-sort="unvalued"')]
    assert 'data-sort="0.5">0.5<' in middle_row and 'data-sort="1000.0">1,000<' in middle_row
    assert 'data-sort="7.93">7.93<' in middle_row  # ε
    assert "0.9124" in middle_row and "(accuracy)" in middle_row  # valuation's primary metric
    assert "<script>" in html and "http" not in html.split("<script>")[1]  # inline, no URL
