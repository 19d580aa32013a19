"""A model dir's own auditkit.toml is the vendor's: it may describe, not steer or weaken.

docs/security.md, "Who sets what": defaults < the model dir's file < the reviewer's
--config < flags < --policy. The vendor's file may not name a file outside the dir, nor
disable plugins, drop formats or loosen a guarded setting, unless the reviewer says
``[run] trusted = true`` (and then the verdict says so); --policy is final.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from auditkit.config import FLAG, MODEL_DIR, POLICY, REVIEWER, Layer, build_config
from auditkit.errors import ConfigError
from auditkit.manager import get_plugin_manager
from auditkit.runner import Runner, RunOptions
from auditkit.testing import read_audit_json, run_cli


@pytest.fixture(scope="module")
def schemas():
    return Runner(get_plugin_manager(), RunOptions()).schemas()


def path_keys(schemas) -> list[str]:
    return sorted(f"{name}.{o.name}" for name, section in schemas.items() for o in section.options if o.path)


def nested(dotted: str, value) -> dict:
    *parents, leaf = dotted.split(".")
    # a sub-section like fairness.counterfactual nests as a table under its parent
    out: dict = {leaf: value}
    for part in reversed(parents):
        out = {part: out}
    return out


def test_every_file_reading_key_is_declared_a_path(schemas) -> None:
    keys = path_keys(schemas)
    for expected in (
        "data.path",
        "predictions.file",
        "privacy.membership.train_data",
        "privacy.membership.holdout_data",
        "training.record",
        "market.points_file",
        "fairness.counterfactual.pairs_original",
        "fairness.counterfactual.pairs_counterfactual",
    ):
        assert expected in keys


@pytest.mark.parametrize("where", ["proc", "sibling", "absolute", "home"])
def test_vendor_path_out_of_the_dir_is_refused_for_every_path_key(schemas, tmp_path: Path, where: str) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    outside = tmp_path / "reviewer-files" / "notes.csv"
    outside.parent.mkdir()
    outside.write_text("a,b\n1,2\n")
    value = {
        "proc": "/proc/self/environ",
        "sibling": "../reviewer-files/notes.csv",
        "absolute": str(outside),
        "home": "~/.aws/credentials",
    }[where]
    for dotted in path_keys(schemas):
        layer = Layer("model/auditkit.toml", nested(dotted, value), MODEL_DIR)
        with pytest.raises(ConfigError) as caught:
            build_config(schemas, [layer], model_dir=model_dir)
        message = str(caught.value)
        section, _, key = dotted.rpartition(".")
        assert f"[{section}] {key}" in message and "outside the model dir" in message, message
        assert "--set" in message and "auditkit trust" in message
        # the reviewer may name the same file: it is their own choice
        build_config(schemas, [Layer("--config mine.toml", nested(dotted, value), REVIEWER)], model_dir=model_dir)


def test_vendor_path_inside_the_dir_is_fine(schemas, tmp_path: Path) -> None:
    (tmp_path / "model" / "data").mkdir(parents=True)
    config = build_config(
        schemas, [Layer("m", {"data": {"path": "data/../data/eval.csv"}}, MODEL_DIR)], model_dir=tmp_path / "model"
    )
    assert config.get("data.path") == "data/../data/eval.csv"
    assert config.source("data.path") == MODEL_DIR


def test_symlink_named_by_a_path_key_is_followed(schemas, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "eval.csv").symlink_to("/proc/self/environ")
    with pytest.raises(ConfigError, match="outside the model dir"):
        build_config(schemas, [Layer("m", {"data": {"path": "eval.csv"}}, MODEL_DIR)], model_dir=model_dir)


@pytest.mark.parametrize(
    ("vendor", "key"),
    [
        ({"run": {"disable": ["policy", "fairness", "privacy"]}}, "run.disable"),
        ({"run": {"formats": ["json"]}}, "run.formats"),
        ({"run": {"fail_on": "fail"}}, None),  # the default already: nothing to say
        ({"run": {"trusted": True}}, "run.trusted"),
        ({"policy": {"missing": "info"}}, "policy.missing"),
        ({"privacy": {"epsilon_budget": 0.0}}, None),
        ({"privacy": {"membership": {"warn_auc": 0.99}}}, "privacy.membership.warn_auc"),
        ({"privacy": {"pii": {"enabled": False}}}, "privacy.pii.enabled"),
        ({"privacy": {"pii": {"columns": ["id"]}}}, "privacy.pii.columns"),
        ({"privacy": {"dp": {"delta": 0.4}}}, "privacy.dp.delta"),
    ],
)
def test_vendor_cannot_weaken_the_audit(schemas, tmp_path: Path, vendor: dict, key: str | None) -> None:
    plain = build_config(schemas, [], model_dir=tmp_path)
    config = build_config(schemas, [Layer("m/auditkit.toml", vendor, MODEL_DIR)], model_dir=tmp_path)
    if key is None:
        assert config.vendor_settings == []
        return
    assert [s.key for s in config.vendor_settings] == [key]
    setting = config.vendor_settings[0]
    assert not setting.applied
    assert config.get(key) == plain.get(key), "an untrusted weakening value must not stand"
    assert config.source(key) != MODEL_DIR


def test_vendor_may_make_the_audit_stricter(schemas, tmp_path: Path) -> None:
    vendor = {"run": {"fail_on": "warn"}, "privacy": {"membership": {"warn_auc": 0.55}, "epsilon_budget": 3.0}}
    config = build_config(schemas, [Layer("m", vendor, MODEL_DIR)], model_dir=tmp_path)
    assert config.vendor_settings == []
    assert config.get("run.fail_on") == "warn"
    assert config.get("privacy.membership.warn_auc") == 0.55
    assert config.source("privacy.epsilon_budget") == MODEL_DIR


def test_budget_zero_means_none_so_dropping_it_is_weaker(schemas, tmp_path: Path) -> None:
    mine = Layer("--config r.toml", {"run": {"fail_on": "fail"}, "privacy": {"epsilon_budget": 2.0}}, REVIEWER)
    # the reviewer set the budget: the vendor's 0 is not even considered
    config = build_config(schemas, [Layer("m", {"privacy": {"epsilon_budget": 0.0}}, MODEL_DIR), mine])
    assert config.get("privacy.epsilon_budget") == 2.0 and config.vendor_settings == []
    # the reviewer's budget came from a policy default of 3.0 instead: 0 (none) is looser
    from auditkit.trust_rules import is_weaker

    option = schemas["privacy"].option("epsilon_budget")
    assert is_weaker(option, 0.0, 3.0) and is_weaker(option, 5.0, 3.0)
    assert not is_weaker(option, 1.0, 3.0) and not is_weaker(option, 1.0, 0.0)


def test_trusted_applies_the_vendor_value_and_says_so(schemas, tmp_path: Path) -> None:
    vendor = Layer("m/auditkit.toml", {"run": {"disable": ["fairness"]}, "policy": {"missing": "info"}}, MODEL_DIR)
    trusted = Layer("command line", {"run": {"trusted": True}}, FLAG)
    config = build_config(schemas, [vendor, trusted], model_dir=tmp_path)
    assert config.trusted
    assert config.get("run.disable") == ["fairness"]
    assert {s.key for s in config.vendor_settings if s.applied} == {"run.disable", "policy.missing"}
    # and only the reviewer can say it: the vendor's own `trusted = true` is dropped
    config = build_config(schemas, [Layer("m", {"run": {"trusted": True, "disable": ["x"]}}, MODEL_DIR)])
    assert not config.trusted and config.get("run.disable") == []


def test_trusted_lets_a_vendor_path_lead_out(schemas, tmp_path: Path) -> None:
    vendor = Layer("m", {"data": {"path": "../eval.csv"}}, MODEL_DIR)
    config = build_config(schemas, [vendor, Layer("--set", {"run": {"trusted": True}}, FLAG)], model_dir=tmp_path)
    assert config.get("data.path") == "../eval.csv"


def test_reviewer_config_replaces_every_key_it_sets(schemas, tmp_path: Path) -> None:
    vendor = Layer("m", {"policy": {"fail_below": {"fairness.score": 0.1, "privacy.x": 1.0}}}, MODEL_DIR)
    mine = Layer("--config r.toml", {"policy": {"fail_below": {"fairness.score": 0.9}}}, REVIEWER)
    config = build_config(schemas, [vendor, mine], model_dir=tmp_path)
    assert config.get("policy.fail_below") == {"fairness.score": 0.9}
    assert config.source("policy.fail_below") == REVIEWER
    assert config.vendor_settings == []


def test_policy_file_is_final(schemas, tmp_path: Path) -> None:
    vendor = Layer("m", {"run": {"fail_on": "warn"}, "privacy": {"membership": {"warn_auc": 0.55}}}, MODEL_DIR)
    policy = Layer("--policy p.toml", {"policy": {"fail_below": {"fairness.score": 0.8}}}, POLICY)
    flag = Layer("command line", {"policy": {"fail_below": {"fairness.score": 0.1}}}, FLAG)
    config = build_config(schemas, [vendor, flag, policy], model_dir=tmp_path)
    # stricter or not, no vendor value of a guarded key stands beside a policy file
    assert config.get("run.fail_on") == "fail"
    assert config.get("privacy.membership.warn_auc") == 0.6
    assert {s.reason for s in config.vendor_settings} == {"a --policy file is final"}
    # and the policy file comes last: a flag does not loosen it
    assert config.get("policy.fail_below") == {"fairness.score": 0.8}
    assert config.source("policy.fail_below") == POLICY


# ------------------------------------------------------------------ through the real CLI


def _vendor_dir(scores_dir, scores_frame, extra: str) -> Path:
    model_dir = scores_dir(scores_frame())
    with open(model_dir / "auditkit.toml", "a", encoding="utf-8") as handle:
        handle.write(extra)
    return model_dir


def test_vendor_disable_is_ignored_and_reported(scores_dir, scores_frame, tmp_path: Path) -> None:
    model_dir = _vendor_dir(scores_dir, scores_frame, '\n[run]\ndisable = ["fairness", "policy"]\n')
    out = tmp_path / "out"
    result = run_cli(["run", model_dir, "--out", out, "--format", "json,md"])
    assert result.exit_code in (0, 1), result.stderr
    audit = read_audit_json(out / model_dir.name / "audit.json")
    assert "fairness" in audit["sections"]
    ignored = [f for f in audit["findings"] if f["code"] == "vendor-setting-ignored"]
    assert len(ignored) == 1 and "[run] disable" in ignored[0]["message"]
    assert audit.get("verdict_notes", []) == []


def test_vendor_data_file_outside_is_one_line_and_no_report(scores_dir, scores_frame, tmp_path: Path) -> None:
    secret = secrets.token_hex(8)
    notes = tmp_path / "private_notes.csv"
    notes.write_text(f"score,outcome,group\n0.5,1,{secret}\n")
    model_dir = scores_dir(scores_frame())
    text = (model_dir / "auditkit.toml").read_text().replace('path = "scores.csv"', 'path = "../private_notes.csv"')
    (model_dir / "auditkit.toml").write_text(text)
    out = tmp_path / "out"
    result = run_cli(["run", model_dir, "--out", out, "--format", "json,md"])
    assert result.exit_code == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("auditkit: error:")]
    assert len(lines) == 1 and "[data] path" in lines[0] and "outside the model dir" in lines[0]
    assert secret not in result.stderr + result.stdout
    assert not list(out.glob("*/audit.json"))


def test_init_approves_its_file_and_an_edit_withdraws_it(scores_frame, tmp_path: Path) -> None:
    data = tmp_path / "scores.csv"
    scores_frame().to_csv(data, index=False)
    model_dir = tmp_path / "vendor-score"
    init = run_cli(
        ["init", model_dir, "--predictions", data, "--label", "outcome", "--sensitive", "group", "--score", "score"]
    )
    assert init.exit_code == 0, init.stderr
    out = tmp_path / "out"
    first = run_cli(["run", model_dir, "--out", out, "--format", "json"])
    assert first.exit_code in (0, 1), first.stderr
    audit = read_audit_json(out / model_dir.name / "audit.json")
    assert audit["dataset"]["rows"] == 200
    # any change to the approved file makes it the vendor's again: its path out is refused
    toml = model_dir / "auditkit.toml"
    toml.write_text(toml.read_text() + "\n# edited\n")
    second = run_cli(["run", model_dir, "--out", out, "--format", "json"])
    assert second.exit_code == 2 and "outside the model dir" in second.stderr
    # until the reviewer approves it again
    assert run_cli(["trust", model_dir]).exit_code == 0
    third = run_cli(["run", model_dir, "--out", out, "--format", "json"])
    assert third.exit_code in (0, 1), third.stderr
    assert run_cli(["trust", "--revoke", model_dir]).exit_code == 0
    assert run_cli(["run", model_dir, "--out", out, "--format", "json"]).exit_code == 2
