"""The plugin manager: discovery, isolation of broken plugins, blocking, validation."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from auditkit import __hook_api_version__, __version__
from auditkit.manager import BUILTIN_PLUGINS, ESSENTIAL_PLUGINS, get_plugin_manager
from auditkit.testing import MINIMAL_BUILTINS, read_audit_json, run_audit, run_cli


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install plugin modules as an entry-point distribution visible to importlib.metadata."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("AUDITKIT_DISABLE_PLUGIN_AUTOLOAD", raising=False)

    def install(dist: str, version: str, modules: dict[str, str]) -> None:
        for name, source in modules.items():
            (site / f"{name}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"  # escaped, as wheels name it
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "\n".join(f"{name.removeprefix('ak_')} = {name}" for name in modules)
        (info / "entry_points.txt").write_text(f"[auditkit]\n{lines}\n")

    yield install
    for name in list(sys.modules):
        if name.startswith("ak_"):
            del sys.modules[name]


GOOD = """
    from auditkit import hookimpl, Section

    @hookimpl
    def auditkit_assess(audit):
        section = Section(name="extra", title="Extra check", summary="rows counted")
        section.metrics["rows"] = len(audit.frame)
        return section
"""
BROKEN = "raise ImportError('this package is broken')\n"
MISSPELT = """
    from auditkit import hookimpl

    @hookimpl
    def auditkit_asess(audit):
        return None
"""


def test_entry_points_load_one_by_one(fake_distribution) -> None:
    fake_distribution("auditkit-extra", "1.2.3", {"ak_good": GOOD})
    fake_distribution("auditkit-broken", "0.1", {"ak_broken": BROKEN})
    fake_distribution("auditkit-typo", "0.2", {"ak_misspelt": MISSPELT})
    pm = get_plugin_manager()
    good, broken, typo = pm.infos["good"], pm.infos["broken"], pm.infos["misspelt"]
    assert (good.status, good.version, good.source) == ("loaded", "1.2.3", "auditkit-extra")
    assert good.hooks == ["auditkit_assess"]
    assert broken.status == "error" and "this package is broken" in broken.error
    assert typo.status == "error" and "auditkit_asess" in typo.error and "misspelt" in typo.error
    assert pm.infos["transformers"].status == "loaded", "one broken package must not stop the rest"

    listing = run_cli(["plugins", "--json"])
    rows = {p["name"]: p for p in json.loads(listing.stdout)}
    assert rows["good"]["source"] == "auditkit-extra" and rows["good"]["version"] == "1.2.3"
    assert rows["broken"]["status"] == "error"


def test_autoload_off_loads_only_builtins(fake_distribution, monkeypatch) -> None:
    fake_distribution("auditkit-extra", "1.2.3", {"ak_good": GOOD})
    monkeypatch.setenv("AUDITKIT_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = get_plugin_manager()
    assert "good" not in pm.infos
    assert {name for name, _ in BUILTIN_PLUGINS} <= set(pm.infos)


def test_third_party_section_in_audit(fake_distribution, tiny_model_dir: Path, tmp_path: Path) -> None:
    fake_distribution("auditkit-extra", "1.2.3", {"ak_good": GOOD})
    out = tmp_path / "out"
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json"])
    assert result.exit_code in (0, 1), result.stderr
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    assert audit["sections"]["extra"]["metrics"]["rows"] == 120
    assert {"name": "good", "version": "1.2.3", "source": "auditkit-extra"} in audit["plugins"]
    result = run_cli(["run", tiny_model_dir, "-p", "no:good", "--out", out, "--format", "json"])
    assert "extra" not in read_audit_json(out / "tox-v3" / "audit.json")["sections"]


FUTURE = """
    from auditkit import hookimpl, Section

    auditkit_requires = ">=99"

    @hookimpl
    def auditkit_assess(audit):
        return Section(name="future", title="Future")
"""
OLD_API = FUTURE.replace('auditkit_requires = ">=99"', "auditkit_hook_api = [0]")
BAD_SPEC = FUTURE.replace('">=99"', '"version two"')


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (FUTURE, f"requires auditkit>=99, this is auditkit {__version__}: install a matching version"),
        (OLD_API, f"supports hook API [0], this auditkit {__version__} has hook API {__hook_api_version__}"),
        (BAD_SPEC, "auditkit_requires 'version two' is not a valid version specifier"),
        (MISSPELT, "unknown hook 'auditkit_asess'"),
        (BROKEN, "ImportError: this package is broken"),
    ],
    ids=["requires", "hook-api", "bad-specifier", "misspelt", "broken"],
)
def test_plugin_that_cannot_load_is_an_error_in_every_audit(
    fake_distribution, tiny_model_dir: Path, tmp_path: Path, source: str, reason: str
) -> None:
    fake_distribution("auditkit-odd", "3.0", {"ak_odd": source})
    fake_distribution("auditkit-extra", "1.2.3", {"ak_good": GOOD})
    info = get_plugin_manager().infos["odd"]
    assert (info.status, info.version, info.source) == ("error", "3.0", "auditkit-odd")
    assert reason in info.error
    run = run_audit(tiny_model_dir, tmp_path / "out", autoload=True, builtins=MINIMAL_BUILTINS)
    [finding] = run.findings(code="plugin-load-error")
    assert finding.severity == "error" and finding.plugin == "odd"
    assert "plugin 'odd' (auditkit-odd) could not be loaded" in finding.message and reason in finding.message
    assert "future" not in run.audit.sections
    assert run.section("extra").metrics["rows"] == 120, "the other plugins still run"
    assert run.exit_code == 3 and run.json["verdict"] == "error"


def test_dash_p_module_gets_the_same_version_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ak_future_cli.py").write_text(textwrap.dedent(FUTURE))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        listing = json.loads(run_cli(["-p", "ak_future_cli", "plugins", "--json"]).stdout)
    finally:
        sys.modules.pop("ak_future_cli", None)
    row = {p["name"]: p for p in listing}["ak_future_cli"]
    assert row["status"] == "error" and "requires auditkit>=99" in row["error"]


class Raising:
    @staticmethod
    def auditkit_assess(audit):
        raise RuntimeError("assessment exploded")


class WrongType:
    @staticmethod
    def auditkit_assess(audit):
        return 42


class Hanging:
    @staticmethod
    def auditkit_assess(audit):
        import time

        time.sleep(3)


class Counting:
    @staticmethod
    def auditkit_assess(audit):
        from auditkit import Section

        return Section(name="count", title="Count", metrics={"n": len(audit.frame)})


def _marked(cls):
    from auditkit import hookimpl

    hookimpl(cls.auditkit_assess)
    return cls


@pytest.mark.parametrize(
    ("plugin", "code", "text"),
    [
        (Raising, "plugin-error", "assessment exploded"),
        (WrongType, "plugin-wrong-type", "returned int"),
        (Hanging, "plugin-timeout", "within 0.5 s"),
    ],
)
def test_failing_plugin_is_isolated(tiny_model_dir: Path, tmp_path: Path, plugin, code: str, text: str) -> None:
    run = run_audit(
        tiny_model_dir,
        tmp_path / "out",
        plugins=[("bad", _marked(plugin)), ("count", _marked(Counting))],
        settings={"run": {"timeout": 0.5}},
    )
    assert run.exit_code == 3
    assert run.audit.sections["count"].metrics["n"] == 120, "the other plugins must complete"
    audit = json.loads(run.files["audit.json"].read_text())
    errors = [f for f in audit["findings"] if f["severity"] == "error" and f["plugin"] == "bad"]
    assert errors and errors[0]["code"] == code and text in errors[0]["message"]
    if code == "plugin-error":
        assert "RuntimeError: assessment exploded" in errors[0]["traceback"]
    assert audit["verdict"] == "error"


NON_ESSENTIAL = [name for name, _ in BUILTIN_PLUGINS if name not in ESSENTIAL_PLUGINS]


@pytest.mark.parametrize("name", NON_ESSENTIAL)
def test_every_non_essential_builtin_can_be_blocked(name: str) -> None:
    pm = get_plugin_manager(disabled=[name])
    assert pm.infos[name].status == "disabled"
    assert not pm.has_plugin(name)
    assert pm.infos["core"].status == "loaded"


def test_unavailable_builtin_shows_install_hint(monkeypatch) -> None:
    import types

    module = types.ModuleType("ak_needs_missing")
    module.AUDITKIT_REQUIRES = {"surely_not_installed_pkg": "surely-not-installed"}
    monkeypatch.setitem(sys.modules, "ak_needs_missing", module)
    pm = get_plugin_manager(builtins=[("core", "auditkit.coreplugin"), ("needy", "ak_needs_missing")])
    info = pm.infos["needy"]
    assert info.status == "unavailable"
    assert "pip install surely-not-installed" in info.error


def test_manager_is_built_in_a_factory_not_at_import() -> None:
    import auditkit
    import auditkit.manager

    assert not any(isinstance(v, auditkit.manager.AuditkitPluginManager) for v in vars(auditkit.manager).values())
    assert not any(isinstance(v, auditkit.manager.AuditkitPluginManager) for v in vars(auditkit).values())


class LateConfigError:
    @staticmethod
    def auditkit_assess(audit):
        from auditkit.errors import ConfigError

        raise ConfigError("auditkit.toml: [late] points_file = 'x.csv': no such file")


def test_usage_error_from_a_hook_exits_2(tiny_model_dir: Path, tmp_path: Path) -> None:
    run = run_audit(
        tiny_model_dir, tmp_path / "out", plugins=[("late", _marked(LateConfigError)), ("count", _marked(Counting))]
    )
    assert run.exit_code == 2
    assert run.audit.sections["count"].metrics["n"] == 120
    (finding,) = [f for f in run.audit.findings if f.plugin == "late"]
    assert finding.code == "usage-error" and "points_file" in finding.message and finding.traceback is None


class Wrapping:
    """A new-style wrapper: pluggy would run it around every assess implementation."""

    @staticmethod
    def auditkit_assess(audit):
        result = yield
        return result


class OldWrapping:
    @staticmethod
    def auditkit_render(audit, out_dir, formats):
        yield


@pytest.mark.parametrize(("plugin", "option", "hook"), [
    (Wrapping, "wrapper", "auditkit_assess"), (OldWrapping, "hookwrapper", "auditkit_render"),
])
def test_a_hook_wrapper_is_refused_at_registration_naming_plugin_and_hook(
    plugin: Any, option: str, hook: str, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from auditkit import hookimpl

    hookimpl(**{option: True})(getattr(plugin, hook))
    pm = get_plugin_manager(autoload=False, extra_plugins=[("wrapping", plugin)], builtins=())
    info = pm.infos["wrapping"]
    assert info.status == "error" and "\n" not in info.error
    assert "'wrapping'" in info.error and hook in info.error and "wrapper" in info.error
    assert not pm.has_plugin("wrapping")  # no generator ever stands in for a result
    run = run_audit(tiny_model_dir, tmp_path / "out", plugins=[("wrapping", plugin)], builtins=MINIMAL_BUILTINS)
    (finding,) = [f for f in run.audit.findings if f.plugin == "wrapping"]
    assert finding.code == "plugin-load-error" and hook in finding.message
    assert run.exit_code == 3 and "audit.json" in run.files  # the audit itself went on


class GreetingSpecs:
    """A hook the greeter plugin defines for other plugins."""

    @staticmethod
    def auditkit_greeting(name: str) -> str | None:
        """Return a greeting for ``name``."""


class Greeter:
    """Defines auditkit_greeting and calls it through audit.hook in its assess hook."""

    hookspecs = GreetingSpecs

    @staticmethod
    def auditkit_assess(audit):
        from auditkit import Section

        outcomes = list(audit.hook.auditkit_greeting.outcomes({"name": audit.model.name}))  # one per plugin
        greetings = [o.result for o in outcomes if o.ok]
        section = Section("greetings", "Greetings", metrics={"n": len(greetings)})
        section.data["greetings"] = greetings
        section.findings.extend(o.finding for o in outcomes if not o.ok)
        if all(o.ok for o in outcomes):  # called whole: pluggy's result, a list
            section.data["whole"] = audit.hook.auditkit_greeting(name=audit.model.name)
        return section


class Hello:
    @staticmethod
    def auditkit_greeting(name):
        return f"hello {name}"


class Rude:
    @staticmethod
    def auditkit_greeting(name):
        raise RuntimeError("no greeting today")


def test_a_plugin_defined_hook_is_called_through_audit_hook(tiny_model_dir: Path, tmp_path: Path) -> None:
    from auditkit import hookimpl
    from auditkit.hookspecs import hookspec

    hookspec(GreetingSpecs.auditkit_greeting)
    hookimpl(Greeter.auditkit_assess)
    hookimpl(Hello.auditkit_greeting)
    pm = get_plugin_manager(autoload=False, extra_plugins=[("hello", Hello), ("greeter", Greeter)], builtins=())
    assert pm.infos["hello"].status == "loaded" and pm.infos["hello"].hooks == ["auditkit_greeting"]
    assert pm.hook.auditkit_greeting.spec is not None  # added with the greeter, checked by check_pending

    run = run_audit(tiny_model_dir, tmp_path / "out", plugins=[("hello", Hello), ("greeter", Greeter)],
                    builtins=MINIMAL_BUILTINS)
    section = run.audit.sections["greetings"]
    name = run.audit.model.name
    assert section.metrics == {"n": 1} and section.data["greetings"] == section.data["whole"] == [f"hello {name}"]

    hookimpl(Rude.auditkit_greeting)  # a failing implementation: its caller gets a finding naming it
    run = run_audit(tiny_model_dir, tmp_path / "out2", plugins=[("hello", Hello), ("rude", Rude), ("greeter", Greeter)],
                    builtins=MINIMAL_BUILTINS)
    section = run.audit.sections["greetings"]
    (finding,) = [f for f in section.findings if f.plugin == "rude"]
    assert finding.severity == "error" and "auditkit_greeting" in finding.message
    assert "no greeting today" in finding.message
    assert section.data["greetings"] == [f"hello {name}"]  # the other plugin's result still came


def test_a_plugin_defined_hook_without_its_plugin_is_an_unknown_hook() -> None:
    from auditkit import hookimpl

    hookimpl(Hello.auditkit_greeting)
    pm = get_plugin_manager(autoload=False, extra_plugins=[("hello", Hello)], builtins=())
    assert pm.infos["hello"].status == "error" and "auditkit_greeting" in pm.infos["hello"].error


class FirstNone:
    @staticmethod
    def auditkit_publish(audit, files, target):
        return None


class FirstBroken:
    @staticmethod
    def auditkit_publish(audit, files, target):
        raise ValueError("ticket system down")


class FirstWins:
    @staticmethod
    def auditkit_publish(audit, files, target):
        return "ticket#1"


class NeverAsked:
    @staticmethod
    def auditkit_publish(audit, files, target):
        raise AssertionError("a firstresult hook stops at the first result")


def test_hook_calls_each_implementation_on_its_own_with_firstresult() -> None:
    from auditkit import hookimpl
    from auditkit.isolation import Hook

    for plugin in (FirstNone, FirstBroken, FirstWins, NeverAsked):
        hookimpl(plugin.auditkit_publish)
    # registered last is called first: FirstNone, FirstBroken, FirstWins, then NeverAsked
    plugins = [("never", NeverAsked), ("wins", FirstWins), ("broken", FirstBroken), ("none", FirstNone)]
    pm = get_plugin_manager(autoload=False, extra_plugins=plugins, builtins=())
    hook = Hook(pm.hook.auditkit_publish, "auditkit_publish")
    args = {"audit": None, "files": [], "target": "x"}
    outcomes = list(hook.outcomes(args))
    assert [o.plugin for o in outcomes] == ["none", "broken", "wins"]
    assert outcomes[1].finding.plugin == "broken" and "ticket system down" in outcomes[1].finding.message
    assert outcomes[2].result == "ticket#1"
    with pytest.raises(ValueError, match="ticket system down") as raised:  # called whole: the caller's error
        hook(**args)
    assert "'broken'" in "".join(raised.value.__notes__)
    assert Hook(hook, skip=["broken"])(**args) == "ticket#1"
