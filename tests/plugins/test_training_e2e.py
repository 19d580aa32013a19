"""`auditkit train` then `auditkit run`, and `auditkit demo --quick`, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from auditkit.testing import build_tiny_bert, read_audit_json, run_cli, sentiment_frame


def test_train_then_run_shows_the_training_section(tmp_path: Path) -> None:
    base = build_tiny_bert(tmp_path / "base")
    data = tmp_path / "train.csv"
    sentiment_frame(80, seed=4).to_csv(data, index=False)
    model = tmp_path / "runs" / "sentiment-v1"
    trained = run_cli(
        [
            "train",
            "--base",
            base,
            "--data",
            data,
            "--text",
            "text",
            "--label",
            "label",
            "--sensitive",
            "group,gender",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--lr",
            "5e-3",
            "--max-length",
            "24",
            "--hourly-rate",
            "4",
            "--quiet",
            "--out",
            model,
        ]
    )
    assert trained.exit_code == 0, trained.stderr
    assert f"auditkit run {model}" in trained.stdout

    reports = tmp_path / "reports"
    # renderers other than json and fairness are beside the point here (and slow)
    skip = ["-p", "no:html", "-p", "no:pdf", "-p", "no:markdown", "-p", "no:fairness"]
    result = run_cli(["run", model, *skip, "--out", reports, "--format", "json", "-q"])
    assert result.exit_code in (0, 1), result.stderr
    audit = read_audit_json(reports / "sentiment-v1" / "audit.json")
    section = audit["sections"]["training"]
    record = json.loads((model / "training.json").read_text())
    assert section["metrics"]["wall_seconds"] == record["wall_seconds"]
    assert section["metrics"]["training_cost"] == pytest.approx(record["wall_seconds"] / 3600 * 4)
    assert section["metrics"]["train_rows"] == 64 and section["metrics"]["eval_rows"] == 16
    assert audit["dataset"]["rows"] == len(pd.read_csv(model / "eval.csv")) == 16
    # the audit's accuracy is recomputed here from the audit's own per-class table
    per_class = {row["class"]: row for row in section["evaluation"]["per_class"]}
    matrix = section["evaluation"]["confusion_matrix"]["matrix"]
    assert section["metrics"]["accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / 16)
    assert per_class["0"]["support"] + per_class["1"]["support"] == 16
    assert {c["name"] for c in section["charts"]} == {"training-curves", "training-confusion"}
    assert not [f for f in audit["findings"] if f["severity"] == "error" and f.get("plugin") == "training"]


def test_train_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame({"text": ["a", "b"], "label": [1, 1]}).to_csv(data, index=False)
    result = run_cli(["train", "--base", "nosuchmodel", "--data", data, "--out", tmp_path / "o"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "only one class" in result.stderr
    result = run_cli(
        [
            "train",
            "--base",
            "nosuchmodel",
            "--data",
            data,
            "--label",
            "label",
            "--out",
            tmp_path / "o",
            "--task",
            "sequence-classification",
            "--text",
            "nope",
        ]
    )
    assert result.exit_code == 2 and "--text nope: no such column" in result.stderr


def _missing_builtins() -> list[str]:
    import importlib.util

    from auditkit.manager import BUILTIN_PLUGINS

    return [name for name, module in BUILTIN_PLUGINS if importlib.util.find_spec(module) is None]


# The real --quick path with a smaller audit sample: the audit's cost grows with the rows
# MiniLM re-scores (predictions, counterfactual texts, membership samples), not the path.
SMALL_QUICK_AUDIT = {
    "data": {"max_rows": 200},
    "fairness": {"auc_bootstrap": 20},
    "fairness.counterfactual": {"max_texts": 10, "max_pairs": 30},
    "privacy.membership": {"sample_size": 40},
}


def test_quick_demo_config_carries_the_quick_audit_settings() -> None:
    from auditkit.plugins.assess.training import demo

    config = demo.audit_config(pairs=True, quick=True)
    for section, values in demo.QUICK_AUDIT.items():
        assert {key: config[section][key] for key in values} == values
    assert config["data"]["max_rows"] == 800 and "max_rows" not in demo.audit_config(pairs=True)["data"]


@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditkit.plugins.assess.training import demo

    from auditkit.config import tomllib

    missing = _missing_builtins()
    if missing:  # a branch without every built-in yet: the demo runs them all
        pytest.skip(f"built-in plugins not in this tree yet: {', '.join(missing)}")
    monkeypatch.setattr(demo, "QUICK_AUDIT", SMALL_QUICK_AUDIT)
    model, reports = tmp_path / "demo-model", tmp_path / "demo-reports"
    result = run_cli(["demo", "--quick", "--out", model, "--reports", reports, "--quiet"])
    assert result.exit_code == 0, result.stderr[-3000:]
    record = json.loads((model / "training.json").read_text())
    assert record["tool"] == "auditkit demo" and record["result"]["global_step"] == 3
    assert record["base_model"]["id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert [s["name"] for s in record["sources"]][:2] == ["HateCheck", "Wikipedia Talk comments"]
    written = tomllib.loads((model / "auditkit.toml").read_text(encoding="utf-8"))
    assert written["privacy"]["membership"] == {"sample_size": 40}
    audit = read_audit_json(reports / "demo-model" / "audit.json")
    # --quick audits a seeded sample of the 3,200 madlibs rows (the full demo audits them all)
    assert audit["dataset"]["rows"] == 200 and audit["dataset"]["sensitive"] == ["identity"]
    assert len(pd.read_csv(model / "madlibs.csv")) == 3200
    training = audit["sections"]["training"]
    assert {t["name"] for t in training["tables"]} >= {"per_class", "sources", "provenance"}
    assert training["metrics"]["training_cost"] == pytest.approx(record["wall_seconds"] / 3600 * 0.10)
    assert str(reports / "demo-model") in result.stdout
    fairness = audit["sections"]["fairness"]
    pairs = [c for c in fairness["counterfactual"] if c["kind"] == "pairs"]
    assert pairs and pairs[0]["texts"] == 30  # a seeded sample of the shipped fuzzed/non-fuzzed pairs was scored
