"""The transformers loader: sharded weights and PEFT/LoRA adapters on a local base."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertModel

from auditkit.testing import build_tiny_bert, run_audit, run_cli, sentiment_frame


def _proba(model, tokenizer, texts) -> np.ndarray:
    with torch.no_grad():
        return np.vstack([torch.softmax(model(**tokenizer(t, return_tensors="pt")).logits, -1).numpy() for t in texts])


def _write_audit_files(model_dir: Path, frame: pd.DataFrame, extra: str = "") -> None:
    frame.to_csv(model_dir / "eval.csv", index=False)
    (model_dir / "auditkit.toml").write_text('[data]\npath = "eval.csv"\nsensitive = ["group"]\n' + extra)


def _lora(base, task_type: str, seed: int = 1):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(task_type=task_type, r=4, lora_alpha=8, target_modules=["query", "value"])
    model = get_peft_model(base, config)
    torch.manual_seed(seed)
    with torch.no_grad():  # LoRA B starts at zero; make the adapter change the model
        for name, param in model.named_parameters():
            if "lora_" in name or "classifier" in name:
                param.normal_(0, 0.5)
    return model


def test_lora_adapter_on_a_classifier_base(tmp_path: Path) -> None:
    base_dir = build_tiny_bert(tmp_path / "base")
    adapter_dir = tmp_path / "adapter"
    peft_model = _lora(AutoModelForSequenceClassification.from_pretrained(base_dir), "SEQ_CLS")
    peft_model.save_pretrained(adapter_dir)
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "../base"  # relative to the adapter dir
    (adapter_dir / "adapter_config.json").write_text(json.dumps(cfg))
    frame = sentiment_frame(n=40)
    _write_audit_files(adapter_dir, frame)

    run = run_audit(adapter_dir, tmp_path / "out")
    assert run.error is None, run.error
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    expected = _proba(peft_model.eval(), tokenizer, frame["text"])
    np.testing.assert_allclose(run.audit.predictions.proba, expected, atol=1e-5)
    model = run.audit.model
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert model.sha256 == sha(adapter_dir / "adapter_model.safetensors")
    assert model.extra["base_sha256"] == sha(base_dir / "model.safetensors")
    assert model.extra["weights_format"] == "peft-adapter"
    assert model.extra["adapter"]["peft_type"] == "LORA"


def test_lora_with_head_on_a_plain_encoder(tmp_path: Path) -> None:
    """The usual LoRA fine-tune of an encoder such as MiniLM: the adapter carries the head."""
    classifier_dir = build_tiny_bert(tmp_path / "clf")
    base_dir = tmp_path / "encoder"
    BertModel.from_pretrained(classifier_dir).save_pretrained(base_dir)
    shutil.copy(classifier_dir / "tokenizer.json", base_dir)
    shutil.copy(classifier_dir / "tokenizer_config.json", base_dir)
    peft_model = _lora(AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=3), "SEQ_CLS")
    adapter_dir = tmp_path / "adapter"
    peft_model.save_pretrained(adapter_dir)
    frame = sentiment_frame(n=30)
    frame["label"] = [i % 3 for i in range(len(frame))]
    _write_audit_files(adapter_dir, frame)

    # the base model lies outside the adapter dir: the reviewer names it, not the adapter's own config
    run = run_audit(adapter_dir, tmp_path / "out", settings={"model": {"base_model": str(base_dir)}})
    assert run.error is None, run.error
    assert run.audit.model.labels == ["LABEL_0", "LABEL_1", "LABEL_2"]
    expected = _proba(peft_model.eval(), AutoTokenizer.from_pretrained(base_dir), frame["text"])
    np.testing.assert_allclose(run.audit.predictions.proba, expected, atol=1e-5)


def test_adapter_without_local_base(tmp_path: Path) -> None:
    base_dir = build_tiny_bert(tmp_path / "base")
    adapter_dir = tmp_path / "adapter"
    _lora(AutoModelForSequenceClassification.from_pretrained(base_dir), "SEQ_CLS").save_pretrained(adapter_dir)
    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = "bert-base-uncased"
    (adapter_dir / "adapter_config.json").write_text(json.dumps(cfg))
    _write_audit_files(adapter_dir, sentiment_frame(n=10))
    result = run_cli(["run", adapter_dir, "--out", tmp_path / "out"])
    assert result.exit_code == 2
    assert "'bert-base-uncased' is not a local model folder" in result.stderr
    assert "[model] base_model" in result.stderr


def test_sharded_safetensors(tmp_path: Path) -> None:
    model_dir = build_tiny_bert(tmp_path / "sharded", hidden_size=64)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    (model_dir / "model.safetensors").unlink()
    model.save_pretrained(model_dir, max_shard_size="50KB")
    shards = sorted(model_dir.glob("model-*.safetensors"))
    assert len(shards) > 1 and (model_dir / "model.safetensors.index.json").is_file()
    frame = sentiment_frame(n=20)
    _write_audit_files(model_dir, frame)
    run = run_audit(model_dir, tmp_path / "out")
    assert run.error is None, run.error
    np.testing.assert_allclose(
        run.audit.predictions.proba,
        _proba(model.eval(), AutoTokenizer.from_pretrained(model_dir), frame["text"]),
        atol=1e-5,
    )
    assert run.audit.model.extra["weights_format"] == "sharded-safetensors"


@pytest.mark.parametrize("target", ["../outside.safetensors", "/etc/passwd"])
def test_shard_index_pointing_outside_is_refused(tmp_path: Path, target: str) -> None:
    model_dir = build_tiny_bert(tmp_path / "m")
    (model_dir / "model.safetensors").rename(tmp_path / "outside.safetensors")
    (model_dir / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a.weight": target}}))
    _write_audit_files(model_dir, sentiment_frame(n=10))
    result = run_cli(["run", model_dir, "--out", tmp_path / "out"])
    assert result.exit_code == 2
    assert "outside the model dir" in result.stderr or "not a .safetensors file" in result.stderr
