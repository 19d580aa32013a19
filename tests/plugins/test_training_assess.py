"""The training section of an audit, built on real model dirs (ours, a Trainer's, or bare)."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess import training

from auditkit.audit import Audit, DatasetInfo, ModelInfo, Predictions, Section
from auditkit.config import build_config, collect_schemas
from auditkit.coreplugin import auditkit_config_schema as core_schema
from auditkit.testing import build_tiny_bert, sentiment_frame

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_audit(
    model_dir: Path,
    data_file: str = "eval.csv",
    toml: dict[str, Any] | None = None,
    task: str = "sequence-classification",
) -> Audit:
    """An Audit as the host hands it to assess hooks: config, data, real model predictions."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    schemas = collect_schemas([core_schema(), training.auditkit_config_schema()], ["core", "training"])
    layer = toml if toml is not None else tomllib.loads((model_dir / "auditkit.toml").read_text())
    config = build_config(schemas, [("auditkit.toml", layer)])
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    frame = pd.read_csv(model_dir / data_file)
    with torch.no_grad():
        proba = model(**tokenizer(list(frame["text"]), padding=True, return_tensors="pt")).logits.softmax(-1).numpy()
    predicted = np.array([labels[i] for i in proba.argmax(1)], dtype=object)
    info = ModelInfo(name=model_dir.name, path=str(model_dir), task=task, labels=labels, loader="transformers")
    dataset = DatasetInfo(
        path=str(model_dir / data_file),
        sha256=sha256(model_dir / data_file),
        rows=len(frame),
        format="csv",
        columns=list(frame.columns),
        text="text",
        label="label",
        sensitive=["group"],
        positive=labels[1],
    )
    return Audit(
        model=info,
        config=config,
        model_dir=str(model_dir),
        out_dir=str(model_dir / "reports"),
        report_id="test",
        dataset=dataset,
        frame=frame,
        y_true=np.array([str(v) for v in frame["label"]], dtype=object),
        predictions=Predictions(labels=predicted, classes=labels, proba=proba, scores=proba[:, 1]),
    )


def codes(section: Section) -> dict[str, str]:
    return {f.code: f.severity for f in section.findings}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("assess")
    base = build_tiny_bert(work / "base")
    data = work / "data.csv"
    sentiment_frame(80, seed=5).to_csv(data, index=False)
    parser = argparse.ArgumentParser()
    training.auditkit_add_commands(parser.add_subparsers())
    out = work / "model"
    args = parser.parse_args(
        [
            "train",
            "--base",
            str(base),
            "--data",
            str(data),
            "--sensitive",
            "group",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--lr",
            "5e-3",
            "--max-length",
            "24",
            "--logging-steps",
            "1",
            "--hourly-rate",
            "2.5",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert args.func(args) == 0
    return out


def test_section_from_our_training_record(trained: Path) -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    audit = make_audit(trained)
    section = training.auditkit_assess(audit=audit)
    assert (section.name, section.order, section.report) == ("training", 100, "compliance")
    y_true, y_pred = list(audit.y_true), list(audit.predictions.labels)
    assert section.metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert section.metrics["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert (
        section.data["evaluation"]["confusion_matrix"]["matrix"]
        == confusion_matrix(y_true, y_pred, labels=["0", "1"]).tolist()
    )
    record = json.loads((trained / "training.json").read_text())
    assert section.metrics["wall_seconds"] == record["wall_seconds"]
    assert section.metrics["training_cost"] == pytest.approx(record["wall_seconds"] / 3600 * 2.5)
    cost = next(c for c in section.calculations if c.name == "training_cost")
    assert cost.inputs["hourly_rate"] == 2.5 and cost.inputs["wall_seconds_source"] == "training.json wall_seconds"
    assert section.metrics["train_rows"] == 64 and section.metrics["dev_rows"] == 16
    names = {t.name for t in section.tables}
    assert {
        "per_class",
        "confusion_matrix",
        "hyperparameters",
        "provenance",
        "dev_metrics",
    } <= names
    assert [c.name for c in section.charts] == ["training-curves", "training-confusion"]
    assert "<svg" in section.charts[0].svg and "training loss" in section.charts[0].alt
    assert "training-no-record" not in codes(section)
    assert section.data["provenance"]["weights sha256"] == sha256(trained / "model.safetensors")
    json.dumps(section.to_json(), allow_nan=False)  # strict JSON for audit.json


def test_findings_when_records_and_files_disagree(trained: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(trained, copy)
    record = json.loads((copy / "training.json").read_text())
    record["weights"]["sha256"] = "0" * 64
    (copy / "training.json").write_text(json.dumps(record))
    # audit on the training split itself
    section = training.auditkit_assess(audit=make_audit(copy, data_file="train.csv"))
    found = codes(section)
    assert found["training-weights-changed"] == "warn"
    assert found["training-eval-on-train"] == "warn"


def test_bare_model_dir_still_gets_the_evaluation(tmp_path: Path) -> None:
    model = build_tiny_bert(tmp_path / "bare")
    sentiment_frame(30, seed=1).to_csv(model / "eval.csv", index=False)
    toml = {"data": {"path": "eval.csv", "sensitive": ["group"]}}
    section = training.auditkit_assess(audit=make_audit(model, toml=toml))
    assert codes(section)["training-no-record"] == "info"
    assert section.metrics["wall_seconds"] is None and section.metrics["training_cost"] is None
    assert 0 <= section.metrics["accuracy"] <= 1 and section.metrics["eval_rows"] == 30
    assert section.summary.startswith("No training record")
    assert not [c for c in section.charts if c.name == "training-curves"]


def test_trainer_output_dir(tmp_path: Path) -> None:
    """A transformers Trainer's files: trainer_state.json, all_results.json, a model card."""
    model = build_tiny_bert(tmp_path / "hf")
    sentiment_frame(30, seed=2).to_csv(model / "eval.csv", index=False)
    history = [
        {"loss": 0.69, "grad_norm": 1.2, "learning_rate": 4e-5, "epoch": 0.5, "step": 50},
        {"loss": 0.41, "grad_norm": 0.9, "learning_rate": 2e-5, "epoch": 1.0, "step": 100},
        {"eval_loss": 0.45, "eval_accuracy": 0.81, "eval_runtime": 1.0, "epoch": 1.0, "step": 100},
        {"train_runtime": 754.5, "train_loss": 0.55, "total_flos": 1e12, "epoch": 1.0, "step": 100},
    ]
    state = {
        "global_step": 100,
        "epoch": 1.0,
        "max_steps": 100,
        "num_train_epochs": 1,
        "train_batch_size": 32,
        "logging_steps": 50,
        "log_history": history,
        "best_metric": None,
    }
    (model / "trainer_state.json").write_text(json.dumps(state))
    (model / "all_results.json").write_text(json.dumps({"train_runtime": 754.5, "eval_accuracy": 0.81}))
    (model / "README.md").write_text("---\nbase_model: bert-base-uncased\nlicense: mit\n---\n# card\n")
    (model / "training_args.bin").write_bytes(b"\x80\x04pickle that must never be loaded")
    toml = {"data": {"path": "eval.csv"}, "training": {"hourly_rate": 3.0}}
    section = training.auditkit_assess(audit=make_audit(model, toml=toml))
    assert section.metrics["wall_seconds"] == 754.5
    assert section.metrics["training_cost"] == pytest.approx(754.5 / 3600 * 3.0)
    assert section.metrics["global_step"] == 100 and section.metrics["final_train_loss"] == 0.41
    assert section.data["hyperparameters"]["train_batch_size"] == 32
    assert section.data["model_card"]["base_model"] == "bert-base-uncased"
    assert "training_args.bin" in " ".join(f.message for f in section.findings)
    chart = section.charts[0]
    assert chart.name == "training-curves" and "0.690 at step 50 to 0.410 at step 100" in chart.alt


def test_token_task_gets_the_entity_report(tmp_path: Path) -> None:
    schemas = collect_schemas([core_schema(), training.auditkit_config_schema()], ["core", "training"])
    config = build_config(schemas, [])
    true = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    pred = [["B-PER", "I-PER", "O"], ["O", "O"]]
    info = ModelInfo(
        name="tagger",
        path=str(tmp_path),
        task="token-classification",
        labels=["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
        loader="transformers",
    )
    audit = Audit(
        model=info,
        config=config,
        model_dir=str(tmp_path),
        out_dir=str(tmp_path),
        report_id="t",
        token_true=true,
        predictions=Predictions(labels=np.array([], dtype=object), classes=info.labels, token_labels=pred),
    )
    section = training.auditkit_assess(audit=audit)
    # 2 true entities, 1 predicted and right: precision 1, recall 1/2, F1 2/3
    assert section.metrics["entity_precision"] == 1.0 and section.metrics["entity_recall"] == 0.5
    assert section.metrics["entity_f1"] == pytest.approx(2 / 3)
    assert section.tables[0].name == "entities"
    assert "entity F1 0.667" in section.summary
