"""Weights and code a model dir may carry: never unpickled, never executed, never trusted.

(tests/auditkit/test_bad_inputs.py already covers a legacy malicious pytorch_model.bin,
auto_map in config.json, and a safetensors entry whose offsets run past the file.)
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest


@pytest.mark.parametrize("zip_format", [True, False], ids=["torch-zip", "legacy-pickle"])
def test_pickled_weights_never_unpickled(tiny_model_dir: Path, tmp_path: Path, audit_run, corpus, zip_format) -> None:
    marker = tmp_path / "pwned"
    (tiny_model_dir / "model.safetensors").unlink()
    corpus.write_pickle(tiny_model_dir / "pytorch_model.bin", marker, zip_format)
    outcome = audit_run(tiny_model_dir)
    outcome.usage_error("pytorch_model.bin", "weights_only", "model.safetensors")
    assert not marker.exists(), "the pickle ran"


@pytest.mark.parametrize("name", ["training_args.bin", "optimizer.pkl", "rng_state.pth", "scheduler.pt"])
def test_pickles_beside_safetensors_are_never_opened(tiny_model_dir: Path, tmp_path: Path, audit_run, corpus, name):
    """A Trainer output dir holds pickles next to the weights: the audit runs, they stay shut."""
    marker = tmp_path / "pwned"
    corpus.write_pickle(tiny_model_dir / name, marker, zip_format=name.endswith(".bin"))
    audit = audit_run(tiny_model_dir).audit()
    assert not marker.exists(), f"{name} was unpickled"
    assert audit["model"]["weights_format"] == "safetensors"
    assert name in audit["model"]["ignored_pickle_files"]


def test_only_pickles_and_no_weights(tiny_model_dir: Path, tmp_path: Path, audit_run, corpus) -> None:
    marker = tmp_path / "pwned"
    (tiny_model_dir / "model.safetensors").unlink()
    corpus.write_pickle(tiny_model_dir / "training_args.bin", marker, zip_format=True)
    corpus.write_pickle(tiny_model_dir / "model.pkl", marker, zip_format=False)
    audit_run(tiny_model_dir).usage_error("no weights found", "never unpickled", "model.pkl", "training_args.bin")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("file", "field", "value"),
    [
        ("tokenizer_config.json", "auto_map", {"AutoTokenizer": ["evil.EvilTokenizer", None]}),
        ("config.json", "custom_pipelines", {"text-classification": {"impl": "evil.EvilPipeline"}}),
        ("config.json", "trust_remote_code", True),
    ],
)
def test_custom_code_refused(tiny_model_dir: Path, tmp_path: Path, audit_run, file, field, value) -> None:
    marker = tmp_path / "code-ran"
    (tiny_model_dir / "evil.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    config = json.loads((tiny_model_dir / file).read_text())
    config[field] = value
    (tiny_model_dir / file).write_text(json.dumps(config))
    audit_run(tiny_model_dir).usage_error(file, repr(field), "trust_remote_code")
    assert not marker.exists(), "custom code from the model dir ran"


def test_unknown_tokenizer_class_does_not_import_from_the_dir(tiny_model_dir: Path, tmp_path: Path, audit_run) -> None:
    """Without auto_map, a made-up tokenizer_class must not make transformers import from the
    dir: transformers falls back to tokenizer.json, so the audit runs and the code stays shut."""
    marker = tmp_path / "code-ran"
    (tiny_model_dir / "tokenization_evil.py").write_text(f"from pathlib import Path\nPath({str(marker)!r}).touch()\n")
    config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "EvilTokenizerFast"
    (tiny_model_dir / "tokenizer_config.json").write_text(json.dumps(config))
    audit_run(tiny_model_dir).audit()
    assert not marker.exists()


# ------------------------------------------------------------------ safetensors headers


def _overlap(header: dict) -> None:
    """Two tensors of the same size claim the same bytes (aliasing)."""
    by_size: dict[int, list[str]] = {}
    for name in (n for n in header if n != "__metadata__"):
        start, end = header[name]["data_offsets"]
        by_size.setdefault(end - start, []).append(name)
    first, second = next(names for names in by_size.values() if len(names) > 1)[:2]
    header[second]["data_offsets"] = list(header[first]["data_offsets"])


def _first(header: dict) -> dict:
    return header[next(n for n in header if n != "__metadata__")]


LIES = {
    "overlapping-tensors": (_overlap, "invalid offset"),
    "dtype-wider-than-bytes": (lambda h: _first(h).update(dtype="F64"), "does not fit the file"),
    "shape-of-a-terabyte": (lambda h: _first(h).update(shape=[2**20, 2**20]), "does not fit the file"),
    "negative-offsets": (lambda h: _first(h).update(data_offsets=[-8, 0]), "does not fit the file"),
    "entry-not-an-object": (lambda h: h.update({next(n for n in h if n != "__metadata__"): "x"}), "does not fit"),
    "unknown-dtype": (lambda h: _first(h).update(dtype="PICKLE"), "does not fit the file"),
}


@pytest.mark.parametrize("lie", sorted(LIES))
def test_safetensors_header_lies(tiny_model_dir: Path, audit_run, corpus, lie: str) -> None:
    mutate, needle = LIES[lie]
    weights = tiny_model_dir / "model.safetensors"
    header, body = corpus.read_safetensors(weights)
    mutate(header)
    corpus.write_safetensors(weights, header, body)
    audit_run(tiny_model_dir).usage_error("model.safetensors", needle)


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        ("length-past-eof", "past the end of the file"),
        ("length-2**63", "past the end of the file"),
        ("header-10000-deep", "not valid JSON"),
        ("header-a-list", "not a JSON object"),
        ("trailing-bytes", "not fully covered"),
    ],
)
def test_safetensors_framing_lies(tiny_model_dir: Path, audit_run, corpus, damage: str, needle: str) -> None:
    weights = tiny_model_dir / "model.safetensors"
    header, body = corpus.read_safetensors(weights)
    blob = json.dumps(header).encode()
    if damage == "length-past-eof":
        corpus.write_safetensors(weights, blob, body, claimed=len(blob) + len(body) + 1)
    elif damage == "length-2**63":
        corpus.write_safetensors(weights, blob, body, claimed=2**63)
    elif damage == "header-10000-deep":
        corpus.write_safetensors(weights, b"[" * 10_000 + b"]" * 10_000, b"")
    elif damage == "header-a-list":
        corpus.write_safetensors(weights, b"[1, 2, 3]", b"")
    else:
        corpus.write_safetensors(weights, blob, body + b"\0" * 64)
    audit_run(tiny_model_dir).usage_error("model.safetensors", needle)


# ------------------------------------------------------------------ sharded weights


def _shard(tiny_model_dir: Path, target: str) -> None:
    """Replace model.safetensors by an index whose every tensor lives in ``target``."""
    from safetensors import safe_open

    with safe_open(tiny_model_dir / "model.safetensors", "pt") as handle:
        names = list(handle.keys())
    (tiny_model_dir / "model.safetensors").unlink()
    index = {"metadata": {"total_size": 0}, "weight_map": dict.fromkeys(names, target)}
    (tiny_model_dir / "model.safetensors.index.json").write_text(json.dumps(index))


@pytest.mark.parametrize("where", ["parent", "absolute", "symlinked-shard", "pickle-shard"])
def test_sharded_index_pointing_outside(tiny_model_dir: Path, outside: Path, audit_run, where: str) -> None:
    stolen = outside / "model-00001-of-00001.safetensors"
    shutil.copy(tiny_model_dir / "model.safetensors", stolen)
    if where == "parent":
        _shard(tiny_model_dir, os.path.relpath(stolen, tiny_model_dir))
        needle = "points outside the model dir"
    elif where == "absolute":
        _shard(tiny_model_dir, str(stolen))
        needle = "points outside the model dir"
    elif where == "symlinked-shard":
        _shard(tiny_model_dir, "model-00001-of-00001.safetensors")
        (tiny_model_dir / "model-00001-of-00001.safetensors").symlink_to(stolen)
        needle = "symlink pointing outside the model dir"
    else:
        _shard(tiny_model_dir, "pytorch_model.bin")
        needle = "is not a .safetensors file"
    audit_run(tiny_model_dir).usage_error("model-00001-of-00001" if where != "pickle-shard" else "index.json", needle)
