"""Call one plugin's hook implementation so that its failure is a finding, not a crash.

pluggy calls all implementations of a hook in one go and stops at the first exception;
auditkit calls each implementation on its own (as pytest's ``CallInfo.from_call`` does),
with an optional time limit, so one plugin's exception or hang cannot cost the others.
``KeyboardInterrupt`` and ``SystemExit`` still propagate.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from auditkit.errors import UsageError
from auditkit.model import Calculation, Chart, Finding, Section, Table


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
    except (KeyboardInterrupt, SystemExit):
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
    except BaseException as exc:
        return CallOutcome(
            name,
            finding=Finding(
                "error",
                "plugin-error",
                f"plugin {name!r} failed in {phase}: {type(exc).__name__}: {exc}",
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
