"""Call one plugin's hook implementation so that its failure is a finding, not a crash.

pluggy calls all implementations of a hook in one go and stops at the first exception;
auditkit calls each implementation on its own (as pytest's ``CallInfo.from_call`` does),
with an optional time limit, so one plugin's exception or hang cannot cost the others.
Only ``KeyboardInterrupt`` propagates: a plugin's ``sys.exit(0)`` (``SystemExit``, or any
other ``BaseException``) is a plugin error, never the end of the run with exit 0 and no
report. Hooks called whole (the firstresult loaders, publish, the CLI's commands) go
through :class:`GuardedCaller`, which turns such an exit into :class:`PluginExit`.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterable
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


class GuardedCaller:
    """A pluggy hook caller whose plugins cannot end the process: ``SystemExit`` (any
    ``BaseException`` but ``KeyboardInterrupt``) becomes :class:`PluginExit` naming the plugin.
    Anything else (``get_hookimpls``, …) is the caller's own."""

    def __init__(self, caller: Any, hook: str) -> None:
        self._caller = caller
        self._hook = hook

    def __call__(self, **kwargs: Any) -> Any:
        try:
            return self._caller(**kwargs)
        except (KeyboardInterrupt, Exception):
            raise
        except BaseException as exc:
            raise PluginExit(_culprit(self._caller.get_hookimpls(), exc), self._hook, exc) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._caller, name)


def call_plain(impl: Any, kwargs: dict[str, Any], hook: str) -> Any:
    """Call one implementation directly (its exceptions are the caller's to handle), except
    that an exit becomes :class:`PluginExit` naming the plugin."""
    try:
        return impl.function(**{name: kwargs[name] for name in impl.argnames})
    except (KeyboardInterrupt, Exception):
        raise
    except BaseException as exc:
        raise PluginExit(impl.plugin_name, hook, exc) from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _culprit(impls: list[Any], exc: BaseException) -> str:
    """The plugin whose hook function raised ``exc``: the last frame of the traceback
    (innermost) that is one of the implementations' functions."""
    codes = {}
    for impl in impls:
        function = getattr(impl.function, "__func__", impl.function)
        code = getattr(function, "__code__", None)
        if code is not None:
            codes[code] = impl.plugin_name
    found = "unknown"
    tb = exc.__traceback__
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


def implementations(pm: pluggy.PluginManager, hook_name: str, skip: Iterable[str] = ()) -> list[Any]:
    """The hook's implementations in pluggy's call order, minus the skipped plugins."""
    skipped = set(skip)
    impls = getattr(pm.hook, hook_name).get_hookimpls()
    return [impl for impl in reversed(impls) if impl.plugin_name not in skipped]


def call_impl(impl: Any, kwargs: dict[str, Any], phase: str, timeout: float = 0.0) -> CallOutcome:
    """Run one implementation; an exception or a timeout becomes an ``error`` finding."""
    args = {name: kwargs[name] for name in impl.argnames}
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
