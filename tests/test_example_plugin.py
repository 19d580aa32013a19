"""The example third-party package (examples/auditkit-plugin-calibration), installed as users install it.

CI installs it (`.ci/run`); locally: ``pip install -e examples/auditkit-plugin-calibration``.
These tests go through entry-point discovery, so they turn autoload back on
(``plugin_autoload``) or start a fresh process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditkit.testing import read_audit_json, run_cli

try:
    from importlib.metadata import PackageNotFoundError, version

    EXAMPLE_VERSION = version("auditkit-plugin-calibration")
except PackageNotFoundError:  # a clear collection error, not a skip: CI must run these
    raise ImportError(
        "the example plugin is not installed: pip install -e examples/auditkit-plugin-calibration"
    ) from None

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "auditkit-plugin-calibration"
SOURCE = "auditkit-plugin-calibration"
# the example's section does not need these; leaving them out keeps the end-to-end runs short
SLOW = ["-p", "no:training", "-p", "no:privacy", "-p", "no:fairness", "-p", "no:market", "-p", "no:valuation"]


def test_installed_version_is_the_packages() -> None:
    from auditkit.config import tomllib

    declared = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]["version"]
    assert EXAMPLE_VERSION == declared


def test_plugins_lists_it_with_version_and_source(plugin_autoload) -> None:
    result = run_cli(["plugins", "--json"])
    assert result.exit_code == 0, result.stderr
    rows = {p["name"]: p for p in json.loads(result.stdout)}
    assert rows["calibration"] == {
        "name": "calibration",
        "version": EXAMPLE_VERSION,
        "source": SOURCE,
        "hooks": [
            "auditkit_assess",
            "auditkit_config_schema",
            "auditkit_render",
            "auditkit_report_formats",
            "auditkit_template_dirs",
        ],
        "status": "loaded",
    }
    table = run_cli(["plugins"]).stdout
    line = next(row for row in table.splitlines() if row.startswith("calibration "))
    assert EXAMPLE_VERSION in line and SOURCE in line and "loaded" in line


def test_console_script_discovers_it_and_stays_light() -> None:
    """A fresh process, the real console script's code path: no heavy import at start-up."""
    env = {k: v for k, v in os.environ.items() if k != "AUDITKIT_DISABLE_PLUGIN_AUTOLOAD"}
    code = (
        "import sys\nfrom auditkit.cli import main\nmain(['plugins', '--json'])\n"
        "print([m for m in ('numpy', 'pandas', 'matplotlib', 'torch', 'sklearn') if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    *listing, heavy = proc.stdout.strip().splitlines()
    assert heavy == "[]", "a plugin module must import its heavy libraries inside hook bodies"
    assert any(p["name"] == "calibration" and p["status"] == "loaded" for p in json.loads("\n".join(listing)))
    auditkit = shutil.which("auditkit", path=str(Path(sys.executable).parent))
    assert auditkit, "the auditkit console script is installed next to this python"
    table = subprocess.run([auditkit, "plugins"], capture_output=True, text=True, env=env, check=True).stdout
    assert any(row.startswith("calibration ") and SOURCE in row for row in table.splitlines())


def _html_renderer() -> bool:
    import importlib.util

    return importlib.util.find_spec("auditkit.plugins.render.html_report") is not None


# the HTML half runs as soon as the reports engineer's renderer is on main
needs_html = pytest.mark.skipif(not _html_renderer(), reason="the built-in HTML renderer is not on this branch yet")


def test_run_includes_its_section(plugin_autoload, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    renderers = ["-p", "no:html", "-p", "no:pdf", "-p", "no:markdown"]  # json only
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json", *SLOW, *renderers])
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    errors = [f["message"] for f in audit["findings"] if f["severity"] == "error"]
    assert not errors and result.exit_code in (0, 1), (errors, result.stderr)
    section = audit["sections"]["calibration"]
    assert section["plugin"] == "calibration" and section["title"] == "Calibration"
    assert set(section["metrics"]) >= {"ece", "ece_ci_low", "ece_ci_high", "ece_noise_floor", "worst_group_ece"}
    assert {g["feature"] for g in section["groups"]} == {"group", "gender"}
    assert audit["config"]["calibration"]["bins"] == 10, "its config section, with defaults"
    assert {"name": "calibration", "version": EXAMPLE_VERSION, "source": SOURCE} in audit["plugins"]


@needs_html
def test_compliance_html_uses_its_partial(plugin_autoload, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json,html", *SLOW])
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    errors = [f["message"] for f in audit["findings"] if f["severity"] == "error"]
    assert not errors and result.exit_code in (0, 1), (errors, result.stderr)
    html = (out / "tox-v3" / "compliance.html").read_text(encoding="utf-8")
    # the package's own partial (found through auditkit_template_dirs), not the generic one
    assert 'class="metrics calibration-headline"' in html
    assert "Reliability diagram" in html and "ECE per sensitive group" in html
    assert html.count("<svg") >= 2 and "Chart description:" in html
    # its declared key number is on the cover, with the value audit.json holds, as auditkit prints numbers
    from auditkit.rendering import format_number

    ece = format_number(audit["sections"]["calibration"]["metrics"]["ece"])
    summary = html[html.index('id="summary"') :]
    numbers = summary[summary.index('<div class="key-numbers">') : summary.index("</div>\n</div>")]
    label = '<span class="k">Expected calibration error ECE</span>'
    assert f'{label}<span class="v"><span class="num">{ece}</span>' in numbers
    # and its declared column is in the multi-model index, with the same value
    index = (out / "index.html").read_text(encoding="utf-8")
    head = index[index.index("<thead>") : index.index("</thead>")]
    assert ">Calibration ECE</th>" in head
    assert f'data-sort="{audit["sections"]["calibration"]["metrics"]["ece"]!r}">{ece}<' in index
    assert "ECE: expected calibration error" in index


def test_its_txt_format_is_accepted_and_written(plugin_autoload, tiny_model_dir: Path, tmp_path: Path) -> None:
    """A format auditkit does not know, declared by the package's renderer: no host change."""
    out = tmp_path / "out"
    renderers = ["-p", "no:html", "-p", "no:pdf", "-p", "no:markdown"]
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "txt,json", *SLOW, *renderers])
    assert result.exit_code in (0, 1), result.stderr
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    text = (out / "tox-v3" / "calibration.txt").read_text(encoding="utf-8")
    metrics = audit["sections"]["calibration"]["metrics"]
    assert f"model: tox-v3\naudit verdict: {audit['verdict']}\n" in text
    assert f"ece: {metrics['ece']:.4f}\n" in text and f"rows: {metrics['rows']}\n" in text
    assert not (out / "tox-v3" / "compliance.html").exists()  # only what was asked


def test_txt_is_unknown_without_it(plugin_autoload, tiny_model_dir: Path, tmp_path: Path) -> None:
    result = run_cli(["run", tiny_model_dir, "-p", "no:calibration", "--out", tmp_path / "out", "--format", "txt,json"])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--format txt,json: unknown format txt; choose from " in line
    assert "json" in line.split("choose from ")[1] and "txt" not in line.split("choose from ")[1]
    assert not (tmp_path / "out" / "tox-v3").exists()


def test_disable_removes_it(plugin_autoload, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # its [calibration] config is accepted and ignored while it is disabled
    with open(tiny_model_dir / "auditkit.toml", "a", encoding="utf-8") as handle:
        handle.write("\n[calibration]\nmax_ece = 0.2\n")
    result = run_cli(["run", tiny_model_dir, "-p", "no:calibration", "--out", out, "--format", "json", *SLOW])
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    assert "calibration" not in audit["sections"], result.stderr
    assert all(p["name"] != "calibration" for p in audit["plugins"])
    listing = json.loads(run_cli(["-p", "no:calibration", "plugins", "--json"]).stdout)
    assert {p["name"]: p["status"] for p in listing}["calibration"] == "disabled"


def test_config_errors_name_file_and_key(plugin_autoload, tiny_model_dir: Path, tmp_path: Path) -> None:
    config = tiny_model_dir / "auditkit.toml"
    with open(config, "a", encoding="utf-8") as handle:
        handle.write('\n[calibration]\nmax_ece = "ten percent"\n')
    result = run_cli(["run", tiny_model_dir, "--out", tmp_path / "out", "--format", "json", *SLOW])
    assert result.exit_code == 2
    assert "tox-v3/auditkit.toml: [calibration] max_ece = 'ten percent': expected a number" in result.stderr


def test_init_writes_its_section(plugin_autoload, tmp_path: Path, tiny_model_template: Path) -> None:
    model = Path(shutil.copytree(tiny_model_template, tmp_path / "model"))
    (model / "auditkit.toml").unlink()
    result = run_cli(["init", model, "--data", model / "eval.csv", "--text", "text", "--label", "label"])
    assert result.exit_code == 0, result.stderr
    text = (model / "auditkit.toml").read_text(encoding="utf-8")
    assert "[calibration]" in text and "max_ece = 0.1" in text
    assert "# tolerance: fail when the ECE is above this" in text


def test_wheel_holds_entry_point_template_and_types(tmp_path: Path) -> None:
    import zipfile

    source = Path(shutil.copytree(EXAMPLE, tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info", "build")))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("auditkit_plugin_calibration-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert {"auditkit_calibration/templates/calibration/section.html.j2", "auditkit_calibration/py.typed"} <= names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "calibration = auditkit_calibration.plugin" in archive.read(entry_points).decode()
