"""End to end through the real CLI on real tiny model dirs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from auditkit.testing import build_tiny_bert, read_audit_json, run_cli

# The domain plugins (fairness, privacy, ...) are beside the point of the host tests that
# pass these, and cost most of a run's time; test_one_model_writes_audit_json runs them all.
DOMAIN = ("fairness", "privacy", "training", "market", "valuation")
DOMAIN_OFF = [arg for name in DOMAIN for arg in ("-p", f"no:{name}")]


def test_one_model_writes_audit_json(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json"])
    assert result.exit_code in (0, 1), result.stderr
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    for key in ("schema_version", "auditkit_version", "model", "dataset", "plugins", "sections", "findings", "verdict"):
        assert key in audit
    model = audit["model"]
    assert {k: model[k] for k in ("name", "task", "labels", "loader")} == {
        "name": "tox-v3",
        "task": "sequence-classification",
        "labels": ["negative", "positive"],
        "loader": "transformers",
    }
    import hashlib

    expected_sha = hashlib.sha256((tiny_model_dir / "model.safetensors").read_bytes()).hexdigest()
    assert model["sha256"] == expected_sha
    reference = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    assert model["num_parameters"] == sum(p.numel() for p in reference.parameters())
    data_sha = hashlib.sha256((tiny_model_dir / "eval.csv").read_bytes()).hexdigest()
    assert audit["dataset"]["sha256"] == data_sha
    assert audit["dataset"]["rows"] == len(pd.read_csv(tiny_model_dir / "eval.csv"))
    assert {"name": "json", "version": audit["auditkit_version"], "source": "built-in"} in audit["plugins"]
    assert audit["verdict"] in ("pass", "warn", "fail", "error")
    assert "tox-v3" in result.stdout  # the closing table
    assert not list(out.glob(".staging-*")), "staging folders must be removed"


def test_predictions_match_transformers(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The batched, length-sorted inference equals a plain one-text-at-a-time forward pass."""
    import torch

    from auditkit.testing import run_audit

    run = run_audit(tiny_model_dir, tmp_path / "out")
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        expected = np.vstack(
            [torch.softmax(model(**tokenizer(t, return_tensors="pt")).logits, -1).numpy() for t in frame["text"]]
        )
    np.testing.assert_allclose(run.audit.predictions.proba, expected, atol=1e-5)
    labels = np.array(["negative", "positive"])[expected.argmax(1)]
    assert list(run.audit.predictions.labels) == list(labels)
    assert list(run.audit.y_true) == [["negative", "positive"][v] for v in frame["label"]]


def test_folder_of_three_models(tmp_path: Path, tiny_model_template: Path) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(tiny_model_template, runs / "alpha")
    shutil.copytree(tiny_model_template, runs / "team" / "beta")
    _token_model(runs / "gamma-ner")
    (runs / "notes").mkdir()  # not a model dir: skipped
    shutil.copytree(tiny_model_template, runs / "alpha" / "checkpoint-10")  # below a model: not separate
    out = tmp_path / "out"
    result = run_cli(["run", runs, "--out", out, "--format", "json", *DOMAIN_OFF])
    assert result.exit_code in (0, 1), result.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["alpha", "beta", "gamma-ner"]
    gamma = read_audit_json(out / "gamma-ner" / "audit.json")
    assert gamma["model"]["task"] == "token-classification"
    for name in ("alpha", "beta", "gamma-ner"):
        assert name in result.stdout


def test_disable_plugin_flag_and_config(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(["run", tiny_model_dir, "-p", "no:policy", "--out", out, "--format", "json", "--fail-on", "warn"])
    assert result.exit_code in (0, 1), result.stderr
    names = [p["name"] for p in read_audit_json(out / "tox-v3" / "audit.json")["plugins"]]
    assert "policy" not in names and "transformers" in names
    # the same through [run] disable in the reviewer's --config
    mine = tmp_path / "reviewer.toml"
    mine.write_text('[run]\ndisable = ["policy"]\n')
    result = run_cli(["run", tiny_model_dir, "--config", mine, "--out", out, "--format", "json"])
    names = [p["name"] for p in read_audit_json(out / "tox-v3" / "audit.json")["plugins"]]
    assert "policy" not in names
    # but not through the model dir's own file: the vendor may not leave part of the audit out
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text() + '\n[run]\ndisable = ["policy"]\n')
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json"])
    audit = read_audit_json(out / "tox-v3" / "audit.json")
    assert "policy" in [p["name"] for p in audit["plugins"]]
    assert [f["code"] for f in audit["findings"]].count("vendor-setting-ignored") == 1


def test_essential_plugin_cannot_be_disabled(tiny_model_dir: Path, tmp_path: Path) -> None:
    result = run_cli(["run", tiny_model_dir, "-p", "no:core", "--out", tmp_path])
    assert result.exit_code == 2
    assert "essential" in result.stderr


def test_cache_second_run_does_no_inference(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from auditkit.plugins.loaders.hf.handle import TransformersHandle

    calls: list[int] = []
    original = TransformersHandle.predict

    def counting(self, frame, config):
        calls.append(len(frame))
        return original(self, frame, config)

    monkeypatch.setattr(TransformersHandle, "predict", counting)
    out = tmp_path / "out"
    for _ in range(2):
        result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json", *DOMAIN_OFF])
        assert result.exit_code in (0, 1), result.stderr
    assert calls == [120], "the second run must take its predictions from the cache"
    assert read_audit_json(out / "tox-v3" / "audit.json")["predictions"]["source"] == "cache"
    # changed data is a cache miss; so is --no-cache
    pd.read_csv(tiny_model_dir / "eval.csv").head(50).to_csv(tiny_model_dir / "eval.csv", index=False)
    assert run_cli(["run", tiny_model_dir, "--out", out, "--format", "json", *DOMAIN_OFF]).exit_code in (0, 1)
    no_cache = ["run", tiny_model_dir, "--out", out, "--format", "json", "--no-cache", *DOMAIN_OFF]
    assert run_cli(no_cache).exit_code in (0, 1)
    assert calls == [120, 50, 50]


def test_plugins_command_lists_builtins() -> None:
    result = run_cli(["plugins", "--json"])
    assert result.exit_code == 0
    plugins = json.loads(result.stdout)
    by_name = {p["name"]: p for p in plugins}
    for key in ("name", "version", "source", "hooks"):
        assert all(key in p for p in plugins)
    assert by_name["transformers"]["source"] == "built-in"
    assert "auditkit_load_model" in by_name["transformers"]["hooks"]
    table = run_cli(["plugins"])
    assert "transformers" in table.stdout and "load_model" in table.stdout


def test_console_script_subprocess(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Once through the installed console script, as a user runs it."""
    import subprocess
    import sys

    # the script installed beside this python (its venv need not be on PATH)
    script = shutil.which("auditkit", path=str(Path(sys.executable).parent)) or "auditkit"
    out = tmp_path / "out"
    proc = subprocess.run(
        [script, "run", str(tiny_model_dir), "--out", str(out), "--format", "json,md"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert (out / "tox-v3" / "audit.json").is_file()


def _token_model(path: Path) -> Path:
    labels = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG")
    build_tiny_bert(path, task="token-classification", labels=labels)
    frame = pd.DataFrame(
        {
            "tokens": ["she met the doctor", "he was kind", "the nurse and the teacher"],
            "tags": ["B-PER O O B-PER", "B-PER O O", "O B-PER O O B-PER"],
            "group": ["a", "b", "a"],
        }
    )
    frame.to_csv(path / "eval.csv", index=False)
    (path / "auditkit.toml").write_text(
        '[data]\npath = "eval.csv"\ntext = "tokens"\nlabel = "tags"\nsensitive = ["group"]\n'
    )
    return path


def test_token_classification_model(tmp_path: Path) -> None:
    model_dir = _token_model(tmp_path / "ner")
    from auditkit.testing import run_audit

    run = run_audit(model_dir, tmp_path / "out")
    assert run.error is None, run.error
    predicted = run.audit.predictions.token_labels
    assert [len(p) for p in predicted] == [4, 3, 5]
    assert {t for tags in predicted for t in tags} <= {"O", "B-PER", "I-PER", "B-ORG", "I-ORG"}
    assert run.audit.token_true[0] == ["B-PER", "O", "O", "B-PER"]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_other_data_formats(tiny_model_dir: Path, tmp_path: Path, fmt: str) -> None:
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    if fmt == "parquet":
        frame.to_parquet(tiny_model_dir / "eval.parquet")
    else:
        frame.to_json(tiny_model_dir / "eval.jsonl", orient="records", lines=True)
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', f'"eval.{fmt}"'))
    result = run_cli(["run", tiny_model_dir, "--out", tmp_path / "o", "--format", "json", *DOMAIN_OFF])
    assert result.exit_code in (0, 1), result.stderr
    audit = read_audit_json(tmp_path / "o" / "tox-v3" / "audit.json")
    assert audit["dataset"]["format"] == fmt and audit["dataset"]["rows"] == len(frame)
