"""No file content, environment or local path of the reviewer's machine in any report.

Each path-valued key that reads a file into a plugin (pair files, membership data, the
training record, the market's points) is set by the reviewer's own ``--config`` (a TOML
outside the model dir, which the model dir's rules do not stop) and pointed at
``/proc/self/environ`` holding a secret, or at an outside file holding a marker and its own
absolute path. No byte of either, nor the outside or temporary folder's path, may reach
audit.json, summary.md, the HTML or PDF reports, stdout or stderr (docs/security.md).

/proc/self/environ shows the environment a process started with (``os.environ`` changes
made later are not in it), so those runs start the real CLI in a child process whose
environment holds the secret; the other runs use :func:`auditkit.testing.run_cli`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from auditkit.testing import CliResult, run_cli

ENVIRON = "/proc/self/environ"
DOMAIN = ("training", "fairness", "privacy", "market", "valuation")

# key under test → (plugin, the reviewer's config section for a file)
KEYS: dict[str, tuple[str, Any]] = {
    "pairs_original": (
        "fairness",
        lambda f: {"fairness.counterfactual": {"pairs_original": f, "pairs_counterfactual": f}},
    ),
    "train_data": ("privacy", lambda f: {"privacy.membership": {"train_data": f, "holdout_data": f}}),
    "record": ("training", lambda f: {"training": {"record": f}}),
    "points_file": ("market", lambda f: {"market": {"curve": "fit", "points_file": f}}),
}


def _toml(sections: dict[str, dict[str, Any]]) -> str:
    from auditkit.config import toml_key, toml_value

    lines = []
    for name, body in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in body.items())
    return "\n".join(lines) + "\n"


def _outside_file(folder: Path, key: str, marker: str) -> Path:
    """A reviewer's own file: the marker and the file's absolute path in its cells."""
    if key == "record":
        path = folder / "private-settings.json"
        body = {
            "description": marker,  # free text: only a record that says it is one may carry it
            "notes": [marker],
            "hyperparameters": {"learning_rate": marker, marker: 1},
            "seed": marker,
            "data": {"path": str(path), "train_rows": marker},
            "wall_seconds": str(path),
            "api_token": marker,
        }
        path.write_text(json.dumps(body), encoding="utf-8")
        return path
    path = folder / "private-notes.csv"
    # no column a plugin wants: the error texts are what could carry the cells
    path.write_text(f"customer,remark\n{marker},{path}\n{path},{marker} 12.5\n", encoding="utf-8")
    return path


def _cli_in_child(args: list[str]) -> CliResult:
    """The real CLI in a child process, so that /proc/self/environ holds this environment."""
    code = "import sys; from auditkit.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    return CliResult(done.returncode, done.stdout, done.stderr)


def _report_texts(out: Path) -> dict[str, str]:
    """Every report file as text (PDFs through pdftotext or pypdf); the .cache folder is no report."""
    texts = {}
    for path in sorted(out.rglob("*")):
        if not path.is_file() or ".cache" in path.relative_to(out).parts:
            continue
        if path.suffix == ".pdf":
            texts[str(path)] = _pdf_text(path)
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return texts


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pypdf = pytest.importorskip("pypdf", reason="no pdftotext and no pypdf: the PDF text cannot be checked")
    return "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages)


def _assert_clean(result: CliResult, out: Path, needles: list[str], formats: str) -> dict[str, str]:
    texts = _report_texts(out)
    expected = {"json": "audit.json", "md": "summary.md", "html": "compliance.html", "pdf": "compliance.pdf"}
    written = {Path(p).name for p in texts}
    for fmt in formats.split(","):
        assert expected[fmt] in written, (fmt, sorted(written), result.stderr[-2000:])
    texts["stdout"], texts["stderr"] = result.stdout, result.stderr
    for where, text in texts.items():
        for needle in needles:
            assert needle not in text, f"{needle!r} leaked into {where}"
    assert "Traceback" not in result.stderr
    return texts


def _path_hash(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:6]


def _run(
    tmp_path: Path,
    model_dir: Path,
    config: Path,
    key: str,
    formats: str,
    child: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[CliResult, Path]:
    monkeypatch.chdir(tmp_path)  # the reviewer's working folder: paths on the command line stay relative
    plugin = KEYS[key][0]
    quiet = [arg for name in DOMAIN if name != plugin for arg in ("-p", f"no:{name}")]
    if plugin == "fairness":  # the counterfactual runs after the group metrics: keep those short
        quiet += ["--set", "fairness.bootstrap=0"]
    args = ["run", model_dir.name, "--out", "out", "--format", formats, "--config", str(config), *quiet]
    result = _cli_in_child(args) if child else run_cli(args)
    return result, tmp_path / "out"


def _needles(tmp_path: Path, *extra: str) -> list[str]:
    folders = {str(tmp_path), os.path.realpath(tmp_path)}
    return [*folders, *extra]


@pytest.mark.parametrize("key", list(KEYS))
def test_environment_file_leaks_nothing(
    key: str, tiny_model_dir: Path, outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"envsecret-{uuid.uuid4().hex}"
    monkeypatch.setenv("AUDITKIT_TEST_SECRET", secret)
    config = outside / "reviewer.toml"
    config.write_text(_toml(KEYS[key][1](ENVIRON)), encoding="utf-8")
    result, out = _run(tmp_path, tiny_model_dir, config, key, "json,md", True, monkeypatch)
    texts = _assert_clean(result, out, _needles(tmp_path, secret, "AUDITKIT_TEST_SECRET", ENVIRON), "json,md")
    # the file is named, by its name and the hash of its path, and said not to be text
    shown = f"environ (path #{_path_hash(ENVIRON)})"
    audit = texts[str(out / tiny_model_dir.name / "audit.json")]
    assert shown in audit and "NUL bytes" in audit, audit[:3000]


@pytest.mark.parametrize("key", list(KEYS))
def test_outside_file_leaks_nothing(
    key: str, tiny_model_dir: Path, outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = f"cellmarker-{uuid.uuid4().hex}"
    private = _outside_file(outside, key, marker)
    config = outside / "reviewer.toml"
    config.write_text(_toml(KEYS[key][1](str(private))), encoding="utf-8")
    result, out = _run(tmp_path, tiny_model_dir, config, key, "json,md", False, monkeypatch)
    texts = _assert_clean(result, out, _needles(tmp_path, marker, str(private), str(outside)), "json,md")
    audit = texts[str(out / tiny_model_dir.name / "audit.json")]
    assert f"{private.name} (path #{_path_hash(str(private))})" in audit
    if key == "record":  # read, and every value that is not a record's own counted, not quoted
        found = json.loads(audit)["sections"]["training"]["findings"]
        ignored = [f["message"] for f in found if "value(s) ignored" in f["message"]]
        # description, notes, hyperparameters' two entries, seed, data's path and rows, wall_seconds, api_token
        assert ignored and " 9 value(s) ignored" in ignored[0], found
    else:  # the column list is what an error may quote
        assert "'customer', 'remark'" in audit


def test_record_paths_and_every_format(
    tiny_model_dir: Path, outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real record (schema_version 1) keeps its text, but its recorded paths become name + hash."""
    marker = f"cellmarker-{uuid.uuid4().hex}"
    private = outside / "training.json"
    data_path = str(outside / "home" / "alice" / "data.csv")
    body = {
        "schema_version": 1,
        "description": "fine-tuned on support tickets",
        "hyperparameters": {"learning_rate": 5e-5, "optimizer": "AdamW", "secret_knob": marker},
        "data": {"path": data_path, "train_rows": 100, "note": marker},
        "options": {"argv": [marker, data_path]},
        "wall_seconds": 12.0,
    }
    private.write_text(json.dumps(body), encoding="utf-8")
    config = outside / "reviewer.toml"
    config.write_text(_toml(KEYS["record"][1](str(private))), encoding="utf-8")
    result, out = _run(tmp_path, tiny_model_dir, config, "record", "html,pdf,json,md", False, monkeypatch)
    needles = _needles(tmp_path, marker, str(private), str(outside), data_path, "/home/alice")
    texts = _assert_clean(result, out, needles, "html,pdf,json,md")
    audit = json.loads(texts[str(out / tiny_model_dir.name / "audit.json")])
    training = audit["sections"]["training"]
    assert training["description"] == "fine-tuned on support tickets"
    assert training["hyperparameters"]["learning_rate"] == 5e-5 and "secret_knob" not in training["hyperparameters"]
    assert training["provenance"]["data path"] == f"data.csv (path #{_path_hash(data_path)})"
    assert training["metrics"]["wall_seconds"] == 12.0
    html = texts[str(out / tiny_model_dir.name / "compliance.html")]
    assert f"data.csv (path #{_path_hash(data_path)})" in html
