"""The plugin inside real audits, through auditkit's test kit (``auditkit.testing``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from auditkit.testing import write_model_dir
from sklearn.calibration import calibration_curve

import auditkit_calibration.plugin as calibration


def reference_ece(prob: np.ndarray, outcome: np.ndarray, n_bins: int) -> float:
    """ECE from sklearn's bin means and np.digitize's right-closed bin counts."""
    prob_true, prob_pred = calibration_curve(outcome, prob, n_bins=n_bins)
    counts = np.bincount(np.digitize(prob, np.linspace(0, 1, n_bins + 1)[1:-1], right=True), minlength=n_bins)
    return float(np.sum(counts[counts > 0] * np.abs(prob_true - prob_pred)) / len(prob))


def test_section_matches_an_independent_computation(auditkit_run) -> None:
    run = auditkit_run(calibration, settings={"calibration": {"bins": 8}})
    assert run.error is None and not run.errors(), run.errors()
    section = run.section("calibration")
    predictions, frame = run.audit.predictions, run.audit.frame
    positive = predictions.proba[:, predictions.classes.index("positive")]
    outcome = (run.audit.y_true == "positive").astype(int)
    assert section.metrics["ece"] == pytest.approx(reference_ece(positive, outcome, 8), rel=1e-9)
    assert section.metrics["rows"] == len(frame) == 120
    low, high = section.metrics["ece_ci_low"], section.metrics["ece_ci_high"]
    assert 0 <= low <= high <= 1
    groups = {(g["feature"], g["group"]): g for g in section.data["groups"]}
    assert set(groups) == {("group", "a"), ("group", "b"), ("group", "c"), ("gender", "female"), ("gender", "male")}
    for (feature, value), group in groups.items():
        rows = (frame[feature] == value).to_numpy()
        assert group["rows"] == rows.sum()
        assert group["ece"] == pytest.approx(reference_ece(positive[rows], outcome[rows], 8), rel=1e-9)
    # what audit.json carries is what the Section held
    written = run.json["sections"]["calibration"]
    assert written["metrics"]["ece"] == pytest.approx(section.metrics["ece"])
    assert written["groups"] == section.data["groups"] or len(written["groups"]) == 5
    assert {c["name"] for c in written["charts"]} == {"calibration-reliability", "calibration-groups"}
    assert written["plugin"] == "calibration"


def test_top_label_calibration(auditkit_run) -> None:
    run = auditkit_run(calibration, settings={"calibration": {"kind": "top-label", "bins": 5, "sensitive": []}})
    predictions = run.audit.predictions
    confidence = predictions.proba.max(axis=1)  # the predicted label is the argmax
    correct = (predictions.labels == run.audit.y_true).astype(int)
    assert run.section("calibration").metrics["ece"] == pytest.approx(reference_ece(confidence, correct, 5))
    assert run.section("calibration").data["method"]["kind"] == "top-label"


def test_tolerance_fails_the_audit(auditkit_run) -> None:
    # the tiny model's ECE on 120 rows is within its noise floor: with intervals that is a warn
    # (the data cannot tell); without a bootstrap there is no interval, and ECE > max_ece fails
    run = auditkit_run(calibration, settings={"calibration": {"max_ece": 0.0, "warn_ece": 0.0}})
    [uncertain] = run.findings(code="calibration-ece-uncertain")
    assert uncertain.severity == "warn" and "cannot tell" in uncertain.message
    assert not run.findings(code="calibration-ece-above-max")
    assert not [f for f in run.findings(plugin="calibration") if f.severity == "fail"]
    run = auditkit_run(calibration, settings={"calibration": {"max_ece": 0.0, "warn_ece": 0.0, "bootstrap": 0}})
    [fail] = run.findings(code="calibration-ece-above-max")
    assert fail.severity == "fail" and fail.plugin == "calibration"
    assert "max_ece = 0 ([calibration])" in fail.message
    assert run.exit_code == 1
    assert run.json["verdict"] == "fail"


def test_generous_tolerance_passes(auditkit_run) -> None:
    run = auditkit_run(calibration, settings={"calibration": {"max_ece": 1.0, "warn_ece": 1.0}})
    codes = {f.code for f in run.findings(plugin="calibration")}
    assert codes <= {"calibration-ece-within-tolerance", "calibration-small-groups"}
    assert run.section("calibration").verdict == "pass"


def test_bad_config_is_a_usage_error_naming_the_key(auditkit_run) -> None:
    run = auditkit_run(calibration, settings={"calibration": {"bins": 1}})
    assert run.exit_code == 2
    assert "[calibration] bins = 1: expected a number >= 2" in run.error


def test_unknown_sensitive_column_names_the_setting(auditkit_run) -> None:
    run = auditkit_run(calibration, settings={"calibration": {"sensitive": ["age"]}})
    [error] = run.findings(severity="error", plugin="calibration")
    assert error.code == "usage-error"
    assert "[calibration] sensitive names 'age'" in error.message and "command line" in error.message
    assert run.exit_code == 2, "bad input, found late: a usage error, not a plugin error"


def test_template_dir_holds_the_partial() -> None:
    folder = calibration.auditkit_template_dirs()
    assert (folder / "calibration" / "section.html.j2").is_file()


def test_declares_the_versions_it_supports() -> None:
    import auditkit
    from auditkit.compat import check_hook_api

    assert calibration.auditkit_hook_api == auditkit.__hook_api_version__
    assert check_hook_api(calibration) is None


def test_loads_as_an_installed_entry_point(auditkit_run) -> None:
    run = auditkit_run("calibration")  # by entry-point name: as auditkit itself would load it
    assert run.section("calibration").plugin == "calibration"


# ---------------------------------------------------------------- predictions mode


def vendor_dir(tmp_path: Path, frame: pd.DataFrame) -> Path:
    model_dir = tmp_path / "vendor"
    model_dir.mkdir()
    frame.to_csv(model_dir / "scores.csv", index=False)
    (model_dir / "auditkit.toml").write_text(
        '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["region"]\n'
        '[predictions]\nfile = "scores.csv"\nscore = "p"\nthreshold = 0.5\n'
    )
    return model_dir


def test_vendor_probabilities_and_a_miscalibrated_group(auditkit_run, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 1, 600)
    region = np.where(np.arange(600) < 400, "north", "south")
    # north is calibrated; south's outcomes are positive far more often than promised
    outcome = np.where(region == "north", rng.random(600) < p, rng.random(600) < np.sqrt(p)).astype(int)
    model_dir = vendor_dir(tmp_path, pd.DataFrame({"p": p, "outcome": outcome, "region": region}))
    run = auditkit_run(calibration, model_dir=model_dir, settings={"calibration": {"bins": 10}})
    assert run.audit.model.task == "scores"
    section = run.section("calibration")
    assert section.metrics["ece"] == pytest.approx(reference_ece(p, outcome, 10))
    groups = {g["group"]: g for g in section.data["groups"]}
    south = region == "south"
    assert groups["south"]["ece"] == pytest.approx(reference_ece(p[south], outcome[south], 10))
    assert groups["south"]["verdict"] == "fail" and groups["south"]["ci_low"] > 0.1
    assert groups["north"]["verdict"] == "pass"
    [finding] = run.findings(code="calibration-group-ece-above-max")
    assert finding.message.startswith("region=south (200 rows)")


def test_scores_that_are_not_probabilities(auditkit_run, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"p": rng.uniform(0, 10, 50), "outcome": rng.integers(0, 2, 50), "region": "x"})
    model_dir = vendor_dir(tmp_path, frame)
    (model_dir / "auditkit.toml").write_text((model_dir / "auditkit.toml").read_text().replace("0.5", "5.0"))
    run = auditkit_run(calibration, model_dir=model_dir)
    section = run.section("calibration")
    [info] = section.findings
    assert info.code == "calibration-not-applicable" and "not probabilities" in info.message
    assert section.metrics == {} and run.exit_code == 0


def test_three_labels_use_top_label_and_refuse_positive(auditkit_run, tmp_path: Path) -> None:
    model_dir = write_model_dir(tmp_path / "three", labels=("negative", "neutral", "positive"))
    run = auditkit_run(calibration, model_dir=model_dir)
    assert run.section("calibration").data["method"]["kind"] == "top-label"
    run = auditkit_run(calibration, model_dir=model_dir, settings={"calibration": {"kind": "positive"}})
    [error] = run.findings(severity="error", plugin="calibration")
    assert error.code == "usage-error" and "kind = 'positive' needs a binary task" in error.message
    assert run.exit_code == 2
