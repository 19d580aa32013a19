"""Safety checks on a Hugging Face model dir, done before transformers sees any file.

The dir is untrusted: custom code (``auto_map``) is refused, weight files must stay inside
the dir, and pickled weights are only read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.errors import ModelDirError
from auditkit.model_dir import inside, read_json

TASK_SUFFIXES = {
    "ForSequenceClassification": "sequence-classification",
    "ForTokenClassification": "token-classification",
}
CODE_KEYS = ("auto_map", "trust_remote_code", "custom_pipelines")
PICKLE_SUFFIXES = (".bin", ".pkl", ".pickle", ".pt", ".pth", ".ckpt")


@dataclass
class WeightFiles:
    """Which weight files a dir holds and how they may be read."""

    kind: str  # "safetensors", "sharded-safetensors" or "pickle"
    files: list[Path]
    ignored_pickles: list[str] = field(default_factory=list)


def check_config(model_dir: Path, name: str = "config.json") -> dict[str, Any]:
    """Read config.json and refuse anything that would run code from the dir."""
    config = read_json(model_dir, name, limit=5_000_000)
    if not isinstance(config, dict):
        raise ModelDirError(f"{model_dir / name}: expected a JSON object, got {type(config).__name__}")
    refuse_custom_code(config, model_dir / name)
    return config


def refuse_custom_code(config: dict[str, Any], where: Path) -> None:
    for key in CODE_KEYS:
        if config.get(key):
            raise ModelDirError(
                f"{where}: field {key!r} asks to run custom code from the model dir; auditkit never "
                "sets trust_remote_code: use a standard transformers architecture and remove the field"
            )


def task_of(config: dict[str, Any], where: Path) -> tuple[str, str]:
    """(architecture, task) from ``architectures``; other heads are refused by name."""
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures or not isinstance(architectures[0], str):
        raise ModelDirError(
            f"{where}: field 'architectures' is missing; expected e.g. [\"BertForSequenceClassification\"]"
        )
    arch = architectures[0]
    for suffix, task in TASK_SUFFIXES.items():
        if arch.endswith(suffix):
            return arch, task
    raise ModelDirError(
        f"{where}: architecture {arch!r} is not a classifier; auditkit audits …ForSequenceClassification "
        "and …ForTokenClassification models"
    )


def labels_of(config: dict[str, Any], where: Path) -> list[str]:
    """Label names ordered by id, from ``id2label`` (or ``num_labels``)."""
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        try:
            pairs = sorted((int(k), str(v)) for k, v in id2label.items())
        except (TypeError, ValueError):
            raise ModelDirError(f"{where}: field 'id2label' must map integer ids to names") from None
        if [i for i, _ in pairs] != list(range(len(pairs))):
            raise ModelDirError(f"{where}: field 'id2label' ids must be 0..{len(pairs) - 1}")
        names = [v for _, v in pairs]
        if len(set(names)) != len(names):
            raise ModelDirError(f"{where}: field 'id2label' repeats a label name")
        return names
    count = config.get("num_labels", 2)
    return [f"LABEL_{i}" for i in range(int(count))]


def weight_files(model_dir: Path, prefix: str = "model") -> WeightFiles:
    """Find the weights; a sharded index may not point outside the dir or at a pickle."""
    pickles = sorted(p.name for p in model_dir.iterdir() if p.is_file() and p.name.lower().endswith(PICKLE_SUFFIXES))
    single = model_dir / f"{prefix}.safetensors"
    index = model_dir / f"{prefix}.safetensors.index.json"
    if single.exists():
        return WeightFiles("safetensors", [inside(model_dir, single.name)], pickles)
    if index.exists():
        data = read_json(model_dir, index.name)
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelDirError(f"{index}: field 'weight_map' is missing or empty")
        shards = []
        for shard in sorted(set(map(str, weight_map.values()))):
            if not shard.endswith(".safetensors"):
                raise ModelDirError(f"{index}: shard {shard!r} is not a .safetensors file")
            path = inside(model_dir, shard)
            if not path.is_file():
                raise ModelDirError(f"{index}: shard {shard!r} is missing from the model dir")
            shards.append(path)
        return WeightFiles("sharded-safetensors", shards, pickles)
    pickle_weights = model_dir / f"{prefix.replace('model', 'pytorch_model')}.bin"
    if pickle_weights.exists():
        return WeightFiles(
            "pickle", [inside(model_dir, pickle_weights.name)], [p for p in pickles if p != pickle_weights.name]
        )
    raise ModelDirError(
        f"{model_dir}: no weights found; expected {prefix}.safetensors (or a sharded "
        f"{prefix}.safetensors.index.json)"
        + (f"; pickle files present are never unpickled: {', '.join(pickles)}" if pickles else "")
    )


def check_safetensors(path: Path) -> dict[str, Any]:
    """Validate a safetensors header (offsets inside the file, sizes matching dtypes).

    The header is JSON: name → {dtype, shape, data_offsets}. A header that lies lets a
    reader run past the buffer, so every claim is checked against the file's real size.
    """
    import json
    import struct

    sizes = {
        "F64": 8,
        "F32": 4,
        "F16": 2,
        "BF16": 2,
        "I64": 8,
        "I32": 4,
        "I16": 2,
        "I8": 1,
        "U8": 1,
        "U16": 2,
        "U32": 4,
        "U64": 8,
        "BOOL": 1,
        "F8_E4M3": 1,
        "F8_E5M2": 1,
    }
    file_size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ModelDirError(f"{path}: too short to be a safetensors file; re-export with save_pretrained")
        (header_len,) = struct.unpack("<Q", head)
        if header_len > min(file_size - 8, 100_000_000):
            raise ModelDirError(f"{path}: safetensors header claims {header_len} bytes, past the end of the file")
        try:
            header = json.loads(handle.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise ModelDirError(f"{path}: safetensors header is not valid JSON; the file is corrupt") from None
    if not isinstance(header, dict):
        raise ModelDirError(f"{path}: safetensors header is not a JSON object; the file is corrupt")
    data_size = file_size - 8 - header_len
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            count = 1
            for dim in shape:
                count *= int(dim)
            ok = dtype in sizes and 0 <= start <= end <= data_size and end - start == count * sizes[dtype]
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ModelDirError(
                f"{path}: tensor {name!r} has a header entry that does not fit the file "
                "(dtype, shape or offsets); the file is corrupt or crafted — re-export with save_pretrained"
            )
    return header


def first_line(exc: BaseException) -> str:
    """An exception's first message line (or its type), for the one-line errors that name
    the file: transformers and safetensors errors run over many lines."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
