"""The privacy section end to end through ``auditkit run``, and no raw PII in any output."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

from auditkit.cli import main
from auditkit.testing import sentiment_frame, write_model_dir

RAW = {
    "email": "maria.gonzalez@example.org",
    "card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
    "ssn": "536-22-1234",
    "phone": "+44 20 7946 0958",
    "ip": "203.0.113.77",
    "nino": "AB 12 34 56 C",
    "train_email": "k.tanaka@example.net",
}
SIGMA, RATE, STEPS, DELTA = 1.1, 0.01, 1000, 1e-5
CONFIG = """
[privacy]
epsilon_budget = 10.0

[privacy.costs]
protection = [ { name = "anonymisation", amount = 5000 }, { name = "storage", per_record = 0.5 } ]
compliance = [ { name = "DPIA", amount = 4000 }, { name = "audit", hours = 20, rate = 120 } ]
remediation_per_finding = 100
"""
# plugins other engineers build: left out so this test measures the privacy plugin alone
OTHERS = ["training", "fairness", "market", "valuation", "pdf", "publish"]


def build_models(root: Path) -> tuple[Path, Path]:
    frame = sentiment_frame(60, seed=0)
    frame["contact"] = ""
    frame.loc[0, "text"] = f"she wrote from {RAW['email']} about the movie"
    frame.loc[1, "text"] = f"he paid with {RAW['card']} and sent {RAW['iban']}"
    frame.loc[2, "contact"] = f"ssn {RAW['ssn']}, phone {RAW['phone']}"
    frame.loc[3, "contact"] = f"ip {RAW['ip']} ni {RAW['nino']}"
    dp_model = write_model_dir(root / "dp-model", frame=frame)
    with (dp_model / "auditkit.toml").open("a", encoding="utf-8") as fh:
        fh.write(CONFIG)
    train = sentiment_frame(40, seed=1)
    train.loc[0, "text"] = f"contact {RAW['train_email']} please"
    train.to_csv(dp_model / "train.csv", index=False)
    sentiment_frame(40, seed=2).to_csv(dp_model / "heldout.csv", index=False)
    record = {
        "dp": {"noise_multiplier": SIGMA, "sample_rate": RATE, "steps": STEPS, "delta": DELTA,
               "max_grad_norm": 1.0, "target_epsilon": 8.0, "epsilon_opacus": 1.2, "accountant": "prv"},
        "data": {"train_file": "train.csv", "eval_file": "heldout.csv"},
    }  # fmt: skip
    (dp_model / "training.json").write_text(json.dumps(record), encoding="utf-8")
    plain = write_model_dir(root / "plain-model", frame=sentiment_frame(40, seed=3))
    return dp_model, plain


def test_privacy_section_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import dp_accounting

    build_models(tmp_path / "models")
    out = tmp_path / "reports"
    disabled = [n for n in OTHERS]
    for name, module in (("markdown", "markdown_report"), ("html", "html_report")):
        if importlib.util.find_spec(f"auditkit.plugins.render.{module}") is None:
            disabled.append(name)
    args = ["run", str(tmp_path / "models"), "--out", str(out), "--format", "json,md,html", "-q"]
    for name in disabled:
        args += ["-p", f"no:{name}"]
    code = main(args)
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr

    dp_audit = json.loads((out / "dp-model" / "audit.json").read_text(encoding="utf-8"))
    privacy = dp_audit["sections"]["privacy"]
    m = privacy["metrics"]
    # ε recomputed here straight from dp-accounting's PLD accountant
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(RATE, dp_accounting.GaussianDpEvent(SIGMA)), STEPS
    )
    expected = dp_accounting.pld.PLDAccountant().compose(event).get_epsilon(DELTA)
    assert m["epsilon"] == pytest.approx(expected)
    assert m["epsilon_rdp"] >= m["epsilon"] and m["epsilon_rdp_classic"] >= m["epsilon_rdp"]
    assert m["epsilon_recorded"] == 1.2 and m["budget_used"] == pytest.approx(expected / 10.0)
    assert privacy["dp"]["source"] == "training.json" and privacy["dp"]["steps"] == STEPS
    # C = 5000 + 0.5 × 40 training rows + 100 × PII findings; D = 4000 + 20 × 120
    findings = privacy["pii"]["findings"]
    assert m["protection_cost"] == pytest.approx(5000 + 0.5 * 40 + 100 * len(findings))
    assert m["compliance_cost"] == pytest.approx(6400)
    found = {(f["data"], f["column"], f["type"]) for f in findings}
    assert {("evaluation", "text", "email"), ("evaluation", "text", "payment_card"), ("evaluation", "text", "iban"),
            ("evaluation", "contact", "us_ssn"), ("evaluation", "contact", "phone"), ("evaluation", "contact", "ipv4"),
            ("evaluation", "contact", "uk_nino"), ("training", "text", "email")} <= found  # fmt: skip
    assert m["mia_samples"] > 0 and 0 <= m["mia_auc"] <= 1
    codes = {f["code"] for f in privacy["findings"]}
    assert {"privacy-pii-found", "privacy-epsilon-understated", "privacy-names-not-scanned"} <= codes
    assert privacy["verdict"] == "warn"
    charts = {c["name"] for c in privacy["charts"]}
    assert charts == {"privacy-epsilon-steps", "privacy-epsilon-delta", "privacy-mia-roc"}

    plain = json.loads((out / "plain-model" / "audit.json").read_text(encoding="utf-8"))["sections"]["privacy"]
    assert plain["metrics"]["epsilon"] is None
    assert "no formal guarantee" in plain["summary"]
    assert "privacy-no-dp" in {f["code"] for f in plain["findings"]}
    assert "privacy-mia-skipped" in {f["code"] for f in plain["findings"]}
    assert plain["metrics"]["protection_cost"] == 0 and plain["metrics"]["compliance_cost"] == 0

    # never a raw value: not in any report file, not on the terminal
    outputs = {"stdout": stdout, "stderr": stderr}
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".md", ".html", ".txt", ".csv"}:
            outputs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    assert any(p.endswith("audit.json") for p in outputs)
    for where, text in outputs.items():
        flat = text.replace("\\u00a0", " ")
        for kind, value in RAW.items():
            assert value not in flat, f"raw {kind} in {where}"
            assert value.replace(" ", "") not in flat.replace(" ", ""), f"raw {kind} (unspaced) in {where}"
    assert math.isfinite(m["epsilon"])


def test_privacy_can_be_disabled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = write_model_dir(tmp_path / "m", frame=sentiment_frame(20, seed=4))
    out = tmp_path / "reports"
    args = ["run", str(model), "--out", str(out), "--format", "json", "-q", "-p", "no:privacy"]
    for name in [*OTHERS, "markdown", "html"]:
        args += ["-p", f"no:{name}"]
    assert main(args) == 0, capsys.readouterr().err
    assert "privacy" not in json.loads((out / "m" / "audit.json").read_text(encoding="utf-8"))["sections"]


def test_incomplete_dp_config_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = write_model_dir(tmp_path / "m", frame=sentiment_frame(20, seed=5))
    with (model / "auditkit.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[privacy.dp]\nnoise_multiplier = 1.0\nsteps = 100\n")
    args = ["run", str(model), "--out", str(tmp_path / "reports"), "--format", "json", "-q"]
    for name in [*OTHERS, "markdown", "html"]:
        args += ["-p", f"no:{name}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "privacy" in line]
    assert len(lines) == 1
    assert "m/auditkit.toml: [privacy.dp]: give sample_rate, or batch_size and dataset_size" in lines[0]
