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
from auditkit.model import Finding


@dataclass
class CallOutcome:
    plugin: str
    result: Any = None
    finding: Finding | None = None

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
