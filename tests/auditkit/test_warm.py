"""WarmProcess runs a call in another process, and costs only time when that process cannot."""

from __future__ import annotations

import os

import pytest

from auditkit import warm


def test_the_call_runs_in_the_warm_process_with_its_modules_imported() -> None:
    side = warm.WarmProcess(("json", "fractions"))
    assert side.proc is not None and side.proc.poll() is None  # importing, then waiting for its call
    assert side.submit(os.getpid)() == side.proc.pid != os.getpid()
    assert side.proc.returncode == 0


def test_an_unused_process_ends_when_closed() -> None:
    side = warm.WarmProcess(("json",))
    side.close()
    assert side.proc is not None and side.proc.wait(timeout=60) == 0


def test_a_process_that_fails_or_cannot_take_the_call_leaves_it_to_this_one(monkeypatch) -> None:
    broken = warm.WarmProcess(("no_such_module_anywhere",))  # it dies importing
    assert broken.submit(os.getpid)() == os.getpid()
    assert broken.proc is not None and broken.proc.returncode != 0
    assert warm.WarmProcess(("json",)).submit(lambda: 7)() == 7  # a lambda is not picklable: run here
    monkeypatch.setattr(warm, "_PROGRAM", "import sys; sys.exit(3)")
    assert warm.WarmProcess(("json",)).submit(os.getpid)() == os.getpid()


def test_an_error_in_the_call_is_raised_here() -> None:
    import importlib

    with pytest.raises(ModuleNotFoundError, match="no_such_module_anywhere"):
        warm.WarmProcess(("json",)).submit(importlib.import_module, "no_such_module_anywhere")()


def test_a_process_is_used_once() -> None:
    side = warm.WarmProcess(("json",))
    assert side.submit(os.getpid)() == side.proc.pid
    assert side.submit(os.getpid)() == os.getpid()


def test_warnings_issued_in_the_process_are_issued_here(tmp_path, monkeypatch) -> None:
    (tmp_path / "warner.py").write_text(
        "import os, warnings\n"
        "def warn_and_pid():\n"
        "    warnings.warn('careful: few rows', FutureWarning)\n"
        "    return os.getpid()\n"
        "def warn_local():\n"
        "    class Odd(Warning):\n"
        "        pass\n"
        "    warnings.warn('odd one', Odd)\n"
        "    return os.getpid()\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # importable in the child ...
    monkeypatch.syspath_prepend(str(tmp_path))  # ... and here
    import warner

    side = warm.WarmProcess(("json",))
    with pytest.warns(FutureWarning, match="careful: few rows") as caught:
        assert side.submit(warner.warn_and_pid)() == side.proc.pid != os.getpid()
    assert len(caught) == 1 and caught[0].filename.endswith("warner.py")
    side = warm.WarmProcess(("json",))
    with pytest.warns(UserWarning, match="odd one"):  # a class made in a function cannot travel by name
        assert side.submit(warner.warn_local)() == side.proc.pid


def test_a_module_function_entry_warms_up_the_process_and_a_broken_one_fails_it() -> None:
    warmed = warm.WarmProcess(("json", "gc:collect"))  # gc.collect() runs once imported
    assert warmed.submit(os.getpid)() == warmed.proc.pid
    broken = warm.WarmProcess(("json", "os:no_such_function"))
    assert broken.submit(os.getpid)() == os.getpid() and broken.proc.returncode != 0
