"""Oversized, over-deep and non-JSON documents in a model dir: refused in one line, never read whole.

The 1 GB files are sparse (``truncate``): they take no disk space, and the test would
take minutes if auditkit read them, so a fast refusal is itself the proof of the size check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from auditkit.testing import read_audit_json

GB = 1 << 30


def _sparse(path: Path, size: int = GB) -> None:
    with open(path, "r+b" if path.exists() else "wb") as handle:
        handle.truncate(size)


@pytest.mark.parametrize("name", ["config.json", "tokenizer.json", "tokenizer_config.json"])
def test_one_gigabyte_json(tiny_model_dir: Path, audit_run, name: str) -> None:
    _sparse(tiny_model_dir / name)
    assert os.stat(tiny_model_dir / name).st_size == GB
    audit_run(tiny_model_dir).usage_error(name, str(GB), "limit")


def test_one_gigabyte_index(tiny_model_dir: Path, audit_run) -> None:
    (tiny_model_dir / "model.safetensors").unlink()
    _sparse(tiny_model_dir / "model.safetensors.index.json")
    audit_run(tiny_model_dir).usage_error("model.safetensors.index.json", "limit")


@pytest.mark.parametrize("shape", ["arrays", "objects"])
def test_config_nested_10000_deep(tiny_model_dir: Path, audit_run, shape: str) -> None:
    depth = 10_000
    if shape == "arrays":
        text = "[" * depth + "]" * depth
    else:  # a valid object at the top, so type checks alone would not catch it
        text = '{"architectures": ["BertForSequenceClassification"], "x": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    (tiny_model_dir / "config.json").write_text(text)
    audit_run(tiny_model_dir).usage_error("config.json", "nested too deeply")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{ this is not json", "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        (b'{"version": "1.0", "model": ', "not valid JSON"),  # truncated
        (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
        (b"{}", "the tokenizer cannot be loaded"),  # JSON, but not a tokenizer
        (b'"just a string"', "the tokenizer cannot be loaded"),
    ],
    ids=["garbage", "binary", "truncated", "deep", "empty-object", "a-string"],
)
def test_tokenizer_json_that_is_not_a_tokenizer(tiny_model_dir: Path, audit_run, content: bytes, needle: str) -> None:
    (tiny_model_dir / "tokenizer.json").write_bytes(content)
    audit_run(tiny_model_dir).usage_error(needle)


def test_one_gigabyte_model_card_is_read_only_in_part(tiny_model_dir: Path, audit_run) -> None:
    card = tiny_model_dir / "README.md"
    card.write_text("---\nlicense: mit\nlanguage: en\n---\n# Tox v3\n")
    _sparse(card)
    audit = audit_run(tiny_model_dir).audit()
    assert audit["model"]["name"] == "tox-v3"


def test_model_card_yaml_bomb(tiny_model_dir: Path) -> None:
    """Nine aliases deep is 10⁹ nodes once a renderer writes the card out: refused, not expanded."""
    from auditkit.model_dir import read_model_card

    lines = ["---", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines += ["license: mit", "---", "the card text"]
    (tiny_model_dir / "README.md").write_text("\n".join(lines))
    card = read_model_card(tiny_model_dir)
    assert card == {"text": "the card text"}
    assert len(json.dumps(card)) < 100


DEEP_FLOW = "[" * 5000 + "]" * 5000
DEEP_BLOCK = "a:\n" + "".join(" " * (i + 1) + "b:\n" for i in range(1000))


@pytest.mark.parametrize("front", [DEEP_FLOW, DEEP_BLOCK], ids=["flow", "block"])
def test_model_card_nested_front_matter(tiny_model_dir: Path, front: str) -> None:
    """The pure-Python YAML parser is quadratic in depth: deep front matter is dropped at once."""
    from auditkit.model_dir import read_model_card

    (tiny_model_dir / "README.md").write_text(f"---\n{front}\n---\nbody")
    assert read_model_card(tiny_model_dir) == {"text": "body"}


def test_model_card_keeps_ordinary_front_matter(tiny_model_dir: Path) -> None:
    from auditkit.model_dir import read_model_card

    (tiny_model_dir / "README.md").write_text(
        "---\nlicense: mit\ntags: [toxicity, bert]\ndate: 2024-05-01\n"
        "model-index:\n  - name: tox\n    results:\n      - metrics:\n          - {type: f1, value: 0.91}\n"
        "---\n# Tox\nA classifier."
    )
    assert read_model_card(tiny_model_dir) == {
        "license": "mit",
        "tags": ["toxicity", "bert"],
        "date": "2024-05-01",
        "model-index": [{"name": "tox", "results": [{"metrics": [{"type": "f1", "value": 0.91}]}]}],
        "text": "# Tox\nA classifier.",
    }


@pytest.mark.parametrize("name", ["trainer_state.json", "training.json"])
def test_one_gigabyte_training_record(tiny_model_dir: Path, audit_run, name: str) -> None:
    """The training evidence is read with the same cap: refused in a finding, not read whole."""
    _sparse(tiny_model_dir / name)
    outcome = audit_run(tiny_model_dir)
    text = json.dumps(read_audit_json(outcome.out / outcome.name / "audit.json"))
    assert name in text and "limit" in text
    assert "Traceback" not in outcome.result.stderr
