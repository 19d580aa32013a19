"""The html renderer plugin: files, formats, the [report] config section, the index hook."""

from __future__ import annotations

from pathlib import Path

import pytest
from auditkit.plugins.render import html_report
from reportaudit import ALLOWED_TAGS, build_report_audit, collect

from auditkit.config import build_config
from auditkit.errors import ConfigError


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("html")
    paths = html_report.auditkit_render(audit=build_report_audit(), out_dir=out, formats=["html", "json"])
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


def test_writes_both_reports_only_for_html(written, tmp_path: Path) -> None:
    assert sorted(written) == ["business.html", "compliance.html"]
    assert html_report.auditkit_render(audit=build_report_audit(), out_dir=tmp_path, formats=["pdf", "md"]) is None
    assert list(tmp_path.iterdir()) == []


def test_reports_contain_only_expected_elements_and_in_page_links(written) -> None:
    for name, html in written.items():
        found = collect(html)
        assert found.tags <= ALLOWED_TAGS, (name, found.tags - ALLOWED_TAGS)
        assert found.hrefs and all(h.startswith("#") for h in found.hrefs), name
        assert found.styles == []  # no inline style attributes: all CSS is in one <style>


def test_html_is_responsive(written) -> None:
    html = written["compliance.html"]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "@media (max-width: 40rem)" in html  # the phone layout
    assert "figure.chart svg { display: block; width: 100%;" in html  # charts scale with the column
    assert ".table-wrap, pre.config { overflow-x: auto;" in html  # wide tables scroll, not squeeze


def test_written_files_are_byte_identical_across_runs(written, tmp_path: Path) -> None:
    again = html_report.auditkit_render(audit=build_report_audit(), out_dir=tmp_path, formats=["html"])
    for path in again:
        assert path.read_bytes() == written[path.name].encode("utf-8")
        assert b"\r\n" not in path.read_bytes()


def test_index_hook_writes_index_html(tmp_path: Path) -> None:
    audits = [build_report_audit(name="model-a"), build_report_audit(name="model-b")]
    (path,) = html_report.auditkit_render_index(audits=audits, out_dir=tmp_path, formats=["html"])
    assert path == tmp_path / "index.html"
    html = path.read_text(encoding="utf-8")
    assert 'href="model-a/compliance.html"' in html and 'href="model-b/business.html"' in html
    assert html_report.auditkit_render_index(audits=audits, out_dir=tmp_path / "x", formats=["json"]) is None


def test_report_config_section_validates_paper() -> None:
    schema = html_report.auditkit_config_schema()
    assert schema.name == "report"
    config = build_config({"report": schema}, [("auditkit.toml", {"report": {"paper": "Letter"}})])
    assert config.section("report")["paper"] == "Letter"
    assert config.section("report")["top_findings"] == 10
    with pytest.raises(ConfigError, match=r"auditkit.toml: \[report\] paper = 'A3': expected one of 'A4', 'Letter'"):
        build_config({"report": schema}, [("auditkit.toml", {"report": {"paper": "A3"}})])


@pytest.mark.parametrize("disabled", [[], ["html"], ["html", "pdf"], ["pdf", "markdown"]])
def test_report_section_is_known_whichever_renderer_is_disabled(disabled: list[str]) -> None:
    from auditkit.config import collect_schemas
    from auditkit.isolation import implementations
    from auditkit.manager import get_plugin_manager

    pm = get_plugin_manager(disabled=disabled, autoload=False)
    impls = implementations(pm, "auditkit_config_schema")
    schemas = collect_schemas((i.function() for i in impls), (i.plugin_name for i in impls))
    config = build_config(schemas, [("auditkit.toml", {"report": {"paper": "Letter"}})])
    assert config.section("report")["paper"] == "Letter"


def test_other_duplicate_sections_are_still_refused() -> None:
    from auditkit.config import ConfigSection, collect_schemas

    with pytest.raises(ValueError, match=r"\[report\] is declared by both 'html' and 'mine'"):
        collect_schemas([html_report.auditkit_config_schema(), ConfigSection("report", [])], ["html", "mine"])
