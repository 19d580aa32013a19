"""Plugins that return nonsense, hang in a renderer, or point at files they did not write.

(tests/auditkit/test_manager.py covers an assess hook that raises, hangs past
``[run] timeout`` or returns a non-Section; this file covers what gets past those checks.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from auditkit import Section, Table, hookimpl
from auditkit.testing import MINIMAL_BUILTINS, run_audit


class Counting:
    """A well-behaved plugin: its section must survive whatever the other one does."""

    @staticmethod
    @hookimpl
    def auditkit_assess(audit):
        return Section(name="count", title="Count", metrics={"n": len(audit.frame)})


def _cycle() -> Section:
    loop: list = []
    loop.append(loop)
    return Section(name="x", title="X", data={"loop": loop})


NONSENSE = {
    "reserved-data-key": (lambda: Section(name="x", title="X", data={"metrics": 1}), "cannot be written as JSON"),
    "cycle": (_cycle, "RecursionError"),
    "metric-a-string": (lambda: Section(name="x", title="X", metrics={"a": "lots"}), "metrics must map names"),
    "report-kind": (lambda: Section(name="x", title="X", report="marketing"), "is not 'compliance' or 'business'"),
    "name-not-text": (lambda: Section(name=5, title="X"), "name 5"),
    "finding-a-string": (lambda: Section(name="x", title="X", findings=["bad"]), "list of Finding"),
    "table-not-a-frame": (lambda: Section(name="x", title="X", tables=[Table("t", [1, 2])]), "AttributeError"),
}


@pytest.mark.parametrize("kind", sorted(NONSENSE))
def test_nonsense_section_is_left_out_and_named(tiny_model_dir: Path, tmp_path: Path, kind: str) -> None:
    build, reason = NONSENSE[kind]

    class Nonsense:
        @staticmethod
        @hookimpl
        def auditkit_assess(audit):
            return build()

    plugins = [("nonsense", Nonsense), ("count", Counting)]
    run = run_audit(tiny_model_dir, tmp_path / "out", builtins=MINIMAL_BUILTINS, plugins=plugins)
    assert run.exit_code == 3
    audit = json.loads(run.files["audit.json"].read_text())  # the JSON report survived
    assert audit["sections"]["count"]["metrics"]["n"] == 120, "the other plugins complete"
    assert "x" not in audit["sections"]
    (finding,) = [f for f in audit["findings"] if f["plugin"] == "nonsense"]
    assert finding["code"] == "plugin-bad-section" and finding["severity"] == "error"
    assert "plugin 'nonsense'" in finding["message"] and reason in finding["message"]
    assert audit["verdict"] == "error"


def test_renderer_returning_a_path_it_did_not_write(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Committing moves files: a path outside the staging folder must not be moved into the reports."""
    precious = tmp_path / "precious.txt"
    precious.write_text("the reviewer's notes")

    class Thief:
        @staticmethod
        @hookimpl
        def auditkit_render(audit, out_dir, formats):
            return [str(precious), str(tmp_path)]

    run = run_audit(tiny_model_dir, tmp_path / "out", builtins=MINIMAL_BUILTINS, plugins=[("thief", Thief)])
    assert precious.read_text() == "the reviewer's notes"
    assert set(run.files) == {"audit.json"}
    audit = json.loads(run.files["audit.json"].read_text())
    messages = [f["message"] for f in audit["render_errors"] if f["plugin"] == "thief"]
    assert len(messages) == 2 and all("expected paths of files it wrote in" in m for m in messages)


def test_hanging_renderer_costs_only_its_own_format(tiny_model_dir: Path, tmp_path: Path) -> None:
    class Hanging:
        @staticmethod
        @hookimpl
        def auditkit_render(audit, out_dir, formats):
            import time

            time.sleep(5)
            return []

    run = run_audit(
        tiny_model_dir,
        tmp_path / "out",
        builtins=MINIMAL_BUILTINS,
        plugins=[("slowpoke", Hanging)],
        settings={"run": {"timeout": 0.5}},
    )
    audit = json.loads(run.files["audit.json"].read_text())
    (finding,) = [f for f in audit["render_errors"] if f["plugin"] == "slowpoke"]
    assert finding["code"] == "plugin-timeout" and "auditkit_render" in finding["message"]


def test_policy_returning_nonsense(tiny_model_dir: Path, tmp_path: Path) -> None:
    class Policy:
        @staticmethod
        @hookimpl
        def auditkit_policy(audit):
            return ["fail everything", pd.DataFrame()]

    run = run_audit(tiny_model_dir, tmp_path / "out", builtins=MINIMAL_BUILTINS, plugins=[("odd-policy", Policy)])
    audit = json.loads(run.files["audit.json"].read_text())
    codes = [f["code"] for f in audit["findings"] if f["plugin"] == "odd-policy"]
    assert codes == ["plugin-wrong-type", "plugin-wrong-type"]
