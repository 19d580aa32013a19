"""Shared fixtures: auditkit's own test kit (tiny real models) plus a few host helpers."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# third-party plugins installed in the environment must not change the built-ins' tests
os.environ.setdefault("AUDITKIT_DISABLE_PLUGIN_AUTOLOAD", "1")
# One torch thread (before torch is imported; subprocesses inherit it): the test models are
# tiny, and on a 2-core machine two threads per process only wait on each other, several
# times slower once anything else runs; set OMP_NUM_THREADS to choose otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")

pytest_plugins = ["auditkit.testing"]


@pytest.fixture(scope="session", autouse=True)
def reviewer_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """AUDITKIT_HOME (the reviewer's config folder: cache key, trust store) in a tmp folder,
    so no test reads or writes the real home. One per session, not per test: module-scoped
    fixtures run audits whose caches the tests then reuse, which needs the same cache key.
    A test that needs its own folder sets AUDITKIT_HOME with monkeypatch."""
    home = tmp_path_factory.mktemp("auditkit-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDITKIT_HOME", str(home))
        yield home


def _load_helper(name: str) -> None:
    """Make tests/NAME.py importable as ``NAME`` (importlib import mode adds no path, and
    putting tests/ on sys.path would shadow the auditkit package with tests/auditkit/)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]


_load_helper("reportaudit")  # the hand-built Audit the report tests render
