"""Bad inputs a user feeds auditkit: each exits 2 with one clear line, nothing written."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest

from auditkit.testing import run_cli


def _run(model_dir: Path, tmp_path: Path, *extra: str):
    out = tmp_path / "out"
    result = run_cli(["run", model_dir, "--out", out, "--format", "json", *extra])
    return result, out


def _assert_usage_error(result, out: Path, *needles: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("auditkit: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert not list(out.glob("*/audit.json")), "nothing may be written for a failed audit"


def test_no_config_json(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tiny_model_dir / "config.json").unlink()
    (tiny_model_dir / "auditkit.toml").unlink()
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, str(tiny_model_dir), "no model directories", "config.json")


def test_missing_path(tmp_path: Path) -> None:
    result, out = _run(tmp_path / "nowhere", tmp_path)
    _assert_usage_error(result, out, "no such directory")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "lying-header"])
def test_corrupt_safetensors(tiny_model_dir: Path, tmp_path: Path, damage: str) -> None:
    weights = tiny_model_dir / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncated":
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        weights.write_bytes(b"\x00\x01not a safetensors file")
    else:  # header claims a tensor larger than the file holds
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size])
        name = next(k for k in header if k != "__metadata__")
        start, end = header[name]["data_offsets"]
        header[name]["data_offsets"] = [start, end + 10_000_000]
        blob = json.dumps(header).encode()
        weights.write_bytes(len(blob).to_bytes(8, "little") + blob + data[8 + size :])
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "model.safetensors")


class _Exploit:
    """Unpickling this would create a file: the test proves auditkit never does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_only_a_malicious_pickle(tiny_model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tiny_model_dir / "model.safetensors").unlink()
    with open(tiny_model_dir / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"weight": _Exploit(marker)}, handle)
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "pytorch_model.bin", "safetensors")
    assert not marker.exists(), "the pickle was executed"


def test_plain_tensor_pickle_loads_with_weights_only(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    state = load_file(tiny_model_dir / "model.safetensors")
    (tiny_model_dir / "model.safetensors").unlink()
    torch.save(state, tiny_model_dir / "pytorch_model.bin")
    result, out = _run(tiny_model_dir, tmp_path)
    assert result.exit_code in (0, 1), result.stderr
    audit = json.loads((out / "tox-v3" / "audit.json").read_text())
    assert audit["model"]["weights_format"] == "pickle"


def test_config_asking_for_remote_code(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = json.loads((tiny_model_dir / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "evil.EvilModel"}
    (tiny_model_dir / "config.json").write_text(json.dumps(config))
    (tiny_model_dir / "evil.py").write_text("raise SystemExit('custom code ran')\n")
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "config.json", "auto_map", "trust_remote_code")


def test_missing_column(tiny_model_dir: Path, tmp_path: Path) -> None:
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('text = "text"', 'text = "comment"'))
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "eval.csv", "'comment'", "'text', 'label', 'group', 'gender'")


def test_unknown_config_key(tiny_model_dir: Path, tmp_path: Path) -> None:
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text() + "colour = 'blue'\n")
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "auditkit.toml", "'colour'", "[data]", "expected one of")


def test_wrong_type_in_config(tiny_model_dir: Path, tmp_path: Path) -> None:
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text() + '\n[model]\nbatch_size = "many"\n')
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "auditkit.toml", "[model] batch_size", "expected an integer")


def test_invalid_toml(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tiny_model_dir / "auditkit.toml").write_text("[data\npath = ")
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "auditkit.toml", "invalid TOML")


@pytest.mark.parametrize("content", ["", "text,label,group,gender\n"])
def test_empty_data_file(tiny_model_dir: Path, tmp_path: Path, content: str) -> None:
    (tiny_model_dir / "eval.csv").write_text(content)
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "eval.csv", "no data rows" if content else "empty")


def test_label_the_model_does_not_know(tiny_model_dir: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    frame.loc[3, "label"] = 7
    frame.to_csv(tiny_model_dir / "eval.csv", index=False)
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "'label'", "'7'", "['negative', 'positive']")


def test_missing_data_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tiny_model_dir / "eval.csv").unlink()
    result, out = _run(tiny_model_dir, tmp_path)
    _assert_usage_error(result, out, "auditkit.toml", "[data] path", "no such file")


def test_bad_flags(tiny_model_dir: Path, tmp_path: Path) -> None:
    result, out = _run(tiny_model_dir, tmp_path, "--format", "docx")
    _assert_usage_error(result, out, "--format", "docx")
    result = run_cli(["run", tiny_model_dir, "--set", "nonsense"])
    assert result.exit_code == 2 and "SECTION.KEY=VALUE" in result.stderr
    result = run_cli(["run", tiny_model_dir, "--out", tmp_path / "o", "--set", "fairnes.min_group_size=3"])
    assert result.exit_code == 2 and "unknown section [fairnes]" in result.stderr


@pytest.mark.parametrize("under", [False, True])
def test_a_file_where_the_output_folder_goes(tiny_model_dir: Path, tmp_path: Path, under: bool) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("someone's notes")
    out = blocker / "audits" if under else blocker
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json"])
    _assert_usage_error(result, tmp_path, f"--out {out}", "a file is in the way", "pass another --out")
    assert blocker.read_text() == "someone's notes"


def test_debug_shows_traceback(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tiny_model_dir / "eval.csv").unlink()
    result = run_cli(["run", tiny_model_dir, "--out", tmp_path, "--debug"])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "DataError" in result.stderr
