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


@pytest.fixture(autouse=True)
def audit_json_holds_the_schema(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every audit.json a test leaves under its tmp_path matches auditkit/audit.schema.json,
    however the test read it (read_audit_json checks too, this catches the rest)."""
    yield
    tmp = request.node.funcargs.get("tmp_path") if hasattr(request.node, "funcargs") else None
    if tmp is None:
        return
    import json

    from auditkit.testing import check_audit_schema

    for folder, _, names in os.walk(tmp):  # never follows a symlink a hostile test planted
        if "audit.json" not in names:
            continue
        path = Path(folder) / "audit.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # a test's deliberately broken file: not one auditkit wrote
            continue
        if isinstance(data, dict) and "schema_version" in data:  # else a test's stand-in, not auditkit's
            check_audit_schema(data, path)


def _load_helper(name: str) -> None:
    """Make tests/NAME.py importable as ``NAME`` (importlib import mode adds no path, and
    putting tests/ on sys.path would shadow the auditkit package with tests/auditkit/)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]


_load_helper("reportaudit")  # the hand-built Audit the report tests render
_load_helper("fairnessaudit")  # the hand-built Audit the fairness tests assess
