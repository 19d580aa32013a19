"""Build the plugin manager: specs, blocked names, built-ins, entry points, validation.

The manager is made by :func:`get_plugin_manager`, never at import time. Every plugin,
built-in or third-party, comes in through :meth:`AuditkitPluginManager.add_plugin`, and
auditkit keeps its own record (:class:`~auditkit.audit.PluginInfo`) of where each came
from instead of reading pluggy's private state.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import traceback
from collections.abc import Iterable
from typing import Any

import pluggy

from auditkit import hookspecs
from auditkit._version import __version__
from auditkit.audit import PluginInfo

PROJECT = "auditkit"
ENTRY_POINT_GROUP = "auditkit"
AUTOLOAD_ENV = "AUDITKIT_DISABLE_PLUGIN_AUTOLOAD"

# name → module. One list, registered by the same path a third-party plugin takes.
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("core", "auditkit.coreplugin"),
    ("tabular", "auditkit.plugins.loaders.tabular"),
    ("transformers", "auditkit.plugins.loaders.transformers_model"),
    ("predictions", "auditkit.plugins.loaders.predictions"),
    ("training", "auditkit.plugins.assess.training"),
    ("fairness", "auditkit.plugins.assess.fairness"),
    ("privacy", "auditkit.plugins.assess.privacy"),
    ("market", "auditkit.plugins.value.market"),
    ("valuation", "auditkit.plugins.value.valuation"),
    ("policy", "auditkit.plugins.policy.thresholds"),
    # both trylast; pluggy calls a later-registered trylast impl later: markdown, then json
    ("markdown", "auditkit.plugins.render.markdown_report"),
    ("json", "auditkit.plugins.render.json_report"),
    ("html", "auditkit.plugins.render.html_report"),
    ("pdf", "auditkit.plugins.render.pdf_report"),
    ("junit", "auditkit.plugins.render.junit_report"),
    ("publish", "auditkit.plugins.publish.directory"),
    ("github", "auditkit.plugins.publish.github"),
    ("gitlab", "auditkit.plugins.publish.gitlab"),
    ("jira", "auditkit.plugins.publish.jira"),
    ("roundup", "auditkit.plugins.publish.roundup"),
    ("pool", "auditkit.plugins.execute.local"),
    ("dask", "auditkit.plugins.execute.dask"),
)

# Plugins without which auditkit cannot run at all; `-p no:` refuses them.
ESSENTIAL_PLUGINS = frozenset({"core", "json"})


class AuditkitPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's version, source and load status."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.infos: dict[str, PluginInfo] = {}

    def add_plugin(self, plugin: Any, name: str, version: str, source: str) -> bool:
        """Register one plugin, its own hook specifications first; a validation error is
        recorded, not raised.

        A plugin may define hooks for other plugins to implement: a ``hookspecs`` attribute
        (a module or class of ``@hookspec`` functions) is added before the plugin itself, so
        its implementations and everyone's are checked against it by ``check_pending``.
        """
        if self.is_blocked(name):
            self.infos[name] = PluginInfo(name, version, source, [], status="disabled")
            return False
        try:
            specs = getattr(plugin, "hookspecs", None)
            if specs is not None and specs is not hookspecs:  # a module that imported the host's own
                self.add_hookspecs(specs)
            self.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.infos[name] = PluginInfo(name, version, source, [], status="error", error=str(exc))
            return False
        wrapper = _wrapper_hook(self, plugin, name)
        if wrapper:
            self.unregister(plugin)
            error = (
                f"plugin {name!r}: {wrapper} is a hook wrapper (wrapper=True or hookwrapper=True); auditkit "
                "calls each implementation on its own, so it takes no wrappers: implement the hook plainly"
            )
            self.infos[name] = PluginInfo(name, version, source, [], status="error", error=error)
            return False
        self.infos[name] = PluginInfo(name, version, source, [])
        return True

    def validate(self) -> None:
        """``check_pending``: unregister each plugin that implements an unknown hook."""
        while True:
            try:
                self.check_pending()
                break
            except pluggy.PluginValidationError as exc:
                name = self.get_name(exc.plugin) or repr(exc.plugin)
                self.unregister(exc.plugin)
                info = self.infos.get(name) or PluginInfo(name, "?", "?", [])
                info.status = "error"
                info.error = f"plugin {name!r}: {exc}"
                self.infos[name] = info
        for name, plugin in self.list_name_plugin():
            if name in self.infos:
                callers = self.get_hookcallers(plugin) or []
                self.infos[name].hooks = sorted(c.name for c in callers)

    def active(self) -> list[PluginInfo]:
        return [i for i in self.infos.values() if i.status == "loaded"]


def _wrapper_hook(pm: pluggy.PluginManager, plugin: Any, name: str) -> str | None:
    """The first hook ``plugin`` implements as a wrapper, or None.

    A wrapper wraps the call of every other implementation, which auditkit never makes
    (:class:`auditkit.isolation.Hook` calls them one by one so that one plugin's failure
    cannot cost the others): called alone, it would hand back a generator as its result.
    """
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin_name == name and (impl.wrapper or impl.hookwrapper):
                return caller.name
    return None


def get_plugin_manager(
    disabled: Iterable[str] = (),
    extra_plugins: Iterable[tuple[str, Any]] = (),
    autoload: bool | None = None,
    builtins: Iterable[tuple[str, str]] | None = None,
) -> AuditkitPluginManager:
    """Build a manager: specs → block ``-p no:`` names → external → built-ins → check.

    ``extra_plugins`` are (name, object) pairs registered in-process (tests,
    ``auditkit.testing``); ``autoload=False`` (or ``AUDITKIT_DISABLE_PLUGIN_AUTOLOAD=1``)
    skips entry points, so only the built-ins load.
    """
    pm = AuditkitPluginManager()
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        if name in ESSENTIAL_PLUGINS:
            from auditkit.errors import UsageError

            raise UsageError(f"-p no:{name}: {name!r} is essential and cannot be disabled")
        pm.set_blocked(name)
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    for name, plugin in extra_plugins:
        from auditkit.compat import check_hook_api

        version = getattr(plugin, "__version__", "0")
        problem = check_hook_api(plugin)  # `-p MODULE` gets the same version check as entry points
        if problem:
            pm.infos[name] = PluginInfo(name, version, "in-process", [], status="error", error=problem)
            continue
        pm.add_plugin(plugin, name, version, "in-process")
    if autoload:
        _load_entry_points(pm)
    # built-ins after external ones (as tox does), so a plugin can claim work first
    for name, module in BUILTIN_PLUGINS if builtins is None else builtins:
        _load_builtin(pm, name, module)
    pm.validate()
    return pm


def _load_builtin(pm: AuditkitPluginManager, name: str, module_name: str) -> None:
    if pm.is_blocked(name):
        pm.infos[name] = PluginInfo(name, __version__, "built-in", [], status="disabled")
        return
    if pm.has_plugin(name):  # an external plugin took the name on purpose
        return
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        pm.infos[name] = PluginInfo(
            name, __version__, "built-in", [], status="error", error=f"{type(exc).__name__}: {exc}"
        )
        return
    missing = [(dist, hint) for dist, hint in getattr(module, "AUDITKIT_REQUIRES", {}).items() if not _importable(dist)]
    if missing:
        # one line per extra: torch and transformers both come with auditkit[hf]
        hint = "; ".join(f"pip install {h}" for h in dict.fromkeys(h for _, h in missing))
        pm.infos[name] = PluginInfo(
            name,
            __version__,
            "built-in",
            [],
            status="unavailable",
            error=f"{hint} (needs {', '.join(d for d, _ in missing)})",  # the hint first: tables cut long cells
        )
        return
    pm.add_plugin(module, name, __version__, "built-in")


def _importable(module_name: str) -> bool:
    """Whether ``module_name`` could be imported, without importing it (torch costs seconds).

    A finder that refuses the name (an import blocker, a broken namespace package) counts
    as "not installed", so the plugin shows as unavailable instead of stopping the host.
    """
    try:
        return importlib.util.find_spec(module_name) is not None
    except (ImportError, ValueError):
        return False


def _load_entry_points(pm: AuditkitPluginManager) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        version = dist.version if dist is not None else "?"
        source = dist.name if dist is not None else ep.value
        if pm.is_blocked(ep.name):
            pm.infos[ep.name] = PluginInfo(ep.name, version, source, [], status="disabled")
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # one broken package must not stop the rest
            last = traceback.format_exception_only(type(exc), exc)[-1].strip()
            pm.infos[ep.name] = PluginInfo(ep.name, version, source, [], status="error", error=last)
            continue
        from auditkit.compat import check_hook_api

        problem = check_hook_api(plugin)
        if problem:
            pm.infos[ep.name] = PluginInfo(ep.name, version, source, [], status="error", error=problem)
            continue
        pm.add_plugin(plugin, ep.name, version, source)
