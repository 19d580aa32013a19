"""`auditkit init` in both modes, and audits of scores from a file (predictions mode)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.config import read_toml
from auditkit.testing import build_tiny_bert, read_audit_json, run_audit, run_cli


@pytest.fixture
def scores_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "applicant": np.arange(n),
            "risk": rng.uniform(0, 10, n).round(2),
            "outcome": rng.integers(0, 2, n),
            "race": rng.choice(["a", "b", "c"], n),
        }
    )
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    return path


def test_init_model_mode_writes_every_section(tmp_path: Path, monkeypatch) -> None:
    model_dir = build_tiny_bert(tmp_path / "runs" / "tox-v3", labels=("ok", "toxic"))
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "comment": ["he was rude to me", "nice", "awful day"],
            "toxic": [1, 0, 1],
            "gender": ["m", "f", "f"],
            "race": ["a", "b", "a"],
        }
    )
    frame.to_csv(tmp_path / "eval.csv", index=False)
    monkeypatch.chdir(tmp_path)
    result = run_cli(
        [
            "init",
            "runs/tox-v3",
            "--data",
            "eval.csv",
            "--text",
            "comment",
            "--label",
            "toxic",
            "--sensitive",
            "gender,race",
            "--positive",
            "1",
        ]
    )
    assert result.exit_code == 0, result.stderr
    config = read_toml(model_dir / "auditkit.toml")
    assert config["data"]["path"] == "../../eval.csv"  # relative to the model dir
    assert (config["data"]["text"], config["data"]["label"], config["data"]["sensitive"]) == (
        "comment",
        "toxic",
        ["gender", "race"],
    )
    assert config["data"]["positive"] == "1"
    text = (model_dir / "auditkit.toml").read_text()
    assert "model labels (config.json id2label): ok, toxic" in text
    for section in ("[data]", "[run]", "[model]", "[predictions]", "[policy]"):
        assert section in text
    assert text.count("\n# ") >= 15, "a comment per key"
    # the written config drives an audit as it stands
    run = run_cli(["run", "runs/tox-v3", "--out", "out", "--format", "json"])
    assert run.exit_code in (0, 1), run.stderr
    audit = read_audit_json(tmp_path / "out" / "tox-v3" / "audit.json")
    assert audit["dataset"]["positive"] == "toxic"  # 1 maps onto id2label[1]
    # a second init does not overwrite without --force
    again = run_cli(["init", "runs/tox-v3", "--data", "eval.csv"])
    assert again.exit_code == 2 and "--force" in again.stderr


def test_init_guesses_columns(tmp_path: Path, monkeypatch) -> None:
    build_tiny_bert(tmp_path / "m")
    pd.DataFrame(
        {"label": [0, 1], "review": ["a long text here", "another long one"], "short": ["x", "y"], "gender": ["f", "m"]}
    ).to_csv(tmp_path / "m" / "data.csv", index=False)
    monkeypatch.chdir(tmp_path)
    result = run_cli(["init", "m", "--data", "m/data.csv"])
    assert result.exit_code == 0, result.stderr
    config = read_toml(tmp_path / "m" / "auditkit.toml")
    assert config["data"]["path"] == "data.csv"
    assert (config["data"]["text"], config["data"]["label"], config["data"]["sensitive"]) == (
        "review",
        "label",
        ["gender"],
    )
    assert "guessed" in result.stderr


def test_init_errors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    build_tiny_bert(tmp_path / "m")
    pd.DataFrame({"text": ["a"], "label": [1]}).to_csv("d.csv", index=False)
    cases = [
        (["init", "m", "--data", "nope.csv"], "no such file"),
        (["init", "m", "--data", "d.csv", "--label", "y"], "no column 'y' (--label)"),
        (["init", "m", "--data", "d.csv", "--sensitive", "race"], "no column 'race' (--sensitive)"),
        (["init", "m", "--data", "d.csv", "--positive", "maybe"], "--positive maybe"),
        (["init", "missing", "--data", "d.csv"], "no such directory"),
    ]
    for args, needle in cases:
        result = run_cli(args)
        assert result.exit_code == 2, args
        assert needle in result.stderr, (args, result.stderr)
    assert not (tmp_path / "m" / "auditkit.toml").exists()


def test_vendor_scores_end_to_end(tmp_path: Path, scores_csv: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(
        [
            "init",
            "vendor-score",
            "--predictions",
            "scores.csv",
            "--score",
            "risk",
            "--threshold",
            "5",
            "--label",
            "outcome",
            "--sensitive",
            "race",
        ]
    )
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "vendor-score").is_dir(), "predictions mode creates the folder"
    config = read_toml(tmp_path / "vendor-score" / "auditkit.toml")
    # only what init chose is live; id and the rest stay commented out with their defaults
    assert config["predictions"] == {"file": "../scores.csv", "score": "risk", "label": "", "threshold": 5.0}
    run = run_audit(tmp_path / "vendor-score", tmp_path / "out")
    assert run.error is None, run.error
    frame = pd.read_csv(scores_csv)
    expected = np.where(frame["risk"] >= 5, "1", "0")
    assert list(run.audit.predictions.labels) == list(expected)
    np.testing.assert_array_equal(run.audit.predictions.scores, frame["risk"].to_numpy())
    assert run.audit.model.task == "scores" and run.audit.model.loader == "predictions"
    assert run.audit.model.labels == ["0", "1"]
    cli = run_cli(["run", "vendor-score", "--out", "out2", "--format", "json"])
    assert cli.exit_code in (0, 1), cli.stderr


def test_predictions_joined_by_id(tmp_path: Path, scores_csv: Path) -> None:
    frame = pd.read_csv(scores_csv)
    model_dir = tmp_path / "vendor"
    model_dir.mkdir()
    frame.drop(columns=["risk"]).to_csv(model_dir / "eval.csv", index=False)
    frame[["applicant", "risk"]].sample(frac=1, random_state=1).to_csv(model_dir / "preds.csv", index=False)
    (model_dir / "auditkit.toml").write_text(
        '[data]\npath = "eval.csv"\nlabel = "outcome"\nsensitive = ["race"]\n'
        '[predictions]\nfile = "preds.csv"\nscore = "risk"\nthreshold = 5.0\nid = "applicant"\n'
    )
    run = run_audit(model_dir, tmp_path / "out")
    assert run.error is None, run.error
    np.testing.assert_array_equal(run.audit.predictions.scores, frame["risk"].to_numpy())


def test_predictions_with_bad_scores(tmp_path: Path, scores_csv: Path) -> None:
    frame = pd.read_csv(scores_csv)
    frame.loc[[5, 9], "risk"] = [np.nan, np.inf]
    model_dir = tmp_path / "vendor"
    model_dir.mkdir()
    frame.to_csv(model_dir / "scores.csv", index=False)
    (model_dir / "auditkit.toml").write_text(
        '[data]\npath = "scores.csv"\nlabel = "outcome"\n[predictions]\nfile = "scores.csv"\nscore = "risk"\n'
    )
    result = run_cli(["run", model_dir, "--out", tmp_path / "out"])
    assert result.exit_code == 2
    assert "'risk' has 2 missing, non-numeric or infinite scores (first at row 6)" in result.stderr
    assert os.path.exists(model_dir / "scores.csv")
