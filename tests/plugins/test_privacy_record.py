"""Where the DP run and the training data come from: ``[privacy.dp]``, ``training.json``, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from auditkit.plugins.assess.privacy import record

from auditkit import ConfigError, DataError
from auditkit.audit import Audit, ModelInfo
from auditkit.config import build_config
from auditkit.manager import get_plugin_manager
from auditkit.runner import Runner, RunOptions


def audit_in(model_dir: Path, settings: dict[str, Any] | None = None) -> Audit:
    schemas = Runner(get_plugin_manager(autoload=False), RunOptions()).schemas()
    config = build_config(schemas, [(str(model_dir / "auditkit.toml"), settings or {})])
    info = ModelInfo(name="m", path=str(model_dir), task="sequence-classification", labels=["a", "b"], loader="t")
    return Audit(model=info, config=config, model_dir=str(model_dir), out_dir=".", report_id="t")


def write(model_dir: Path, body: Any) -> None:
    (model_dir / "training.json").write_text(json.dumps(body) if not isinstance(body, str) else body)


def test_no_record_and_no_config_means_no_dp(tmp_path: Path) -> None:
    assert record.dp_setting(audit_in(tmp_path), record.read_record(tmp_path)) is None


def test_config_with_batch_and_epochs(tmp_path: Path) -> None:
    dp = {"noise_multiplier": 1.1, "batch_size": 256, "dataset_size": 60000, "epochs": 60, "delta": 1e-6}
    setting = record.dp_setting(audit_in(tmp_path, {"privacy": {"dp": dp}}), record.TrainingRecord())
    assert setting is not None and setting.source == "[privacy.dp]"
    assert setting.sample_rate == pytest.approx(256 / 60000)
    assert setting.steps == math.ceil(60 * 60000 / 256) == 14063
    assert setting.delta == 1e-6


def test_config_wins_over_the_record(tmp_path: Path) -> None:
    write(tmp_path, {"dp": {"noise_multiplier": 0.8, "sample_rate": 0.01, "steps": 10, "delta": 1e-5}})
    settings = {"privacy": {"dp": {"noise_multiplier": 2.0, "sample_rate": 0.02, "steps": 50}}}
    setting = record.dp_setting(audit_in(tmp_path, settings), record.read_record(tmp_path))
    assert (setting.noise_multiplier, setting.sample_rate, setting.steps) == (2.0, 0.02, 50)


def test_record_block_as_auditkit_train_writes_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"dp": {"noise_multiplier": 0.9, "sample_rate": 0.004, "steps": 3000, "delta": 1e-6, "max_grad_norm": 1.0,
                "target_epsilon": 8.0, "epsilon_opacus": 7.9, "accountant": "prv"},
         "data": {"train_file": "train.csv", "eval_file": "eval.csv"}},
    )  # fmt: skip
    setting = record.dp_setting(audit_in(tmp_path), record.read_record(tmp_path))
    assert setting is not None and setting.source == "training.json"
    assert (setting.noise_multiplier, setting.sample_rate, setting.steps, setting.delta) == (0.9, 0.004, 3000, 1e-6)
    assert (setting.recorded_epsilon, setting.recorded_accountant, setting.target_epsilon) == (7.9, "prv", 8.0)


@pytest.mark.parametrize(
    ("dp", "message"),
    [
        ({"sample_rate": 0.01, "steps": 10}, "dp.noise_multiplier = None: expected a number"),
        ({"noise_multiplier": "big", "sample_rate": 0.01, "steps": 10}, "dp.noise_multiplier = 'big'"),
        ({"noise_multiplier": 1.0, "steps": 10}, "give sample_rate, or batch_size and dataset_size"),
        ({"noise_multiplier": 1.0, "sample_rate": 0.01}, "needs steps (or epochs)"),
        ({"noise_multiplier": 1.0, "sample_rate": 3, "steps": 10}, "dp.sample_rate = 3.0 is out of range"),
    ],
)
def test_bad_record_names_file_and_field(tmp_path: Path, dp: dict[str, Any], message: str) -> None:
    write(tmp_path, {"dp": dp})
    with pytest.raises((DataError, ConfigError)) as info:
        record.dp_setting(audit_in(tmp_path), record.read_record(tmp_path))
    assert str(info.value).startswith("training.json: ")  # relative to the model dir: no local path
    assert str(tmp_path) not in str(info.value)
    assert message in str(info.value)


def test_unreadable_record(tmp_path: Path) -> None:
    write(tmp_path, "{not json")
    with pytest.raises(DataError, match=r"training\.json: not a readable JSON training record"):
        record.read_record(tmp_path)


def test_config_without_steps_names_the_file(tmp_path: Path) -> None:
    audit = audit_in(tmp_path, {"privacy": {"dp": {"noise_multiplier": 1.0, "sample_rate": 0.1}}})
    with pytest.raises(ConfigError, match=r"auditkit.toml: \[privacy.dp\]: give steps, or epochs"):
        record.dp_setting(audit, record.TrainingRecord())


def test_member_files_from_record_and_config(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("text,label\nx,a\n")
    (tmp_path / "eval.csv").write_text("text,label\ny,b\n")
    write(tmp_path, {"data": {"train_file": "train.csv", "eval_file": "eval.csv"}})
    train, held, source = record.member_files(audit_in(tmp_path), record.read_record(tmp_path))
    assert (train, held, source) == (tmp_path / "train.csv", tmp_path / "eval.csv", "training.json")
    with pytest.raises(ConfigError, match="give both train_data and holdout_data"):
        record.member_files(audit_in(tmp_path, {"privacy": {"membership": {"train_data": "train.csv"}}}),
                            record.TrainingRecord())  # fmt: skip
    write(tmp_path, {"data": {"train_file": "gone.csv", "eval_file": "eval.csv"}})
    with pytest.raises(DataError, match=r"training.json: data.train_file = 'gone.csv': no such file"):
        record.member_files(audit_in(tmp_path), record.read_record(tmp_path))
