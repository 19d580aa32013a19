"""`auditkit train` on a tiny random BERT: the written model dir, its records, determinism, DP."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from auditkit.plugins.assess.training import auditkit_add_commands

from auditkit.testing import build_tiny_bert, sentiment_frame

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="auditkit")
    auditkit_add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("train")


@pytest.fixture(scope="module")
def seq_base(work: Path) -> Path:
    return build_tiny_bert(work / "seq-base")


@pytest.fixture(scope="module")
def seq_data(work: Path) -> Path:
    path = work / "sentiment.csv"
    sentiment_frame(120, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def seq_run(work: Path, seq_base: Path, seq_data: Path) -> Path:
    out = work / "seq-out"
    code = run_cli(
        [
            "train",
            "--base",
            str(seq_base),
            "--data",
            str(seq_data),
            "--text",
            "text",
            "--label",
            "label",
            "--sensitive",
            "group,gender",
            "--task",
            "sequence-classification",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--lr",
            "5e-3",
            "--max-length",
            "32",
            "--seed",
            "7",
            "--reweigh",
            "group",
            "--logging-steps",
            "2",
            "--hourly-rate",
            "1.5",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_sequence_model_dir_loads_with_transformers(seq_run: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(seq_run)
    tokenizer = AutoTokenizer.from_pretrained(seq_run)
    assert model.config.id2label == {0: "0", 1: "1"}
    assert (seq_run / "model.safetensors").is_file() and not list(seq_run.glob("*.bin"))
    with torch.no_grad():
        logits = model(**tokenizer(["she was very good"], return_tensors="pt")).logits
    assert logits.shape == (1, 2)


def test_trainer_state_is_in_the_transformers_format(seq_run: Path) -> None:
    from transformers.trainer_callback import TrainerState

    state = TrainerState.load_from_json(str(seq_run / "trainer_state.json"))
    record = read_json(seq_run / "training.json")
    steps = state.global_step
    assert steps == record["result"]["global_step"] == 12  # 96 train rows / 16 per batch × 2 epochs
    train_logs = [e for e in state.log_history if "loss" in e]
    eval_logs = [e for e in state.log_history if "eval_loss" in e]
    assert [e["step"] for e in train_logs] == list(range(2, steps + 1, 2))
    assert all({"loss", "learning_rate", "epoch", "step", "grad_norm"} <= set(e) for e in train_logs)
    assert [e["epoch"] for e in eval_logs] == [1.0, 2.0]
    assert all({"eval_accuracy", "eval_macro_f1", "eval_runtime"} <= set(e) for e in eval_logs)
    assert state.best_metric == max(e["eval_macro_f1"] for e in eval_logs)
    assert state.best_global_step in {e["step"] for e in eval_logs}
    assert state.log_history[-1]["train_runtime"] > 0
    # linear decay after warm-up: the last logged rate is the lowest
    rates = [e["learning_rate"] for e in train_logs]
    assert rates[-1] == min(rates) and max(rates) <= 5e-3


def test_training_record_keys_and_hashes(seq_run: Path, seq_base: Path, seq_data: Path) -> None:
    import torch

    record = read_json(seq_run / "training.json")
    base = record["base_model"]
    assert base["path"] == str(seq_base.resolve())
    assert base["sha256"] == sha256(seq_base / "model.safetensors")
    data = record["data"]
    assert data["path"] == str(seq_data.resolve()) and data["sha256"] == sha256(seq_data)
    assert data["rows"] == 120 and data["train_rows"] + data["dev_rows"] == 120 and data["dev_rows"] == 24
    assert (data["train_file"], data["eval_file"]) == ("train.csv", "eval.csv")
    hp = record["hyperparameters"]
    assert (hp["epochs"], hp["batch_size"], hp["learning_rate"], hp["max_length"]) == (
        2,
        16,
        5e-3,
        32,
    )
    assert record["seed"] == 7 and record["device"] == "cpu" and record["wall_seconds"] > 0
    assert record["libraries"]["torch"] == torch.__version__
    assert record["weights"]["sha256"] == sha256(seq_run / "model.safetensors")
    assert "dp" not in record


def test_split_files_hold_the_exact_rows(seq_run: Path, seq_data: Path) -> None:
    original = pd.read_csv(seq_data)
    train = pd.read_csv(seq_run / "train.csv")
    dev = pd.read_csv(seq_run / "eval.csv")
    record = read_json(seq_run / "training.json")
    assert len(train) == record["data"]["train_rows"] and len(dev) == record["data"]["dev_rows"]
    assert list(dev.columns) == list(original.columns)  # sensitive columns travel with the split
    both = pd.concat([train, dev]).sort_values(list(original.columns)).reset_index(drop=True)
    assert both.equals(original.sort_values(list(original.columns)).reset_index(drop=True))
    # stratified: each class keeps its share in the dev split (within one row)
    for label, share in original["label"].value_counts(normalize=True).items():
        assert abs((dev["label"] == label).sum() - share * len(dev)) <= 1


def test_reweighing_record_matches_the_training_split(seq_run: Path) -> None:
    train = pd.read_csv(seq_run / "train.csv")
    record = read_json(seq_run / "training.json")["reweighing"]
    assert record["column"] == "group"
    n = len(train)
    for cell in record["cells"]:
        in_group = train["group"] == cell["group"]
        in_label = train["label"].astype(str) == cell["label"]
        joint = (in_group & in_label).sum()
        expected = (in_group.sum() / n) * (in_label.sum() / n) / (joint / n)
        assert cell["count"] == joint and cell["weight"] == pytest.approx(expected)


def test_auditkit_toml_and_model_card(seq_run: Path) -> None:
    import yaml

    config = tomllib.loads((seq_run / "auditkit.toml").read_text())
    assert config["data"] == {
        "path": "eval.csv",
        "text": "text",
        "label": "label",
        "sensitive": ["group", "gender"],
        "positive": "1",
    }
    assert config["training"] == {"record": "training.json", "hourly_rate": 1.5}
    card = (seq_run / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["library_name"] == "transformers" and front["pipeline_tag"] == "text-classification"
    assert "## Training data" in card and "sentiment.csv" in card


def _quick_run(base: Path, data: Path, out: Path, seed: int) -> str:
    run_cli(
        [
            "train",
            "--base",
            str(base),
            "--data",
            str(data),
            "--epochs",
            "1",
            "--max-steps",
            "3",
            "--batch-size",
            "8",
            "--lr",
            "1e-3",
            "--max-length",
            "24",
            "--seed",
            str(seed),
            "--quiet",
            "--out",
            str(out),
        ]
    )
    return sha256(out / "model.safetensors")


def test_same_seed_same_weights(work: Path, seq_base: Path) -> None:
    data = work / "small.csv"
    sentiment_frame(40, seed=1).to_csv(data, index=False)
    first = _quick_run(seq_base, data, work / "det-a", seed=11)
    again = _quick_run(seq_base, data, work / "det-b", seed=11)
    other = _quick_run(seq_base, data, work / "det-c", seed=12)
    assert first == again
    assert other != first


def test_a_failed_run_leaves_nothing_behind(work: Path, seq_base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditkit.plugins.assess.training import records

    data = work / "fail.csv"
    sentiment_frame(40, seed=2).to_csv(data, index=False)

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(records, "model_card", broken)
    parent = work / "fail-parent"
    parent.mkdir()
    with pytest.raises(RuntimeError, match="disk full"):
        _quick_run(seq_base, data, parent / "out", seed=1)
    assert list(parent.iterdir()) == []


def test_token_classification(work: Path) -> None:
    from transformers import AutoModelForTokenClassification

    tags = ["O", "B-PER", "I-PER"]
    base = build_tiny_bert(work / "tok-base", task="token-classification", labels=tags)
    rows = []
    names = [["anna"], ["bob", "smith"], ["carol", "jones"], ["dan"]]
    for i in range(40):
        name = names[i % 4]
        words = ["i", "met", *name, "today"] if i % 2 else ["we", "saw", *name]
        labels = ["O", "O", "B-PER"] + ["I-PER"] * (len(name) - 1) + (["O"] if i % 2 else [])
        rows.append({"tokens": json.dumps(words), "tags": " ".join(labels), "group": "ab"[i % 2]})
    data = work / "tokens.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out = work / "tok-out"
    assert (
        run_cli(
            [
                "train",
                "--base",
                str(base),
                "--data",
                str(data),
                "--text",
                "tokens",
                "--label",
                "tags",
                "--sensitive",
                "group",
                "--task",
                "token-classification",
                "--epochs",
                "2",
                "--batch-size",
                "8",
                "--lr",
                "5e-3",
                "--max-length",
                "24",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert list(model.config.id2label.values()) == tags
    record = read_json(out / "training.json")
    assert record["task"] == "token-classification" and record["labels"] == tags
    assert {"eval_precision", "eval_recall", "eval_f1"} <= set(record["result"]["dev_metrics"])
    dev = pd.read_csv(out / "eval.csv")
    assert len(dev) == 8 and all(isinstance(json.loads(t), list) for t in dev["tokens"])
    config = tomllib.loads((out / "auditkit.toml").read_text())
    assert "positive" not in config["data"] and config["data"]["label"] == "tags"


@pytest.mark.slow  # Opacus calibrates σ with its PRV accountant: seconds of CPU
def test_dp_training_records_the_dp_block(work: Path, seq_base: Path, seq_data: Path) -> None:
    from dp_accounting import dp_event, pld

    out = work / "dp-out"
    assert (
        run_cli(
            [
                "train",
                "--base",
                str(seq_base),
                "--data",
                str(seq_data),
                "--epochs",
                "1",
                "--batch-size",
                "16",
                "--lr",
                "1e-3",
                "--max-length",
                "24",
                "--dp-epsilon",
                "8",
                "--dp-delta",
                "1e-5",
                "--dp-max-grad-norm",
                "1.0",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    record = read_json(out / "training.json")
    dp = record["dp"]
    assert {
        "noise_multiplier",
        "sample_rate",
        "steps",
        "delta",
        "max_grad_norm",
        "target_epsilon",
        "epsilon_opacus",
        "accountant",
    } <= set(dp)
    assert dp["sample_rate"] == pytest.approx(1 / 6)  # 96 rows in batches of 16
    assert dp["steps"] == dp["planned_steps"] == 6 == record["result"]["global_step"]
    assert (dp["delta"], dp["max_grad_norm"], dp["target_epsilon"], dp["accountant"]) == (
        1e-5,
        1.0,
        8.0,
        "prv",
    )
    assert "embeddings" in dp["frozen"]
    # the noise was calibrated to the target: an independent PLD accountant agrees with Opacus
    accountant = pld.PLDAccountant()
    event = dp_event.PoissonSampledDpEvent(dp["sample_rate"], dp_event.GaussianDpEvent(dp["noise_multiplier"]))
    accountant.compose(event, dp["steps"])
    epsilon = accountant.get_epsilon(dp["delta"])
    assert epsilon == pytest.approx(dp["epsilon_opacus"], rel=0.05)
    assert dp["epsilon_opacus"] == pytest.approx(8.0, rel=0.02)
