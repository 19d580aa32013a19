"""JUnit XML renderer (``--format junit``): ``junit.xml`` for the test tab of a CI system.

GitLab, GitHub (through a reporter action), Jenkins and Azure read JUnit XML; one
``<testcase>`` per constraint a section checked (a section's ``constraints`` data, as
the fairness section lists them) and per finding, so a failing audit shows which check
failed in the same place a failing unit test would. A section with neither gets one
passing testcase, so every assessed section appears.

Severities map onto JUnit as a CI reader expects: ``error`` is an ``<error>``, a
severity at or above ``[run] fail_on`` (``fail`` by default) a ``<failure>``, anything
below passes (a ``warn`` keeps its message in ``<system-out>``). Text from the model,
its data or a plugin is XML-escaped by ElementTree, and characters XML 1.0 cannot hold
are dropped, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import hookimpl

if TYPE_CHECKING:
    from auditkit import Audit

FORMAT = "junit"
FILENAME = "junit.xml"
_RANK = {"pass": 0, "info": 0, "warn": 1, "fail": 2, "error": 3}
# what XML 1.0 forbids (C0 controls but tab/newline/CR, lone surrogates, U+FFFE/FFFF)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@hookimpl
def auditkit_report_formats() -> list[str]:
    return [FORMAT]


@hookimpl
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path] | None:
    if FORMAT not in formats:
        return None
    path = Path(out_dir) / FILENAME
    tree = ET.ElementTree(junit_tree(audit, _fail_on(audit)))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return [path]


def junit_tree(audit: Audit, fail_on: str = "fail") -> ET.Element:
    """``<testsuites>`` with one ``<testsuite>`` for the model; counts computed from the cases."""
    model = _text(audit.model.name)
    suite = ET.Element("testsuite", name=f"auditkit: {model}")
    if audit.created:
        suite.set("timestamp", _text(audit.created))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("verdict", audit.verdict), ("report_id", audit.report_id)):
        ET.SubElement(properties, "property", name=name, value=_text(value))
    for note in audit.verdict_notes:
        ET.SubElement(properties, "property", name="verdict_note", value=_text(note))
    for finding in audit.findings:  # the host's own (plugin errors, vendor settings, missing values)
        _case(suite, f"{model}.audit", _text(finding.code), finding.severity, finding.message, fail_on)
    for section in audit.ordered_sections():
        classname = f"{model}.{_text(section.name)}"
        cases = 0
        for constraint in _constraints(section.data.get("constraints")):
            verdict = str(constraint.get("verdict", "pass"))
            _case(suite, classname, _constraint_name(constraint), verdict, _constraint_message(constraint), fail_on)
            cases += 1
        for finding in section.findings:
            _case(suite, classname, _text(finding.code), finding.severity, finding.message, fail_on)
            cases += 1
        if not cases:
            state = "assessed" if section.assessed else "not assessed"
            _case(suite, classname, f"{_text(section.name)} {state}", "pass", section.summary, fail_on)
    for finding in audit.render_errors:  # a report that could not be written: exit code 3
        _case(suite, f"{model}.render", _text(finding.code), finding.severity, finding.message, fail_on)
    cases = suite.findall("testcase")
    counts = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "errors": sum(1 for c in cases if c.find("error") is not None),
        "skipped": 0,
    }
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", name="auditkit", **{k: str(v) for k, v in counts.items()})
    root.append(suite)
    return root


def _case(suite: ET.Element, classname: str, name: str, severity: str, message: Any, fail_on: str) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    text = _text(message)
    rank = _RANK.get(severity, 0)
    if severity == "error":
        ET.SubElement(case, "error", message=text[:500], type=severity).text = text
    elif rank and rank >= _RANK.get(fail_on, 2):
        ET.SubElement(case, "failure", message=text[:500], type=severity).text = text
    elif text:  # below the bar that fails the run: recorded, not failed
        ET.SubElement(case, "system-out").text = f"{severity}: {text}"


def _constraints(value: Any) -> list[dict[str, Any]]:
    return [c for c in value if isinstance(c, dict) and c.get("name")] if isinstance(value, list) else []


def _constraint_name(constraint: dict[str, Any]) -> str:
    feature = constraint.get("feature")
    return _text(f"{constraint['name']} on {feature}" if feature else constraint["name"])


def _constraint_message(constraint: dict[str, Any]) -> str:
    parts = [f"{key} {constraint[key]}" for key in ("value", "tolerance", "score") if constraint.get(key) is not None]
    return ", ".join(parts) or str(constraint.get("verdict", ""))


def _fail_on(audit: Audit) -> str:
    try:
        return str(audit.config.section("run")["fail_on"])
    except Exception:  # an audit built by hand, without the [run] section
        return "fail"


def _text(value: Any) -> str:
    return _NOT_XML.sub("", str(value))
