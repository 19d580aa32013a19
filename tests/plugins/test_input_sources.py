"""Every input says who set it; business sections on defaults only are "illustrative".

A vendor-score audit (predictions mode, no business config) once printed an invented
risk-adjusted value, NPV and recommendation as plain figures labelled "config". These
tests run the real CLI on a scores dir and read what the reports say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditkit.config import read_toml
from auditkit.testing import read_audit_json, run_cli

BUSINESS = ("market", "valuation")
RANK = {"pass": 0, "info": 0, "warn": 1, "fail": 2, "error": 3}


# the fixtures of tests/hostile/conftest.py (local to that folder), copied
@pytest.fixture
def scores_dir(tmp_path: Path):
    """``scores_dir(frame)`` → a predictions-mode dir: the frame as scores.csv, audited by score."""

    def build(frame: Any, name: str = "vendor-score", threshold: float = 0.5, extra: str = "") -> Path:
        path = tmp_path / name
        path.mkdir()
        frame.to_csv(path / "scores.csv", index=False)
        (path / "auditkit.toml").write_text(
            '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["group"]\n\n'
            f'[predictions]\nfile = "scores.csv"\nscore = "score"\nthreshold = {threshold}\n' + extra,
            encoding="utf-8",
        )
        return path

    return build


@pytest.fixture
def scores_frame():
    def build(n: int = 200, seed: int = 0) -> Any:
        """Vendor scores in [0, 1], a binary outcome and a group column."""
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(seed)
        score = rng.random(n).round(4)
        return pd.DataFrame(
            {"score": score, "outcome": (rng.random(n) < score).astype(int), "group": rng.choice(["a", "b"], n)}
        )

    return build


def audit(model_dir: Path, out: Path, *args: str, formats: str = "json,md") -> dict[str, Any]:
    result = run_cli(["run", str(model_dir), "--out", str(out), "--format", formats, "-q", *args])
    assert result.exit_code in (0, 1), result.stderr
    return read_audit_json(out / model_dir.name / "audit.json")


def verdict_without_business(doc: dict[str, Any]) -> str:
    """The audit's verdict recomputed from every finding outside the business sections."""
    severities = [f["severity"] for f in doc["findings"] if f["section"] not in BUSINESS]
    rank = max((RANK[s] for s in severities), default=0)
    return {0: "pass", 1: "warn", 2: "fail", 3: "error"}[rank]


def calculation(doc: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    return next(c for c in doc["sections"][section]["calculations"] if c["name"] == name)


def test_defaults_only_business_sections_are_illustrative(scores_dir, scores_frame, tmp_path: Path) -> None:
    model_dir = scores_dir(scores_frame())
    doc = audit(model_dir, tmp_path / "out", formats="json,md,html")
    sources = doc["config_sources"]
    assert sources["market.a"] == sources["valuation.alpha"] == sources["valuation.ethics"] == "default"
    assert sources["data.label"] == "model dir"  # the vendor's own auditkit.toml
    for name in BUSINESS:
        section = doc["sections"][name]
        assert section["illustrative"] is True and section["status"] == "illustrative"
        assert {f["severity"] for f in section["findings"]} == {"info"}
        keys = next(f["message"] for f in section["findings"] if f["code"] == f"{name}-defaults")
        assert f"[{name}]" in keys
    # an illustrative business section never changes the verdict (the missing ethics checklist included)
    assert doc["verdict"] == verdict_without_business(doc)
    ethics = next(f for f in doc["findings"] if f["code"] == "valuation-ethics-missing")
    assert ethics["severity"] == "info"
    # each formula's inputs carry their source
    optimum = calculation(doc, "market", "optimal_spend")
    assert optimum["sources"] == {key: "default" for key in optimum["inputs"]}
    value = calculation(doc, "valuation", "technology_value")
    assert value["sources"] == {"α": "default", "y": "measured", "β": "default"}
    risk = calculation(doc, "valuation", "risk_adjusted_value")
    assert risk["sources"]["F"] == "measured" and risk["sources"]["E"] == "default"
    assert risk["sources"]["V_net"] == "default"  # computed from a default α
    costs = calculation(doc, "privacy", "protection_cost")
    assert costs["sources"] == {"protection": "default"}  # C = 0 because nothing was priced
    # the reports label the numbers, never a plain figure
    summary = (tmp_path / "out" / model_dir.name / "summary.md").read_text(encoding="utf-8")
    line = next(li for li in summary.splitlines() if li.startswith("| Risk-adjusted value (EUR)"))
    assert "illustrative (defaults)" in line
    assert "ILLUSTRATIVE (DEFAULTS)" in summary
    assert "**Recommendation:" in summary and "illustrative (defaults)**" in summary
    business = (tmp_path / "out" / model_dir.name / "business.html").read_text(encoding="utf-8")
    assert 'class="illustrative-banner"' in business and "ILLUSTRATIVE (DEFAULTS)" in business
    assert '<th scope="col">Source</th>' in business


def test_a_flag_makes_the_market_real_and_says_so(scores_dir, scores_frame, tmp_path: Path) -> None:
    model_dir = scores_dir(scores_frame())
    doc = audit(model_dir, tmp_path / "out", "--set", "market.a=60000.0")
    assert doc["config_sources"]["market.a"] == "flag"
    market = doc["sections"]["market"]
    assert market["illustrative"] is False and market["status"] != "illustrative"
    optimum = calculation(doc, "market", "optimal_spend")
    assert optimum["sources"]["a"] == "flag" and optimum["sources"]["b"] == "default"
    assert optimum["sources"] == {k: ("flag" if k == "a" else "default") for k in optimum["inputs"]}
    inputs = {row["name"]: row["source"] for row in market["inputs"]}
    assert inputs["market.a"] == "flag" and inputs["market.k"] == "default"
    # the valuation's own keys are still defaults: it stays illustrative
    assert doc["sections"]["valuation"]["illustrative"] is True


def test_a_vendor_value_is_labelled_model_dir(scores_dir, scores_frame, tmp_path: Path) -> None:
    model_dir = scores_dir(scores_frame(), extra="\n[valuation]\nalpha = 80000.0\n")
    doc = audit(model_dir, tmp_path / "out")
    assert doc["config_sources"]["valuation.alpha"] == "model dir"
    valuation = doc["sections"]["valuation"]
    assert valuation["illustrative"] is False
    assert calculation(doc, "valuation", "technology_value")["sources"]["α"] == "model dir"
    assert valuation["metrics"]["alpha"] == 80_000.0


def test_init_sets_only_the_keys_it_chose(scores_frame, tmp_path: Path) -> None:
    scores_frame().to_csv(tmp_path / "scores.csv", index=False)
    model_dir = tmp_path / "vendor"
    result = run_cli(
        [
            "init", str(model_dir), "--predictions", str(tmp_path / "scores.csv"), "--score", "score",
            "--threshold", "0.5", "--label", "outcome", "--sensitive", "group",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    parsed = read_toml(model_dir / "auditkit.toml")

    def live(node: dict[str, Any], prefix: str = "") -> set[str]:
        keys: set[str] = set()
        for key, value in node.items():
            keys |= live(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
        return keys

    chosen = {"data.path", "data.label", "data.sensitive", "predictions.file", "predictions.score"}
    chosen |= {"predictions.label", "predictions.threshold"}
    assert live(parsed) == chosen
    text = (model_dir / "auditkit.toml").read_text(encoding="utf-8")
    assert "\n# a = 50000.0\n" in text and "\n# alpha = 100000.0\n" in text  # defaults shown, commented out
    doc = audit(model_dir, tmp_path / "out", formats="json")
    sources = doc["config_sources"]
    assert sources["data.label"] == "reviewer config"  # init approves what it writes
    assert sources["market.a"] == sources["valuation.alpha"] == sources["fairness.min_group_size"] == "default"
    assert doc["sections"]["valuation"]["illustrative"] is True


def test_closing_table_marks_illustrative_numbers(scores_dir, scores_frame, tmp_path: Path) -> None:
    from auditkit.testing import run_cli

    model_dir = scores_dir(scores_frame())
    result = run_cli(["run", model_dir, "--out", tmp_path / "out", "--format", "json", "-q"])
    header, _, *rows = result.stdout.splitlines()[:3]
    assert "market.optimal_spend" in header, result.stdout
    spend = json.loads((tmp_path / "out" / model_dir.name / "audit.json").read_text())
    spend = spend["sections"]["market"]["metrics"]["optimal_spend"]
    assert f"{spend:,.0f} *" in rows[0]  # the default-input figure is marked, with the footnote below
    assert "* illustrative: computed from default inputs" in result.stdout
    # with the reviewer's own market inputs the figure is plain
    given = run_cli(["run", model_dir, "--out", tmp_path / "out2", "--format", "json", "-q", "--set", "market.a=60000"])
    assert " *" not in given.stdout.splitlines()[2] and "illustrative:" not in given.stdout
