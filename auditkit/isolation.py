"""Every hook call, the host's and the plugins' (``audit.hook``), goes through :class:`Hook`.

pluggy calls all implementations of a hook in one go and stops at the first exception;
auditkit calls each implementation on its own (as pytest's ``CallInfo.from_call`` does),
so one plugin's exception, hang or exit cannot cost the others, and every failure names
the plugin. Two ways to call, one loop under both:

- :meth:`Hook.outcomes` (assess, value, policy, render, the index): one
  :class:`CallOutcome` per implementation, an exception or a timeout an ``error`` finding;
- calling the hook (loaders, publish, schemas, commands, template folders, a plugin's own
  hooks): pluggy's result (``firstresult``: the first non-``None``; else the list), the
  plugin's exception propagating to the caller, with a note naming the plugin.

Only ``KeyboardInterrupt`` propagates as it is: a plugin's ``sys.exit(0)`` (``SystemExit``,
or any other ``BaseException``) is a plugin error, never the end of the run with exit 0 and
no report (:class:`PluginExit` when the hook is called whole). Hook wrappers
(``wrapper=True``, ``hookwrapper=True``) wrap the whole call, which auditkit never makes:
:meth:`auditkit.manager.AuditkitPluginManager.add_plugin` refuses them.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pluggy

from auditkit.audit import Calculation, Chart, Finding, Section, Table
from auditkit.errors import UsageError


@dataclass
class CallOutcome:
    plugin: str
    result: Any = None
    finding: Finding | None = None
    exception: BaseException | None = None  # what the plugin raised (a full disk is not its fault)
    seconds: float = 0.0  # how long the call took

    @property
    def ok(self) -> bool:
        return self.finding is None


class PluginTimeout(Exception):
    pass


class PluginExit(Exception):
    """A plugin raised ``SystemExit`` (or another ``BaseException``) inside a hook called
    whole; an ``Exception``, so the runner reports it (exit 3) and goes on to the next model."""

    def __init__(self, plugin: str, hook: str, exc: BaseException) -> None:
        self.plugin = plugin
        self.hook = hook
        super().__init__(
            f"plugin {plugin!r} tried to end the run in {hook} ({_describe(exc)}); "
            "a plugin must raise an exception, not exit"
        )


class Hook:
    """One hook without the ``skip``-ped plugins, called one implementation at a time.

    ``caller`` is pluggy's hook caller (``pm.hook.NAME``) or another :class:`Hook`. Anything
    not defined here (``spec``, …) is the pluggy caller's.
    """

    def __init__(self, caller: Any, name: str | None = None, skip: Iterable[str] = ()) -> None:
        skipped = set(skip)
        if isinstance(caller, Hook):
            skipped |= caller._skip
            caller = caller._caller
        self._caller = caller
        self.name: str = name or caller.name
        self._skip = frozenset(skipped)

    @property
    def firstresult(self) -> bool:
        spec = getattr(self._caller, "spec", None)
        return bool(spec is not None and spec.opts.get("firstresult"))

    def get_hookimpls(self) -> list[Any]:
        """pluggy's list (registration order, as pluggy keeps it) minus the skipped plugins."""
        return [impl for impl in self._caller.get_hookimpls() if impl.plugin_name not in self._skip]

    def implementations(self) -> list[Any]:
        """The implementations in pluggy's call order: last registered first, ``tryfirst``
        before and ``trylast`` after the rest."""
        return list(reversed(self.get_hookimpls()))

    def results(self, **kwargs: Any) -> list[tuple[str, Any]]:
        """(plugin, result) of each implementation that returned something, in call order
        (``firstresult``: the first only). An exception is the caller's, noted with the
        plugin's name; an exit is :class:`PluginExit`."""
        found = []
        for impl in self.implementations():
            result = _call_whole(impl, kwargs, self.name)
            if result is not None:
                found.append((impl.plugin_name, result))
                if self.firstresult:
                    break
        return found

    def __call__(self, **kwargs: Any) -> Any:
        """pluggy's result: ``firstresult``, the first non-``None`` (or ``None``); else the
        list of non-``None`` results."""
        found = self.results(**kwargs)
        if self.firstresult:
            return found[0][1] if found else None
        return [result for _, result in found]

    def outcomes(
        self, kwargs: dict[str, Any], timeout: float = 0.0, starting: Callable[[str], None] | None = None
    ) -> Iterator[CallOutcome]:
        """One :class:`CallOutcome` per implementation, in call order; a failure is an
        ``error`` finding naming the plugin and the others still run. ``starting(plugin)``
        is told before each call (progress); ``firstresult`` stops at the first result."""
        for impl in self.implementations():
            if starting is not None:
                starting(impl.plugin_name)
            outcome = call_impl(impl, kwargs, self.name, timeout)
            yield outcome
            if self.firstresult and outcome.ok and outcome.result is not None:
                return

    def __getattr__(self, name: str) -> Any:
        return getattr(self._caller, name)


class HookRelay:
    """``pm.hook`` (what ``audit.hook`` is) whose every hook is a :class:`Hook` without the
    ``skip``-ped plugins: a plugin calling another plugin's hook gets the same isolation."""

    def __init__(self, pm: pluggy.PluginManager, skip: Iterable[str] = ()) -> None:
        self._pm = pm
        self._skip = tuple(skip)

    def __getattr__(self, name: str) -> Hook:
        if name.startswith("__"):
            raise AttributeError(name)
        return Hook(getattr(self._pm.hook, name), name, self._skip)


def hook_of(relay: Any, name: str) -> Hook:
    """``relay.NAME`` (``pm.hook``, ``audit.hook`` or a :class:`HookRelay`) as a :class:`Hook`."""
    return Hook(getattr(relay, name), name)


def _call_whole(impl: Any, kwargs: dict[str, Any], hook: str) -> Any:
    """Call one implementation for a hook called whole: its exception is the caller's (with
    a note naming the plugin, for the traceback), its exit a :class:`PluginExit`."""
    try:
        return impl.function(**_arguments(impl, kwargs, hook))
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if hasattr(exc, "add_note"):
            exc.add_note(f"(in plugin {impl.plugin_name!r}, hook {hook})")
        raise
    except BaseException as exc:
        raise PluginExit(impl.plugin_name, hook, exc) from exc


def _arguments(impl: Any, kwargs: dict[str, Any], hook: str) -> dict[str, Any]:
    missing = [name for name in impl.argnames if name not in kwargs]
    if missing:  # the caller's mistake, as pluggy reports it
        raise pluggy.HookCallError(f"hook call of {hook} must provide argument(s) {missing}")
    return {name: kwargs[name] for name in impl.argnames}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def implementations(pm: pluggy.PluginManager, hook_name: str, skip: Iterable[str] = ()) -> list[Any]:
    """The hook's implementations in pluggy's call order, minus the skipped plugins."""
    return Hook(getattr(pm.hook, hook_name), hook_name, skip).implementations()


def call_impl(impl: Any, kwargs: dict[str, Any], phase: str, timeout: float = 0.0) -> CallOutcome:
    """Run one implementation; an exception or a timeout becomes an ``error`` finding."""
    started = time.perf_counter()
    outcome = _call_isolated(impl, kwargs, phase, timeout)
    outcome.seconds = round(time.perf_counter() - started, 4)
    return outcome


def _call_isolated(impl: Any, kwargs: dict[str, Any], phase: str, timeout: float) -> CallOutcome:
    args = _arguments(impl, kwargs, phase)
    name = impl.plugin_name
    try:
        if timeout and timeout > 0:
            result = _call_with_timeout(impl.function, args, timeout)
        else:
            result = impl.function(**args)
    except KeyboardInterrupt:
        raise
    except UsageError as exc:  # bad input found late (a config value a plugin checks itself)
        return CallOutcome(
            name,
            finding=Finding("error", "usage-error", f"plugin {name!r}: {exc}", plugin=name),
        )
    except PluginTimeout:
        return CallOutcome(
            name,
            finding=Finding(
                "error",
                "plugin-timeout",
                f"plugin {name!r} did not finish {phase} within {timeout:g} s ([run] timeout); its result is left out",
                plugin=name,
            ),
        )
    except BaseException as exc:  # SystemExit too: a plugin's sys.exit(0) must not end the run
        what = f"{type(exc).__name__}: {exc}" if isinstance(exc, Exception) else f"{_describe(exc)}, not allowed"
        return CallOutcome(
            name,
            finding=Finding(
                "error",
                "plugin-error",
                f"plugin {name!r} failed in {phase}: {what}",
                plugin=name,
                traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            ),
            exception=exc,
        )
    return CallOutcome(name, result=result)


def _call_with_timeout(function: Any, args: dict[str, Any], timeout: float) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = function(**args)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="auditkit-plugin", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        # a thread cannot be killed; it is a daemon, so it will not keep the process alive
        raise PluginTimeout()
    if "error" in box:
        raise box["error"]
    return box.get("result")


def section_problem(section: Section) -> str | None:
    """What makes a returned Section unusable by the renderers, or None when it is sound.

    A plugin may return a Section whose fields hold nonsense (a reserved data key, a
    circular structure, strings as metrics); checked here, it is left out with a finding
    naming the plugin, instead of breaking audit.json and every report after it.
    """
    import json
    import numbers

    if not isinstance(section.name, str) or not section.name:
        return f"name {section.name!r} is not a non-empty string"
    if not isinstance(section.title, str) or not isinstance(section.summary, str):
        return "title and summary must be strings"
    if section.report not in ("compliance", "business"):
        return f"report {section.report!r} is not 'compliance' or 'business'"
    if not isinstance(section.metrics, dict) or not all(
        isinstance(k, str) and (v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool)))
        for k, v in section.metrics.items()
    ):
        return "metrics must map names to numbers (or None)"
    for field, kind in (("findings", Finding), ("tables", Table), ("charts", Chart), ("calculations", Calculation)):
        items = getattr(section, field)
        if not isinstance(items, list) or not all(isinstance(item, kind) for item in items):
            return f"{field} must be a list of {kind.__name__}"
    try:
        json.dumps(section.to_json(), allow_nan=False)
    except Exception as exc:  # reserved keys, cycles, a table whose frame is not a DataFrame
        return f"it cannot be written as JSON ({type(exc).__name__}: {str(exc)[:200]})"
    return None
