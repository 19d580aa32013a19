"""`auditkit card MODEL_DIR OUT/<model>`: results into README.md's model-index via huggingface_hub, round-tripped."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from auditkit.testing import read_audit_json, run_cli, write_predictions_dir

EXISTING = """---
license: apache-2.0
tags:
- vendor
model-index:
- name: vendor-score
  results:
  - task:
      type: tabular-classification
    dataset:
      name: holdout
      type: holdout
    metrics:
    - type: accuracy
      value: 0.81
---
# Vendor score

The vendor's own words, kept as written.
"""


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A predictions-mode model dir and its report folder (audited once for the module)."""
    base = tmp_path_factory.mktemp("card")
    model_dir = write_predictions_dir(base / "vendor-score", seed=4, extra_toml="[fairness]\nbootstrap = 0\n")
    out = base / "out"
    result = run_cli(["run", model_dir, "--out", out, "--format", "json", "-q", "-p", "no:training"])
    assert result.exit_code in (0, 1), result.stderr
    return model_dir, out / "vendor-score"


@pytest.fixture
def model_dir(audited: tuple[Path, Path], tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(audited[0], tmp_path / "vendor-score"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("auditkit card touched the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def expected_results(audit: dict) -> list[tuple[str, str, float]]:
    """(section, metric, value) of every numeric metric, straight from audit.json."""
    return [
        (name, metric, value)
        for name, section in audit["sections"].items()
        for metric, value in section["metrics"].items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


def test_card_round_trip_keeps_the_vendors_card(
    model_dir: Path, audited: tuple[Path, Path], no_network: None
) -> None:
    report = audited[1]
    audit = read_audit_json(report / "audit.json")
    (model_dir / "README.md").write_text(EXISTING, encoding="utf-8")
    result = run_cli(["card", model_dir, report])
    assert result.exit_code == 0, result.stderr
    expected = expected_results(audit)
    assert f"{len(expected)} eval results, verdict {audit['verdict']}" in result.stdout
    card = ModelCard.load(model_dir / "README.md")
    ours = [r for r in card.data.eval_results if (r.metric_args or {}).get("source") == "auditkit"]
    assert [(r.metric_args["section"], r.metric_type, r.metric_value) for r in ours] == expected
    assert all(r.dataset_revision == audit["dataset"]["sha256"] for r in ours)
    assert all(r.dataset_name == "scores.csv" and r.task_type == "tabular-classification" for r in ours)
    theirs = [r for r in card.data.eval_results if r not in ours]
    assert [(r.dataset_name, r.metric_type, r.metric_value) for r in theirs] == [("holdout", "accuracy", 0.81)]
    assert card.data.auditkit["verdict"] == audit["verdict"]
    assert card.data.auditkit["report_id"] == audit["report_id"]
    assert card.data.auditkit["sections"] == {k: s["status"] for k, s in audit["sections"].items()}
    assert card.data.license == "apache-2.0" and card.data.tags == ["vendor"]
    assert card.data.model_name == "vendor-score"
    assert card.text.strip() == "# Vendor score\n\nThe vendor's own words, kept as written."
    # a second run replaces auditkit's results, never duplicates them; no temporary file is left
    again = run_cli(["card", model_dir, report])
    assert again.exit_code == 0, again.stderr
    reread = ModelCard.load(model_dir / "README.md")
    assert len(reread.data.eval_results) == len(expected) + 1
    assert sorted(p.name for p in model_dir.iterdir()) == ["README.md", "auditkit.toml", "scores.csv"]


def test_card_without_a_readme_writes_one(model_dir: Path, audited: tuple[Path, Path], no_network: None) -> None:
    result = run_cli(["card", model_dir, audited[1]])
    assert result.exit_code == 0, result.stderr
    card = ModelCard.load(model_dir / "README.md")
    audit = read_audit_json(audited[1] / "audit.json")
    assert [r.metric_value for r in card.data.eval_results] == [v for _, _, v in expected_results(audit)]
    assert card.data.model_name == "vendor-score"


def test_card_refuses_bad_input(model_dir: Path, audited: tuple[Path, Path], tmp_path: Path) -> None:
    report = audited[1]
    target = tmp_path / "elsewhere.md"
    target.write_text("# not yours\n")
    (model_dir / "README.md").symlink_to(target)
    result = run_cli(["card", model_dir, report])
    assert result.exit_code == 2
    assert "README.md: a symlink" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "# not yours\n"
    (model_dir / "README.md").unlink()

    laughs = '---\na: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n---\n# card\n'
    (model_dir / "README.md").write_text(laughs)
    result = run_cli(["card", model_dir, report])
    assert result.exit_code == 2 and "uses aliases" in result.stderr
    assert (model_dir / "README.md").read_text() == laughs

    bad_index = "---\nmodel-index:\n- name: x\n  results:\n  - metrics: 3\n---\n"
    (model_dir / "README.md").write_text(bad_index)
    result = run_cli(["card", model_dir, report])
    assert result.exit_code == 2 and "model-card metadata is not valid" in result.stderr, result.stderr
    assert (model_dir / "README.md").read_text() == bad_index

    empty = tmp_path / "no-report"
    empty.mkdir()
    result = run_cli(["card", model_dir, empty])
    assert result.exit_code == 2 and f"{empty / 'audit.json'}: no such file" in result.stderr
    (empty / "audit.json").write_text(json.dumps({"verdict": "pass"}))
    result = run_cli(["card", model_dir, empty])
    assert result.exit_code == 2 and "not an auditkit audit.json" in result.stderr
    assert not [p for p in model_dir.iterdir() if p.name.endswith(".auditkit-tmp")]
