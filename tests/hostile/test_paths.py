"""Paths out of the model dir: symlinks are refused; the config's explicit path is the one way out.

Decision (docs/security.md, "Files outside the model dir"): every file auditkit or a
library reads *from the model dir* must resolve inside it, symlinks followed. The data
file that ``[data] path`` / ``[predictions] file`` names may lie outside only when the
path itself says so (``../eval.csv``, ``/data/eval.csv``), as ``auditkit init`` writes it:
the reviewer can read that in the config, while a symlink hides where it leads.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

SECRET = "reviewer-secret-7f3a"


def _move_out(model_dir: Path, name: str, outside: Path) -> Path:
    """Replace ``model_dir/name`` by a symlink to a copy outside (holding a secret line)."""
    source = model_dir / name
    target = outside / name.replace("/", "_")
    if source.exists():
        shutil.move(source, target)
    else:  # a file transformers would read if present
        target.write_text('{"mask_token": "' + SECRET + '"}')
    source.symlink_to(target)
    return target


@pytest.mark.parametrize(
    "name",
    [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",  # not named by auditkit: only transformers would open it
        "README.md",
        "eval.csv",  # the data file named in auditkit.toml
        "auditkit.toml",
    ],
)
def test_symlink_leading_out_is_refused(tiny_model_dir: Path, outside: Path, audit_run, name: str) -> None:
    if name == "README.md":
        (tiny_model_dir / name).write_text(f"---\nlicense: mit\n---\n{SECRET}\n")
    _move_out(tiny_model_dir, name, outside)
    outcome = audit_run(tiny_model_dir)
    line = outcome.usage_error(name, "is a symlink pointing outside the model dir")
    assert SECRET not in outcome.result.stderr + outcome.result.stdout
    assert str(tiny_model_dir) in line


def test_symlinked_subfolder_leading_out(tiny_model_dir: Path, outside: Path, audit_run) -> None:
    shutil.move(tiny_model_dir / "eval.csv", outside / "eval.csv")
    (tiny_model_dir / "data").symlink_to(outside, target_is_directory=True)
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', '"data/eval.csv"'))
    audit_run(tiny_model_dir).usage_error("data", "symlink pointing outside the model dir")


def test_leaving_and_reentering_the_dir_still_finds_the_symlink(tiny_model_dir: Path, outside: Path, audit_run) -> None:
    """``../tox-v3/eval.csv`` names a file of the model dir: the symlink rule still applies."""
    _move_out(tiny_model_dir, "eval.csv", outside)
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', f'"../{tiny_model_dir.name}/eval.csv"'))
    audit_run(tiny_model_dir).usage_error("eval.csv", "symlink pointing outside the model dir")


def test_symlink_loop(tiny_model_dir: Path, audit_run) -> None:
    (tiny_model_dir / "loop.json").symlink_to("loop.json")
    audit_run(tiny_model_dir).usage_error("loop.json", "symlink loop")


def test_symlink_inside_the_dir_is_fine(tiny_model_dir: Path, audit_run) -> None:
    (tiny_model_dir / "eval-latest.csv").symlink_to("eval.csv")
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', '"eval-latest.csv"'))
    audit = audit_run(tiny_model_dir).audit()
    assert audit["dataset"]["rows"] == 120


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_explicit_data_path_outside_is_allowed_and_recorded(
    tiny_model_dir: Path, outside: Path, audit_run, form: str
) -> None:
    """The reviewer may name a data file outside the dir (--set, --config, or a file they
    wrote with `auditkit init --data ../eval.csv`); the vendor's own auditkit.toml may not."""
    data = outside / "eval.csv"
    shutil.move(tiny_model_dir / "eval.csv", data)
    value = os.path.relpath(data, tiny_model_dir) if form == "relative" else str(data)
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', f'"{value}"'))
    audit_run(tiny_model_dir).usage_error("[data] path", "outside the model dir", "auditkit trust")
    toml.write_text(toml.read_text().replace(f'"{value}"', '"eval.csv"'))
    audit = audit_run(tiny_model_dir, "--set", f"data.path={json.dumps(str(data))}").audit()
    assert audit["dataset"]["rows"] == 120
    assert str(outside) not in json.dumps(audit), "no absolute path of the reviewer's machine in the report"
    assert audit["dataset"]["path"].startswith("eval.csv"), "the report names the file read, without its folder"


def test_special_files_are_not_data(tiny_model_dir: Path, audit_run) -> None:
    """/dev/zero would never end; a FIFO would block: only regular files are read."""
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', '"/dev/zero"'))
    audit_run(tiny_model_dir).usage_error("[data] path", "outside the model dir")  # the vendor may not name it
    audit_run(tiny_model_dir, "--set", 'data.path="/dev/zero"').usage_error("[data] path", "not a regular file")
    os.mkfifo(tiny_model_dir / "pipe.csv")
    toml.write_text(toml.read_text().replace('"/dev/zero"', '"pipe.csv"'))
    audit_run(tiny_model_dir).usage_error("[data] path", "not a regular file")


def test_training_record_naming_files_outside(tiny_model_dir: Path, outside: Path, audit_run) -> None:
    """training.json is the model owner's file, not the reviewer's config: the privacy scan
    of the training data must not read the reviewer's files it names."""
    import json

    import pandas as pd

    pd.DataFrame({"ssn_secret_column": ["123-45-6789"], "text": ["mail jane.doe@example.com"]}).to_csv(
        outside / "customers.csv", index=False
    )
    relative = os.path.relpath(outside / "customers.csv", tiny_model_dir)
    record = {"data": {"train_file": relative, "eval_file": relative}}
    (tiny_model_dir / "training.json").write_text(json.dumps(record))
    outcome = audit_run(tiny_model_dir)
    assert outcome.result.exit_code == 2, outcome.result.stderr
    assert "leads outside the model dir" in outcome.result.stderr
    assert str(outside) not in outcome.result.stderr, "the error names the file, not the reviewer's folder"
    written = "".join(p.read_text() for p in outcome.out.rglob("audit.json"))
    assert "ssn_secret_column" not in written and "jane" not in written
