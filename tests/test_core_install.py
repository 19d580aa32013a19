"""The core install (no torch, transformers or weasyprint) audits predictions and writes HTML, JSON, Markdown.

A fresh venv sees this environment's packages through a ``.pth`` file, and a
``sitecustomize`` import blocker makes ``import torch``, ``import transformers`` and
``import weasyprint`` fail as they do where the ``[hf]`` and ``[pdf]`` extras are not
installed. Installing a real core-only environment would download for minutes; the
blocker gives the same view of the world in a second.
"""

from __future__ import annotations

import json
import subprocess
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.testing import check_audit_schema

BLOCKED = ("torch", "transformers", "weasyprint")

BLOCKER = f'''
import sys


class _NotInstalled:
    """Refuse the optional heavy packages as an environment without them would."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
'''


@pytest.fixture(scope="module")
def core_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("core") / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    # addsitedir, not a bare path line: this environment's own .pth files (the editable
    # auditkit install among them) must be processed too
    ours = sysconfig.get_paths()["purelib"]
    (site / "deps-from-test-env.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    (site / "sitecustomize.py").write_text(BLOCKER)
    return python


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HF_HUB_OFFLINE": "1",
        "AUDITKIT_DISABLE_PLUGIN_AUTOLOAD": "1",
        "AUDITKIT_HOME": str(tmp_path / "home"),
        "OMP_NUM_THREADS": "1",
    }


def test_the_blocker_hides_the_optional_packages(core_python: Path, env: dict[str, str]) -> None:
    code = (
        "import importlib\n"
        f"for name in {BLOCKED!r}:\n"
        "    try:\n        importlib.import_module(name)\n    except ImportError:\n        print('absent', name)\n"
        "import pandas, auditkit\nprint('auditkit from', auditkit.__file__)"
    )
    out = subprocess.run([core_python, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert [line for line in out.splitlines() if line.startswith("absent")] == [f"absent {n}" for n in BLOCKED]
    assert "auditkit from" in out


def test_plugins_lists_the_missing_extras_as_unavailable(core_python: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [core_python, "-m", "auditkit", "plugins", "--json"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    infos = {p["name"]: p for p in json.loads(proc.stdout)}
    assert infos["transformers"]["status"] == "unavailable"
    assert infos["transformers"]["error"].startswith("pip install 'auditkit[hf]' (needs torch, transformers)")
    assert infos["pdf"]["status"] == "unavailable"
    assert infos["pdf"]["error"].startswith("pip install 'auditkit[pdf]' (needs weasyprint)")
    for name in ("core", "predictions", "tabular", "fairness", "privacy", "html", "json", "markdown", "policy"):
        assert infos[name]["status"] == "loaded", infos[name]
    table = subprocess.run(
        [core_python, "-m", "auditkit", "plugins"], capture_output=True, text=True, env=env, timeout=120
    ).stdout
    row = next(line for line in table.splitlines() if line.startswith("pdf "))
    assert "unavailable: pip install 'auditkit[pdf]'" in row


@pytest.mark.slow
def test_core_install_audits_predictions(core_python: Path, env: dict[str, str], tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    n = 300
    model_dir = tmp_path / "vendor-score"
    model_dir.mkdir()
    pd.DataFrame(
        {"risk": rng.uniform(0, 1, n).round(3), "outcome": rng.integers(0, 2, n), "race": rng.choice(["a", "b"], n)}
    ).to_csv(model_dir / "scores.csv", index=False)
    (model_dir / "auditkit.toml").write_text(
        '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["race"]\n'
        '[predictions]\nfile = "scores.csv"\nscore = "risk"\nthreshold = 0.5\n'
    )
    out = tmp_path / "reports"
    proc = subprocess.run(
        [core_python, "-m", "auditkit", "run", model_dir, "--out", out, "--format", "html,json,md"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    folder = out / "vendor-score"
    assert sorted(p.name for p in folder.iterdir()) == ["audit.json", "business.html", "compliance.html", "summary.md"]
    assert (out / "index.html").is_file()
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    check_audit_schema(audit, folder / "audit.json")
    assert audit["model"]["loader"] == "predictions"
    assert {"fairness", "privacy"} <= set(audit["sections"])
    assert proc.returncode == (1 if audit["verdict"] == "fail" else 0)
    # the missing extras are noted, never a warning that changes the verdict nor an error
    unavailable = {f["plugin"]: f for f in audit["findings"] if f["code"] == "plugin-unavailable"}
    assert set(unavailable) == {"transformers", "pdf"}
    assert all(f["severity"] == "info" for f in unavailable.values())
    assert not [f for f in audit["findings"] if f["severity"] == "error"], audit["findings"]
    assert "vendor-score" in (out / "index.html").read_text(encoding="utf-8")


def test_a_model_dir_without_the_hf_extra_names_it(core_python: Path, env: dict[str, str], tmp_path: Path) -> None:
    model_dir = tmp_path / "bert"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps({"architectures": ["BertForSequenceClassification"]}))
    proc = subprocess.run(
        [core_python, "-m", "auditkit", "run", model_dir, "--out", tmp_path / "out", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "no loader recognises this directory" in proc.stderr
    assert "pip install 'auditkit[hf]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_hf_extra_accepts_a_cuda_build_and_core_needs_no_torch() -> None:
    from auditkit.config import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"]).lower()
    for heavy in ("torch", "transformers", "weasyprint", "opacus", "safetensors", "tokenizers"):
        assert heavy not in core, heavy
    extras = project["optional-dependencies"]
    torch = next(r for r in extras["hf"] if r.startswith("torch"))
    from packaging.requirements import Requirement

    spec = Requirement(torch).specifier
    assert spec.contains("2.13.0+cu128") and spec.contains("2.13.0") and spec.contains("2.4.0")
    assert any(r.startswith("weasyprint") for r in extras["pdf"])
    assert any(r.startswith("opacus") for r in extras["dp"])
    (everything,) = [Requirement(r) for r in extras["all"]]
    assert everything.name == "auditkit" and {"hf", "pdf", "dp"} <= everything.extras


def test_every_third_party_import_is_declared() -> None:
    """Each package auditkit/ and plugins/ import (anywhere, lazily too) is a dependency or in an extra."""
    import ast
    import sys
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from auditkit.config import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = {
        canonicalize_name(Requirement(r).name)
        for r in [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    }
    imported: dict[str, str] = {}
    for folder in ("auditkit", "plugins"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    imported.setdefault(name.partition(".")[0], str(path.relative_to(root)))
    third_party = {m: where for m, where in imported.items() if m not in sys.stdlib_module_names and m != "auditkit"}
    assert {"numpy", "yaml", "jinja2", "torch"} <= set(third_party)  # the walk sees lazy imports too
    dists = packages_distributions()
    undeclared = {
        module: (where, dists.get(module))
        for module, where in third_party.items()
        if not any(canonicalize_name(d) in declared for d in dists.get(module, [module]))
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
