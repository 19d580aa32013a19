"""One verdict everywhere: every report of a run states the verdict and notes audit.json states.

Each case runs the real CLI with every format on a fixture model dir (the e2e tests' tiny
model, a predictions-mode vendor score, a plugin error injected with ``-p module``, a
section that measured nothing, a renderer that raises) and reads the verdict back out of
audit.json, both HTML reports, both PDFs, summary.md and index.html.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.testing import read_audit_json, run_cli

EXAMPLE_SRC = Path(__file__).resolve().parents[2] / "examples" / "auditkit-plugin-calibration" / "src"
# what the domain plugins add is beside the point here and costs most of a run's time
LIGHT = ["-p", "no:privacy", "-p", "no:training"]
# the cases about the host alone need no domain section at all
HOST_ONLY = [*LIGHT, "-p", "no:fairness", "-p", "no:market", "-p", "no:valuation"]
NOTE = 'tolerances <b>set</b> by the model dir & "vendor"'
RANK = {"info": 0, "warn": 1, "fail": 2, "error": 3}
VERDICT_OF = {0: "pass", 1: "warn", 2: "fail", 3: "error"}

PLUGINS = {
    # a policy that qualifies the verdict (with text that must be escaped everywhere)
    "onev_note": f"""
        from auditkit import hookimpl

        @hookimpl
        def auditkit_policy(audit):
            audit.verdict_notes.append({NOTE!r})
            return []
    """,
    "onev_broken_assess": """
        from auditkit import hookimpl

        @hookimpl
        def auditkit_assess(audit):
            raise RuntimeError("injected assess failure")
    """,
    # runs after the HTML and PDF renderers and tries to change the audit: refused, so it raises
    "onev_broken_render": """
        from pathlib import Path

        from auditkit import Finding, hookimpl

        seen = []

        @hookimpl
        def auditkit_render(audit, out_dir, formats):
            seen.append(sorted(p.name for p in Path(out_dir).iterdir()))
            audit.findings.append(Finding("error", "late-finding", "a renderer's own finding"))
    """,
}


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    for name, source in PLUGINS.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))


@pytest.fixture
def vendor_dir(tmp_path: Path) -> Path:
    """A predictions-mode dir: a vendor's 0-10 risk score, thresholded at 5 (as `auditkit init` writes)."""
    rng = np.random.default_rng(3)
    n = 300
    folder = tmp_path / "vendor-score"
    folder.mkdir()
    pd.DataFrame(
        {
            "risk": rng.uniform(0, 10, n).round(2),
            "outcome": rng.integers(0, 2, n),
            "race": rng.choice(["a", "b", "c"], n),
        }
    ).to_csv(folder / "scores.csv", index=False)
    (folder / "auditkit.toml").write_text(
        '[predictions]\nfile = "scores.csv"\nscore = "risk"\nthreshold = 5.0\n\n'
        '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["race"]\n',
        encoding="utf-8",
    )
    return folder


def run_all_formats(model_dir: Path, out: Path, *extra: str, light: bool = True) -> tuple[int, str, Path]:
    skip = LIGHT if light else HOST_ONLY
    result = run_cli(["run", model_dir, "--out", out, "--format", "json,html,pdf,md", "--no-cache", *skip, *extra])
    return result.exit_code, result.stderr, out / model_dir.name


# ---------------------------------------------------------------------------- reading the reports


def _notes_text(notes: list[str]) -> str:
    return "; ".join(notes)


def html_verdict(text: str) -> tuple[str, str]:
    """(verdict, notes) of a report's cover."""
    match = re.search(
        r'<div class="verdict-box verdict-(\w+)"><span class="verdict-label">Overall verdict</span> '
        r'<span class="badge badge-[\w-]+">([A-Z ]+)</span>(?: <span class="verdict-notes">\((.*?)\)</span>)?</div>',
        text,
    )
    assert match, "no verdict box"
    assert match[1] == match[2].lower(), "the box and its badge disagree"
    return match[2].lower(), html.unescape(match[3] or "")


def index_verdict(text: str) -> tuple[str, str]:
    match = re.search(
        r'<td data-sort="-?\d+"><span class="badge badge-[\w-]+">([A-Z ]+)</span>'
        r'(?: <span class="verdict-notes">\((.*?)\)</span>)?</td>',
        text,
    )
    assert match, "no verdict in index.html"
    return match[1].lower(), html.unescape(match[2] or "")


def markdown_verdict(text: str) -> tuple[str, str]:
    heading = re.search(r"^## auditkit: .*: \*\*(\w+)\*\*", text, re.M)
    match = re.search(r"^\*\*Verdict: (\w+)\*\*(?: \((.*)\))? \([^()]*\) · report", text, re.M)
    assert heading and match, "no verdict line in summary.md"
    assert heading[1] == match[1]
    notes = re.sub(r"\\(.)", r"\1", match[2] or "")  # Markdown escapes, then the HTML entities md_text writes
    return match[1].lower(), html.unescape(notes)


def pdf_text(path: Path) -> str:
    if shutil.which("pdftotext"):
        command = ["pdftotext", "-layout", str(path), "-"]
        text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    else:
        pypdf = pytest.importorskip("pypdf", reason="neither pdftotext nor pypdf is available")
        text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    return " ".join(text.split())


def section_badges(text: str) -> dict[str, str]:
    """Section name → the badge its heading shows, in an HTML report."""
    found = re.findall(
        r'<div class="section-head"><h2 id="section-([\w-]+)-title">.*?</h2>'
        r'<span class="badge [\w-]+">([A-Z ()]+)</span>',
        text,
    )
    return {name: label for name, label in found}


def label(status: str) -> str:
    from auditkit.rendering import status_label  # "illustrative" reads ILLUSTRATIVE (DEFAULTS)

    return status_label(status).upper()


def assert_one_verdict(out: Path, model: Path) -> dict:
    """Every report in ``model`` (and ``out/index.html``) states audit.json's verdict and notes."""
    audit = read_audit_json(model / "audit.json")
    verdict, notes = audit["verdict"], _notes_text(audit["verdict_notes"])
    # recomputed from the findings audit.json lists: the verdict is their worst severity
    assert verdict == VERDICT_OF[max((RANK[f["severity"]] for f in audit["findings"]), default=0)]
    for name in ("compliance.html", "business.html"):
        assert html_verdict((model / name).read_text(encoding="utf-8")) == (verdict, notes), name
    assert markdown_verdict((model / "summary.md").read_text(encoding="utf-8")) == (verdict, notes)
    assert index_verdict((out / "index.html").read_text(encoding="utf-8")) == (verdict, notes)
    for name in ("compliance.pdf", "business.pdf"):
        text = pdf_text(model / name)
        stated = f"Overall verdict {verdict.upper()}" + (f" ({notes})" if notes else "")
        assert stated in text, (name, stated)
    # every section's badge says its status, in both HTML reports and summary.md
    badges = {}
    for name in ("compliance.html", "business.html"):
        badges.update(section_badges((model / name).read_text(encoding="utf-8")))
    summary = (model / "summary.md").read_text(encoding="utf-8")
    for name, section in audit["sections"].items():
        assert badges[name] == label(section["status"]), name
        assert f"| {section['report']} | **{label(section['status'])}** |" in summary, name
    return audit


def expected_exit(audit: dict) -> int:
    if audit["verdict"] == "error" or any(f["severity"] == "error" for f in audit["render_errors"]):
        return 3
    return 1 if audit["verdict"] == "fail" else 0


# ---------------------------------------------------------------------------- the cases


def test_tiny_model_with_a_note(plugin_path, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stderr, model = run_all_formats(tiny_model_dir, out, "-p", "onev_note")
    audit = assert_one_verdict(out, model)
    assert audit["verdict_notes"] == [NOTE] and audit["render_errors"] == []
    assert code == expected_exit(audit), stderr
    raw = (model / "compliance.html").read_text(encoding="utf-8")
    assert "<b>set</b>" not in raw and "&lt;b&gt;set&lt;/b&gt;" in raw, "notes are escaped like any text"
    assert "<b>set</b>" not in (model / "summary.md").read_text(encoding="utf-8")


def test_predictions_mode(plugin_path, vendor_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stderr, model = run_all_formats(vendor_dir, out, "-p", "onev_note")
    audit = assert_one_verdict(out, model)
    assert audit["model"]["loader"] == "predictions"
    assert code == expected_exit(audit), stderr


def test_plugin_error(plugin_path, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stderr, model = run_all_formats(tiny_model_dir, out, "-p", "onev_broken_assess", light=False)
    audit = assert_one_verdict(out, model)
    assert audit["verdict"] == "error" and code == 3
    assert "injected assess failure" in stderr


def test_not_assessed_section(plugin_path, vendor_dir: Path, tmp_path: Path) -> None:
    """The calibration example on a 0-10 vendor score: not probabilities, so not assessed."""
    out = tmp_path / "out"
    code, stderr, model = run_all_formats(vendor_dir, out, "-p", "auditkit_calibration.plugin", light=False)
    audit = assert_one_verdict(out, model)
    calibration = audit["sections"]["calibration"]
    assert calibration["summary"].startswith("Not assessed")
    assert calibration["status"] == "not_assessed" and calibration["verdict"] == "pass"  # its one finding is info
    assert "not assessed: Calibration" in audit["verdict_notes"]
    assert code == expected_exit(audit), stderr
    compliance = (model / "compliance.html").read_text(encoding="utf-8")
    assert '<span class="badge badge-not-assessed">NOT ASSESSED</span>' in compliance
    assert "NOT ASSESSED" in pdf_text(model / "compliance.pdf")


def test_failing_renderer_leaves_the_reports_agreeing(plugin_path, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    plugins = ["-p", "onev_broken_render", "-p", "onev_note"]
    code, stderr, model = run_all_formats(tiny_model_dir, out, *plugins, light=False)
    assert "compliance.html" in sys.modules["onev_broken_render"].seen[0], "it ran after the HTML was written"
    audit = assert_one_verdict(out, model)
    assert audit["verdict"] != "error", "a render failure is not a finding of the model"
    assert not [f for f in audit["findings"] if f["code"] == "late-finding"], "a renderer cannot add findings"
    (error,) = audit["render_errors"]
    assert error["severity"] == "error" and error["plugin"] == "onev_broken_render"
    assert "read-only" in error["message"]
    assert code == 3
    assert "onev_broken_render" in stderr
