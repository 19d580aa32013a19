"""Formats come from the renderers (auditkit_report_formats); covers and the index from the sections.

No model run: a plugin manager with one extra in-process plugin, and the hand-built
report audit (tests/reportaudit.py) with a third-party section added.
"""

from __future__ import annotations

import re
import types

import pytest
from reportaudit import build_report_audit

from auditkit import hookimpl
from auditkit.audit import IndexColumn, KeyNumber, Recommendation, Section
from auditkit.config import build_config
from auditkit.coreplugin import declared_formats, parse_formats
from auditkit.errors import ConfigError, UsageError
from auditkit.manager import get_plugin_manager
from auditkit.reportdata import index_columns, index_rows, key_numbers, recommendation
from auditkit.runner import Runner, RunOptions

BUILTIN = ["html", "json", "junit", "md", "pdf"]


def _plugin(name: str, formats) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def auditkit_report_formats():
        return formats

    module.auditkit_report_formats = auditkit_report_formats
    return module


@pytest.fixture
def docx_manager():
    return get_plugin_manager(autoload=False, extra_plugins=[("ak_docx", _plugin("ak_docx", ["docx"]))])


def test_builtins_declare_their_five_formats() -> None:
    pm = get_plugin_manager(autoload=False)
    assert declared_formats(pm.hook) == BUILTIN
    run = Runner(pm, RunOptions()).schemas()["run"].option("formats")
    assert run.default == BUILTIN and run.choices == tuple(BUILTIN)


def test_a_plugins_format_is_accepted_and_in_the_default(docx_manager) -> None:
    assert declared_formats(docx_manager.hook) == sorted([*BUILTIN, "docx"])
    assert parse_formats("DOCX, json", declared_formats(docx_manager.hook)) == ["docx", "json"]
    schemas = Runner(docx_manager, RunOptions()).schemas()
    assert "docx" in schemas["run"].option("formats").default
    config = build_config(schemas, [("auditkit.toml", {"run": {"formats": ["docx"]}})])
    assert config.section("run")["formats"] == ["docx"]


def test_a_disabled_renderers_format_is_unknown() -> None:
    pm = get_plugin_manager(disabled=["pdf"], autoload=False)
    with pytest.raises(UsageError) as caught:
        parse_formats("pdf,json", declared_formats(pm.hook))
    assert str(caught.value) == "--format pdf,json: unknown format pdf; choose from html, json, junit, md"
    schemas = Runner(pm, RunOptions()).schemas()
    with pytest.raises(ConfigError, match=r"\[run\] formats.*'html', 'json', 'junit', 'md'"):
        build_config(schemas, [("auditkit.toml", {"run": {"formats": ["pdf"]}})])


def test_formats_stay_a_non_empty_list() -> None:
    schemas = Runner(get_plugin_manager(autoload=False), RunOptions()).schemas()
    with pytest.raises(ConfigError, match="at least one format"):
        build_config(schemas, [("auditkit.toml", {"run": {"formats": []}})])
    with pytest.raises(UsageError, match=r"unknown format \(none\)"):
        parse_formats(" , ", BUILTIN)


@pytest.mark.parametrize("bad", [["Bad Name"], ["../x"], [3], "", ["x" * 40]])
def test_a_malformed_declaration_is_one_line(bad) -> None:
    pm = get_plugin_manager(autoload=False, extra_plugins=[("ak_bad", _plugin("ak_bad", bad))])
    with pytest.raises(UsageError, match="auditkit_report_formats declared") as caught:
        declared_formats(pm.hook)
    assert "\n" not in str(caught.value)


def test_cli_refuses_an_undeclared_format(tmp_path) -> None:
    from auditkit.testing import run_cli

    result = run_cli(["run", tmp_path, "--format", "docx", "--out", tmp_path / "out"])
    assert result.exit_code == 2
    expected = "auditkit: error: --format docx: unknown format docx; choose from html, json, junit, md, pdf"
    assert result.stderr.strip() == expected


# ---------------------------------------------------------------- covers and index from sections


def _third_party(value: float | None) -> Section:
    section = Section("drift", "Data drift", order=450, plugin="drift")
    section.metrics = {"psi": value}
    section.headline = [KeyNumber("psi", "Population stability index", reports=("compliance", "business"))]
    section.index_columns = [IndexColumn("psi", "Drift PSI", missing="not measured", note="PSI: drift.")]
    return section


def test_a_third_party_key_number_is_on_both_covers() -> None:
    audit = build_report_audit()
    audit.sections["drift"] = _third_party(0.125)
    for kind in ("compliance", "business"):
        facts = {f.label: f.value for f in key_numbers(audit, kind)}
        assert facts["Population stability index"] == 0.125
    # the privacy plugin's epsilon is a compliance number only; fairness F is on both
    assert "Privacy budget ε (DP)" not in {f.label for f in key_numbers(audit, "business")}
    assert {f.label for f in key_numbers(audit, "business")} >= {"Fairness score F", "Risk-adjusted value"}


def test_a_missing_value_shows_its_words_or_nothing() -> None:
    audit = build_report_audit()
    audit.sections["privacy"].metrics["epsilon"] = None
    audit.sections["drift"] = _third_party(None)
    facts = {f.label: f.value for f in key_numbers(audit, "compliance")}
    assert facts["Privacy budget ε (DP)"] == "none (no differential privacy)"
    assert "Population stability index" not in facts  # no `missing` words: left out


def test_an_illustrative_sections_numbers_are_labelled() -> None:
    audit = build_report_audit()
    audit.sections["drift"] = _third_party(0.125)
    audit.sections["drift"].illustrative = True
    labels = [f.label for f in key_numbers(audit, "compliance")]
    assert "Population stability index, illustrative (defaults)" in labels


def test_a_slot_holds_the_later_sections_number() -> None:
    audit = build_report_audit()
    primary = [f for f in key_numbers(audit, "business") if f.label.startswith("Primary metric")]
    assert [(f.label, f.value) for f in primary] == [("Primary metric (accuracy)", 0.9124)]
    valuation = audit.sections["valuation"]
    valuation.metrics["primary_metric_value"] = 0.75
    valuation.headline = [KeyNumber("primary_metric_value", "Primary metric (macro_f1)", slot="primary_metric")]
    primary = [f for f in key_numbers(audit, "business") if f.label.startswith("Primary metric")]
    assert [(f.label, f.value) for f in primary] == [("Primary metric (macro_f1)", 0.75)]


def test_index_columns_are_the_union_in_section_order() -> None:
    with_drift, without = build_report_audit(name="a"), build_report_audit(name="b")
    with_drift.sections["drift"] = _third_party(0.2)
    headings = [c.heading for c in index_columns([without, with_drift])]
    # training (100, the primary-metric slot), fairness (200), privacy (300), drift (450), valuation (700)
    assert headings == ["Primary metric", "Fairness F", "Privacy ε", "Drift PSI", "Risk-adjusted value"]
    rows = {r.name: r for r in index_rows([without, with_drift])}
    assert rows["a"].cells[3].value == 0.2 and rows["b"].cells[3].value is None


def test_index_ranks_by_the_declared_column_and_shows_missing_words() -> None:
    from auditkit.rendering import render_index

    low, high, none = build_report_audit(name="low"), build_report_audit(name="high"), build_report_audit(name="none")
    low.sections["valuation"].metrics["risk_adjusted_value"] = 10.0
    high.sections["valuation"].metrics["risk_adjusted_value"] = 20.0
    del none.sections["valuation"]
    for audit in (low, high, none):
        audit.sections["drift"] = _third_party(None)
    assert [r.name for r in index_rows([low, none, high])] == ["high", "low", "none"]
    html = render_index([low, none, high])
    assert ">Drift PSI</th>" in html and html.count(">not measured<") == 3
    assert "PSI: drift." in html and "ranked by risk-adjusted value" in html
    assert re.search(r'aria-sort="descending">Risk-adjusted value</th>', html)


def test_without_a_ranking_column_rows_go_by_name() -> None:
    audits = [build_report_audit(name=n) for n in ("b", "a")]
    for audit in audits:
        audit.sections["valuation"].index_columns = []
    assert [r.name for r in index_rows(audits)] == ["a", "b"]


def test_the_recommendation_is_the_advising_sections_after_the_verdict() -> None:
    audit = build_report_audit()
    assert audit.verdict == "fail" and recommendation(audit)[0] == "Hold"
    audit.final_verdict = "pass"
    advice = audit.sections["valuation"].recommendation
    assert recommendation(audit) == (advice.label, advice.reason) == (
        "Proceed",
        "every check passes and the risk-adjusted value is 259,238.",
    )
    audit.final_verdict = "warn"
    assert recommendation(audit)[0] == "Proceed with conditions"
    audit.sections["drift"] = _third_party(0.1)
    audit.sections["drift"].recommendation = Recommendation("Retrain", "the data drifted.", caveat="(a test)")
    audit.sections["drift"].order = 800  # the last advising section speaks
    assert recommendation(audit) == ("Retrain", "the data drifted. (a test)")
