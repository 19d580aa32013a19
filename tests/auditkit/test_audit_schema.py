"""audit.json has a published JSON Schema (auditkit/audit.schema.json) that every audit.json holds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from auditkit.testing import audit_schema, check_audit_schema, read_audit_json, run_audit, write_predictions_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real audit.json (predictions mode: no model weights, so it is quick)."""
    base = tmp_path_factory.mktemp("schema")
    model_dir = write_predictions_dir(base / "vendor", seed=5, n=300)
    run = run_audit(model_dir, base / "out", builtins=("fairness", "privacy", "predictions", "tabular", "policy"))
    assert run.error is None, run.error
    return json.loads(run.files["audit.json"].read_text(encoding="utf-8"))


def test_jsonschema_is_installed_so_no_check_is_skipped() -> None:
    # check_audit_schema does nothing without jsonschema (a plugin author's suite may lack it)
    assert callable(jsonschema.Draft202012Validator)


def test_the_schema_is_valid_draft_2020_12_and_ships_in_the_package() -> None:
    schema = audit_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == json.loads((ROOT / "auditkit" / "audit.schema.json").read_text(encoding="utf-8"))
    from auditkit.config import tomllib

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "audit.schema.json" in package_data["auditkit"]


def test_a_produced_audit_json_matches(produced: dict) -> None:
    check_audit_schema(produced)
    assert produced["verdict"] in ("pass", "warn", "fail", "error")
    assert "fairness" in produced["sections"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.update(verdict="ok"), "$.verdict"),
        (lambda d: d.pop("schema_version"), "at $: 'schema_version' is a required property"),
        (lambda d: d.update(schema_version="2.0"), "$.schema_version"),
        (lambda d: d["findings"].append({"severity": "fatal", "code": "x", "message": "m", "section": None,
                                         "plugin": None}), "$.findings.0.severity"),
        (lambda d: d["sections"]["fairness"]["metrics"].update(score="high"), "$.sections.fairness.metrics.score"),
        (lambda d: d["sections"]["fairness"].update(report="marketing"), "$.sections.fairness.report"),
        (lambda d: d["config_sources"].update({"x.y": "vendor"}), "$.config_sources.x.y"),
        (lambda d: d.update(surprise=1), "'surprise' was unexpected"),
        (lambda d: d["render_errors"].append({"severity": "warn"}), "$.render_errors.0"),
        (lambda d: d["model"].pop("loader"), "'loader' is a required property"),
    ],
)
def test_the_contract_is_precise(produced: dict, change, where: str) -> None:
    broken = copy.deepcopy(produced)
    if where == "$.findings.0.severity":
        broken["findings"] = []
    change(broken)
    with pytest.raises(AssertionError) as caught:
        check_audit_schema(broken, "broken/audit.json")
    assert "broken/audit.json does not match auditkit/audit.schema.json" in str(caught.value)
    assert where in str(caught.value)


def test_plugins_may_add_keys_where_the_schema_is_open(produced: dict) -> None:
    extended = copy.deepcopy(produced)
    extended["sections"]["fairness"]["groups_by_plugin"] = {"anything": [1, 2]}  # Section.data
    extended["model"]["adapter"] = "lora"  # a loader's own facts
    extended["sections"]["fairness"]["calculations"][0]["inputs"]["new input"] = [1, "a"]
    check_audit_schema(extended)


def test_read_audit_json_checks_what_it_reads(tmp_path: Path, produced: dict) -> None:
    path = tmp_path / "elsewhere" / "audit.json"
    path.parent.mkdir()
    path.write_text(json.dumps({**produced, "verdict": "maybe"}), encoding="utf-8")
    with pytest.raises(AssertionError, match=r"at \$\.verdict"):
        read_audit_json(path)
    path.write_text(json.dumps(produced), encoding="utf-8")
    assert read_audit_json(path) == produced
    path.unlink()  # the conftest sweep would (rightly) flag the broken one
