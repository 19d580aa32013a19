"""`auditkit run --json`: one JSON object on stdout (models, verdicts, exit codes, files); progress on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from auditkit.testing import read_audit_json, run_cli, write_predictions_dir

# the sections are beside the point here; leaving the slow ones out keeps the tests quick
QUICK = ["-p", "no:training", "-p", "no:fairness", "-p", "no:privacy"]


def predictions_dir(path: Path, seed: int, score: str = "risk") -> Path:
    """A predictions-mode model dir: a scores file and the auditkit.toml naming it (no weights)."""
    path = write_predictions_dir(path, seed)
    toml = path / "auditkit.toml"
    toml.write_text(toml.read_text().replace('score = "risk"', f'score = "{score}"'))  # may name no column
    return path


def test_json_summary_replaces_the_table(tmp_path: Path) -> None:
    models = tmp_path / "models"
    predictions_dir(models / "alpha", seed=1)
    predictions_dir(models / "beta", seed=2)
    out = tmp_path / "out"
    result = run_cli(["run", models, "--out", out, "--format", "json,md", "--json", *QUICK])
    summary = json.loads(result.stdout)  # stdout is the JSON object and nothing else
    assert "verdict  rows" not in result.stdout and "alpha: loading model" in result.stderr
    assert summary["exit_code"] == result.exit_code
    assert [m["name"] for m in summary["models"]] == ["alpha", "beta"]
    for model in summary["models"]:
        folder = out / model["name"]
        audit = read_audit_json(folder / "audit.json")
        assert model["verdict"] == audit["verdict"]
        assert model["report_folder"] == str(folder)
        assert model["files"] == sorted(p.name for p in folder.iterdir())
        assert model["files"] == ["audit.json", "summary.md"]
        assert model["exit_code"] == (1 if audit["verdict"] == "fail" else 0)
        assert "error" not in model


def test_json_summary_names_a_failed_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    predictions_dir(models / "good", seed=1)
    predictions_dir(models / "bad", seed=2, score="no_such_column")
    out = tmp_path / "out"
    result = run_cli(["run", models, "--out", out, "--format", "json", "--json", "-q", *QUICK])
    assert result.exit_code == 2, result.stderr
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == 2
    by_name = {m["name"]: m for m in summary["models"]}
    assert by_name["bad"]["verdict"] == "error"
    assert by_name["bad"]["exit_code"] == 2
    assert "no_such_column" in by_name["bad"]["error"]
    assert by_name["bad"]["report_folder"] is None and by_name["bad"]["files"] == []
    assert by_name["good"]["files"] == ["audit.json"]
    assert by_name["good"]["exit_code"] in (0, 1)
    assert "no_such_column" in result.stderr  # the error line still goes to stderr too
