"""The built wheel holds the host, the plugins and the templates, and audits from a fresh venv."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(dist)],
        check=True,
        capture_output=True,
        text=True,
    )
    (found,) = dist.glob("auditkit-*.whl")
    return found


def test_wheel_contains_plugins_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    plugin_dirs = [p for p in (ROOT / "plugins").rglob("*.py") if "__pycache__" not in p.parts]
    for path in plugin_dirs:
        assert f"auditkit/plugins/{path.relative_to(ROOT / 'plugins').as_posix()}" in names
    for path in (ROOT / "templates").rglob("*"):
        if path.is_file() and path.suffix in (".j2", ".css", ".html"):
            assert f"auditkit/templates/{path.relative_to(ROOT / 'templates').as_posix()}" in names
    assert "auditkit/py.typed" in names
    for path in (ROOT / "auditkit").glob("*.py"):
        assert f"auditkit/{path.name}" in names


def test_every_plugin_package_is_listed_for_setuptools() -> None:
    from auditkit.config import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    for init in (ROOT / "plugins").rglob("__init__.py"):
        package = ".".join(("auditkit.plugins", *init.parent.relative_to(ROOT / "plugins").parts))
        assert package in listed, f"add {package!r} to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.slow
def test_audit_from_the_installed_wheel(wheel: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    env_dir = tmp_path / "venv"
    # no pip of its own (ensurepip costs seconds): this environment's pip installs into it
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # the heavy dependencies come from this environment; auditkit itself only from the wheel
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    where = subprocess.check_output(
        [
            python,
            "-c",
            "import auditkit, auditkit.plugins, auditkit.templates; "
            "print(auditkit.__file__); print(auditkit.templates.__file__)",
        ],
        text=True,
        cwd=tmp_path,
    )
    assert all(line.startswith(str(env_dir)) for line in where.split()), where
    out = tmp_path / "reports"
    proc = subprocess.run(
        [env_dir / "bin" / "auditkit", "run", str(tiny_model_dir), "--out", str(out), "--format", "json,md,html"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "AUDITKIT_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert proc.returncode in (0, 1), proc.stderr
    audit = json.loads((out / "tox-v3" / "audit.json").read_text())
    assert audit["model"]["loader"] == "transformers"
    assert not [f for f in audit["findings"] if f["code"] == "plugin-load-error"], audit["findings"]
