"""auditkit.testing, the kit plugin authors test with: chosen plugins, built-ins, AuditRun helpers."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from auditkit import Section, hookimpl
from auditkit.manager import AUTOLOAD_ENV, BUILTIN_PLUGINS, ESSENTIAL_PLUGINS
from auditkit.testing import MINIMAL_BUILTINS, entry_point_plugin, read_audit_json, run_audit


def _plugin(module_name: str, requires: str | None = None) -> types.ModuleType:
    module = types.ModuleType(module_name)

    @hookimpl
    def auditkit_assess(audit):
        return Section(name="rows", title="Rows", metrics={"n": len(audit.frame)})

    module.auditkit_assess = auditkit_assess
    if requires:
        module.auditkit_requires = requires
    return module


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Make a module importable and give it an entry point in group ``auditkit``."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install(entry_name: str, module_name: str, source: str) -> None:
        (site / f"{module_name}.py").write_text(source)
        info = site / f"auditkit_kit_{entry_name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: auditkit-kit-{entry_name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[auditkit]\n{entry_name} = {module_name}\n")

    yield install
    for name in [m for m in sys.modules if m.startswith("ak_kit")]:
        del sys.modules[name]


ROWS = """\
from auditkit import Section, hookimpl


@hookimpl
def auditkit_assess(audit):
    return Section(name="rows", title="Rows", metrics={"n": len(audit.frame)})
"""


def test_auditkit_run_loads_only_the_chosen_builtins(auditkit_run) -> None:
    run = auditkit_run(("rows", _plugin("ak_kit_rows")))
    loaded = {p.name for p in run.audit.plugins}
    assert loaded == {*MINIMAL_BUILTINS, "rows"}
    assert run.section("rows").metrics["n"] == 120
    assert run.exit_code == 0 and run.json["verdict"] == "pass"
    assert run.json == read_audit_json(run.files["audit.json"])
    assert set(run.files) == {"audit.json"}


def test_auditkit_run_adds_the_renderers_of_the_formats(auditkit_run, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_run_audit(model_dir, out, **kwargs):
        seen.update(kwargs)
        raise StopIteration

    monkeypatch.setattr("auditkit.testing.run_audit", fake_run_audit)
    with pytest.raises(StopIteration):
        auditkit_run(formats=("json", "html", "md"))
    assert seen["builtins"] == (*MINIMAL_BUILTINS, "html", "markdown")


def test_builtins_none_keeps_every_builtin(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import auditkit.manager

    calls = {}

    def spy(**kwargs):
        calls.update(kwargs)
        raise StopIteration  # the arguments are all this test needs

    monkeypatch.setattr(auditkit.manager, "get_plugin_manager", spy)
    with pytest.raises(StopIteration):
        run_audit(tiny_model_dir, tmp_path / "out", builtins=None, disabled=["privacy"])
    assert calls["disabled"] == ["privacy"]
    with pytest.raises(StopIteration):
        run_audit(tiny_model_dir, tmp_path / "out", builtins=["html"])
    kept = {name for name, _ in BUILTIN_PLUGINS} - set(calls["disabled"])
    assert kept == {"html"} | ESSENTIAL_PLUGINS


def test_unknown_builtin_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown built-in plugins \['fairnes'\]"):
        run_audit(tiny_model_dir, tmp_path / "out", builtins=["fairnes"])


def test_plugin_names(auditkit_run, installed) -> None:
    installed("counted", "ak_kit_counted", ROWS)
    import ak_kit_counted

    # installed: the entry point's name, as users see it; else the package name without auditkit_
    assert auditkit_run(ak_kit_counted).section("rows").plugin == "counted"
    assert auditkit_run(_plugin("auditkit_rowcount.plugin")).section("rows").plugin == "rowcount"
    assert auditkit_run(("mine", _plugin("whatever"))).section("rows").plugin == "mine"
    assert auditkit_run("counted").section("rows").plugin == "counted"


def test_entry_point_plugin_says_why_it_cannot_load(installed) -> None:
    with pytest.raises(LookupError, match=r"no entry point 'nothing' in group 'auditkit'.*pip install"):
        entry_point_plugin("nothing")
    installed("future", "ak_kit_future", ROWS + "auditkit_requires = '>=99'\n")
    with pytest.raises(LookupError, match=r"requires auditkit>=99"):
        entry_point_plugin("future")


def test_audit_run_helpers_fail_with_what_is_there(auditkit_run) -> None:
    run = auditkit_run(("rows", _plugin("ak_kit_rows2")))
    with pytest.raises(AssertionError, match=r"no section 'nope'; sections: \['rows'\]"):
        run.section("nope")
    with pytest.raises(AssertionError, match=r"compliance.html was not written; files: \['audit.json'\]"):
        run.text("compliance.html")
    assert run.findings(plugin="rows") == [] and run.errors() == []


def test_audit_run_findings_filter(auditkit_run) -> None:
    class Raising:
        @staticmethod
        @hookimpl
        def auditkit_assess(audit):
            raise RuntimeError("boom")

    run = auditkit_run(("bad", Raising), ("rows", _plugin("ak_kit_rows3")))
    [error] = run.findings(severity="error", plugin="bad")
    assert error.code == "plugin-error" and run.findings(code="plugin-error", plugin="rows") == []
    assert run.errors() == ["plugin 'bad' failed in auditkit_assess: RuntimeError: boom"]


def test_plugin_autoload_fixture_turns_autoload_back_on(plugin_autoload) -> None:
    assert AUTOLOAD_ENV not in os.environ
