"""Work beside the audit on a spare core: a process that imports ahead, then runs one call.

Internal: a helper of the built-in plugins that need it (the PDF renderer lays out a second
report in one, the fairness plugin fits its what-if in one), not part of the plugin API;
it may change or go without notice. No hook starts one: a plugin decides inside its own hooks.

A step that needs a heavy library (weasyprint for a PDF; fairlearn, with scikit-learn and
SciPy under it, for the mitigation what-if) pays about a second of imports in the audit's
path. On a machine with a core to spare a plugin starts a :class:`WarmProcess` as soon as
it knows the step will come: the imports run on the other core while the audit goes on,
and :meth:`WarmProcess.submit` runs the call there. The call and its result travel
pickled over the process's stdin and stdout (our own child: nothing from outside is
unpickled), and so do the warnings it issued, which are issued again here: what a user
sees does not depend on where the call ran. A process that cannot start, dies or raises
costs time, never the result: the call then runs in this process, where an error is
raised as usual.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import subprocess

T = TypeVar("T")

_PROGRAM = (
    "import sys; sys.path = [p for p in sys.path if p not in ('', '.')]; "  # the folder it runs in is no package
    "from auditkit.warm import serve; serve(sys.argv[1:])"
)


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WarmProcess:
    """A Python process that imports ``modules`` now and runs one call when given it.

    An entry ``"module:function"`` also calls that function (no arguments) once imported, to
    warm up what a first call would otherwise pay for (fonts, caches). Unused, the process
    ends on its own once :meth:`close` (or garbage collection) closes its input.
    """

    def __init__(self, modules: Sequence[str]) -> None:
        import subprocess  # here, not at import: pdf_report imports this module on every start-up

        self.used = False
        try:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-c", _PROGRAM, *modules],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.proc = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
        """Send ``fn(*args)`` (``fn`` importable by name); the returned call waits for the
        result, or runs ``fn(*args)`` here when the process could not."""
        import pickle
        import threading
        import warnings

        proc = None if self.used else self.proc
        self.used = True
        try:
            payload = pickle.dumps((fn, args))
        except (pickle.PicklingError, TypeError, AttributeError):
            proc = None
        if proc is None:
            self.close()
            return lambda: fn(*args)
        output: list[bytes] = []

        def communicate() -> None:
            try:
                output.append(proc.communicate(payload)[0])
            except (OSError, ValueError):  # it died before reading
                proc.kill()
                proc.wait()

        thread = threading.Thread(target=communicate, daemon=True)
        thread.start()

        def result() -> T:
            thread.join()
            if proc.returncode == 0 and output:
                try:
                    value, caught = pickle.loads(output[0])  # our own child's answer
                except Exception:
                    return fn(*args)
                for text, category, filename, lineno in caught:
                    warnings.warn_explicit(text, category, filename, lineno)
                return value
            return fn(*args)

        return result

    def close(self) -> None:
        """Let an unused process end (it exits when its input closes)."""
        self.used = True
        if self.proc is not None and self.proc.returncode is None:
            for pipe in (self.proc.stdin, self.proc.stdout):
                try:
                    pipe.close()  # type: ignore[union-attr]
                except OSError:
                    pass


def serve(modules: Sequence[str]) -> None:
    """The process's side: import ``modules``, then run the one call on stdin (none: end)."""
    import importlib
    import pickle
    import warnings

    for entry in modules:
        name, _, function = entry.partition(":")
        module = importlib.import_module(name)
        if function:
            getattr(module, function)()
    payload = sys.stdin.buffer.read()
    if not payload:
        return
    fn, args = pickle.loads(payload)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every one: the caller's filters decide what shows
        value = fn(*args)
    sys.stdout.buffer.write(pickle.dumps((value, [_portable(w) for w in caught])))
    sys.stdout.flush()


def _portable(caught: Any) -> tuple[str, type[Warning], str, int]:
    """A recorded warning as (text, category, file, line); a category that cannot travel by
    name (a class made inside a function, say) travels as UserWarning."""
    import pickle

    category = caught.category
    try:
        pickle.dumps(category)
    except Exception:
        category = UserWarning
    return str(caught.message), category, caught.filename, caught.lineno
