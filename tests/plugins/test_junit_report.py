"""--format junit: junit.xml with one testcase per constraint and per finding, failures as the verdict says."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from auditkit.plugins.render import junit_report
from reportaudit import build_report_audit

from auditkit.audit import Finding
from auditkit.testing import run_cli

RANK = {"pass": 0, "info": 0, "warn": 1, "fail": 2, "error": 3}


def expected_cases(audit, fail_on: str = "fail") -> list[tuple[str, str, str]]:
    """(classname, name, outcome) computed from the Audit by hand, in report order."""
    model = audit.model.name

    def outcome(severity: str) -> str:
        if severity == "error":
            return "error"
        return "failure" if RANK[severity] and RANK[severity] >= RANK[fail_on] else "passed"

    cases = [(f"{model}.audit", f.code, outcome(f.severity)) for f in audit.findings]
    for section in audit.ordered_sections():
        mine = [
            (f"{model}.{section.name}", f"{c['name']} on {c['feature']}" if c.get("feature") else c["name"],
             outcome(c.get("verdict", "pass")))
            for c in section.data.get("constraints") or []
        ]
        mine += [(f"{model}.{section.name}", f.code, outcome(f.severity)) for f in section.findings]
        if not mine:
            state = "assessed" if section.assessed else "not assessed"
            mine = [(f"{model}.{section.name}", f"{section.name} {state}", "passed")]
        cases += mine
    return cases


def parsed_cases(root: ET.Element) -> list[tuple[str, str, str]]:
    out = []
    for case in root.iter("testcase"):
        kind = next((k for k in ("error", "failure") if case.find(k) is not None), "passed")
        out.append((case.get("classname"), case.get("name"), kind))
    return out


def test_one_testcase_per_constraint_and_finding(tmp_path: Path) -> None:
    audit = build_report_audit()
    audit.findings.append(Finding("error", "plugin-error", "plugin 'x' raised ValueError", plugin="x"))
    (path,) = junit_report.auditkit_render(audit=audit, out_dir=tmp_path, formats=["junit"])
    root = ET.parse(path).getroot()
    expected = expected_cases(audit)
    assert parsed_cases(root) == expected
    suite = root.find("testsuite")
    for element in (root, suite):
        assert element.get("tests") == str(len(expected))
        assert element.get("failures") == str(sum(1 for *_, k in expected if k == "failure"))
        assert element.get("errors") == str(sum(1 for *_, k in expected if k == "error")) == "1"
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["verdict"] == audit.verdict and properties["report_id"] == audit.report_id


def test_fail_on_warn_turns_warnings_into_failures() -> None:
    audit = build_report_audit()
    warns = sum(1 for *_, k in expected_cases(audit, "warn") if k == "failure")
    fails = sum(1 for *_, k in expected_cases(audit, "fail") if k == "failure")
    assert warns > fails  # the fixture has warnings that only --fail-on warn fails
    root = junit_report.junit_tree(audit, fail_on="warn")
    assert root.get("failures") == str(warns)


def test_hostile_text_still_parses(tmp_path: Path) -> None:
    audit = build_report_audit(hostile=True)
    audit.findings.append(Finding("fail", "x", "bell \x07 nul \x00 ]]> <script>alert(1)</script> &amp;"))
    (path,) = junit_report.auditkit_render(audit=audit, out_dir=tmp_path, formats=["junit"])
    root = ET.parse(path).getroot()  # parses: controls dropped, markup escaped
    message = next(c for c in root.iter("testcase") if c.get("name") == "x").find("failure").text
    assert message == "bell  nul  ]]> <script>alert(1)</script> &amp;"
    assert junit_report.auditkit_render(audit=audit, out_dir=tmp_path, formats=["html"]) is None


def test_format_junit_from_the_command_line(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(8)
    model_dir = tmp_path / "vendor"
    model_dir.mkdir()
    frame = {"risk": rng.uniform(0, 1, 200), "outcome": rng.integers(0, 2, 200), "race": rng.choice(["a", "b"], 200)}
    pd.DataFrame(frame).to_csv(model_dir / "scores.csv", index=False)
    (model_dir / "auditkit.toml").write_text(
        '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["race"]\n'
        '[predictions]\nfile = "scores.csv"\nscore = "risk"\nthreshold = 0.5\n[fairness]\nbootstrap = 0\n'
    )
    out = tmp_path / "out"
    result = run_cli(["run", model_dir, "--out", out, "--format", "junit", "-q", "-p", "no:training"])
    assert result.exit_code in (0, 1), result.stderr
    assert sorted(p.name for p in (out / "vendor").iterdir()) == ["junit.xml"]
    root = ET.parse(out / "vendor" / "junit.xml").getroot()
    names = {c.get("name") for c in root.iter("testcase")}
    assert "demographic_parity_difference on race" in names  # a fairness constraint is a testcase
    assert int(root.get("failures")) == 0 or result.exit_code == 1
    # --fail-on warn is the flag form of [run] fail_on, so the JUnit renderer judges as the exit code does
    run_cli(["run", model_dir, "--out", out, "--format", "junit,json", "-q", "-p", "no:training", "--fail-on", "warn"])
    audit = json.loads((out / "vendor" / "audit.json").read_text())
    assert audit["config"]["run"]["fail_on"] == "warn"
    assert audit["config_sources"]["run.fail_on"] == "flag"
