"""Meta-tests: the promises the codebase makes about itself."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from auditkit.hookref import hook_specs

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "weasyprint", "matplotlib", "pandas", "sklearn", "fairlearn", "scipy")


@pytest.mark.parametrize("args", [["--help"], ["plugins"], ["plugins", "--json"], ["hooks"]])
def test_light_commands_import_no_heavy_library(args: list[str]) -> None:
    code = (
        "import sys\nfrom auditkit.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []", out[-500:]


def _modules() -> list[str]:
    names = [f"auditkit.{p.stem}" for p in (ROOT / "auditkit").glob("*.py") if p.stem != "__init__"]
    for path in (ROOT / "plugins").rglob("*.py"):
        parts = path.relative_to(ROOT / "plugins").with_suffix("").parts
        names.append(".".join(("auditkit.plugins", *[p for p in parts if p != "__init__"])))
    return sorted(set(names))


@pytest.mark.parametrize("module", _modules())
def test_every_module_imports_cleanly_under_warnings_as_errors(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_every_hook_is_documented_and_tested() -> None:
    tests_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    plugin_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "plugins").rglob("*.py"))
    for name, _signature, doc, _options in hook_specs():
        assert len(doc.split()) >= 20, f"{name} needs a docstring that is a reference for plugin authors"
        assert name in tests_text or name in plugin_text, f"{name} is neither implemented nor tested"


def test_hooks_command_prints_every_hook() -> None:
    from auditkit.testing import run_cli

    result = run_cli(["hooks", "--format", "markdown"])
    for name, *_ in hook_specs():
        assert f"### `{name}(" in result.stdout


def test_public_api_reexports() -> None:
    auditkit = importlib.import_module("auditkit")
    for name in ("hookimpl", "Section", "Finding", "Table", "Chart", "Audit", "__hook_api_version__"):
        assert hasattr(auditkit, name)
