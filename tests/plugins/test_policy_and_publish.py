"""The policy plugin (thresholds on any metric) and the dir: publisher."""

from __future__ import annotations

import json
from pathlib import Path

from auditkit import hookimpl
from auditkit.audit import Section
from auditkit.testing import run_audit, run_cli


class FixedScore:
    """A plugin with a known metric, so the policy outcome is known in advance."""

    @staticmethod
    @hookimpl
    def auditkit_assess(audit):
        return Section(name="quality", title="Quality", metrics={"accuracy": 0.62, "latency_ms": 40.0})


def test_policy_thresholds(tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = {
        "policy": {
            "fail_below": {"quality.accuracy": 0.7},
            "warn_above": {"quality.latency_ms": 30},
            "warn_below": {"quality.latency_ms": 10},
            "fail_above": {"missing.metric": 1},
        },
        "run": {"disable": ["fairness", "privacy", "market", "valuation", "training"]},
    }
    run = run_audit(tiny_model_dir, tmp_path / "out", plugins=[("fixed", FixedScore)], settings=settings)
    codes = {(f.code, f.severity) for f in run.audit.findings if f.plugin == "policy"}
    assert ("policy-fail-below", "fail") in codes  # 0.62 < 0.7
    assert ("policy-warn-above", "warn") in codes  # 40 > 30
    assert ("policy-met", "info") in codes  # 40 is not below 10
    assert ("policy-metric-missing", "warn") in codes
    assert run.audit.verdict == "fail" and run.exit_code == 1


def test_policy_rejects_undotted_names(tiny_model_dir: Path, tmp_path: Path) -> None:
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text() + "\n[policy]\nfail_below = { accuracy = 0.7 }\n")
    result = run_cli(["run", tiny_model_dir, "--out", tmp_path])
    assert result.exit_code == 2
    assert "section.metric" in result.stderr and "[policy] fail_below" in result.stderr


def test_publish_to_a_ticket_folder(tiny_model_dir: Path, tmp_path: Path) -> None:
    ticket = tmp_path / "ticket-42"
    result = run_cli(
        ["run", tiny_model_dir, "--out", tmp_path / "out", "--format", "json,md", "--publish", f"dir:{ticket}"]
    )
    assert result.exit_code in (0, 1), result.stderr
    published = ticket / "tox-v3"
    assert json.loads((published / "audit.json").read_text())["model"]["name"] == "tox-v3"
    assert (published / "audit.json").read_bytes() == (tmp_path / "out" / "tox-v3" / "audit.json").read_bytes()


def test_publish_unknown_target(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json", "--publish", "ftp:tickets/X-1"])
    assert result.exit_code == 2
    assert "no publisher knows this target" in result.stderr
