"""docs/hooks.md is what `auditkit hooks --format markdown` prints, and docs/plugins.md's
tutorial package is built from its code blocks and passes its own tests."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from auditkit.hookref import hook_specs
from auditkit.testing import MINIMAL_BUILTINS, run_audit, run_cli

ROOT = Path(__file__).resolve().parents[1]
PLUGINS_MD = ROOT / "docs" / "plugins.md"
# a bold file name, a blank line, then the fenced block with that file's content
FILE_BLOCK = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```\w*\n(.*?)^```", re.M | re.S)


def test_hooks_md_is_up_to_date() -> None:
    expected = run_cli(["hooks", "--format", "markdown"]).stdout
    current = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert current == expected, "docs/hooks.md is stale: run `auditkit hooks --format markdown > docs/hooks.md`"


def test_plugin_guide_covers_every_hook_and_its_python_compiles() -> None:
    text = PLUGINS_MD.read_text(encoding="utf-8")
    for name, *_ in hook_specs():
        assert name in text, f"docs/plugins.md does not mention {name}"
    for number, block in enumerate(re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)):
        compile(block, f"docs/plugins.md python block {number}", "exec")
    for link in re.findall(r"\]\((\.\./[^)#]+|[a-z]+\.md)\)", text):
        assert (PLUGINS_MD.parent / link).exists(), f"docs/plugins.md links to a missing {link}"


@pytest.fixture(scope="module")
def tutorial_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial's package, written from its code blocks (the last block per file wins)."""
    root = tmp_path_factory.mktemp("tutorial") / "auditkit-plugin-length"
    files = dict(FILE_BLOCK.findall(PLUGINS_MD.read_text(encoding="utf-8")))
    assert {"pyproject.toml", "src/auditkit_length/plugin.py", "tests/test_length.py"} <= set(files)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content, encoding="utf-8")
    return root


def test_tutorial_package_passes_its_own_tests(tutorial_package: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tutorial_package,
        env={**_env(), "PYTHONPATH": str(tutorial_package / "src")},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout


def test_tutorial_wheel_holds_the_entry_point_and_the_template(tutorial_package: Path, tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(tutorial_package),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("auditkit_plugin_length-0.1.0-*.whl")
    archive = zipfile.ZipFile(wheel)
    assert "auditkit_length/templates/length/section.html.j2" in archive.namelist()
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert archive.read(entry_points).decode().split() == ["[auditkit]", "length", "=", "auditkit_length.plugin"]


@pytest.mark.skipif(
    importlib.util.find_spec("auditkit.plugins.render.html_report") is None,
    reason="the built-in HTML renderer is not on this branch yet",
)
def test_tutorial_partial_is_used_in_the_report(
    tutorial_package: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tutorial_package / "src"))
    import auditkit_length.plugin as length

    try:
        run = run_audit(
            tiny_model_dir,
            tmp_path / "out",
            plugins=[length],
            formats=["json", "html"],
            builtins=(*MINIMAL_BUILTINS, "html"),
        )
    finally:
        for name in [m for m in sys.modules if m.startswith("auditkit_length")]:
            del sys.modules[name]
    assert not run.errors(), run.errors()
    assert run.json["sections"]["length"]["metrics"]["buckets"] == 3
    html = run.text("compliance.html")
    assert 'class="note length-note"' in html and "Accuracy per length bucket" in html


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
