"""Loads transformers classifiers (sequence and token classification) from a model dir.

Weights come from safetensors (sharded too), or ``pytorch_model.bin`` through
``torch.load(weights_only=True)``; ``trust_remote_code`` is never set. A PEFT/LoRA adapter
dir is loaded onto its local base model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditkit import ConfigSection, Option, hookimpl
from auditkit.config import Config

AUDITKIT_REQUIRES = {"torch": "'auditkit[hf]'", "transformers": "'auditkit[hf]'"}


@hookimpl
def auditkit_config_schema() -> ConfigSection:
    return ConfigSection(
        "model",
        [
            Option("batch_size", "int", 512, "most texts per inference batch", minimum=1, maximum=65_536),
            Option(
                "batch_tokens",
                "int",
                2048,
                "most word pieces per inference batch (0: no limit); texts of similar length are batched together",
                minimum=0,
                maximum=1 << 22,
            ),
            Option(
                "packed",
                "bool",
                True,
                "run BERT classifiers on packed, unpadded batches (loaded straight from model.safetensors when "
                "the dir allows, else checked against the model's own forward at load)",
            ),
            Option(
                "max_length",
                "int",
                256,
                "word pieces per text; longer texts are truncated (capped at the model's position limit)",
                minimum=8,
                maximum=1 << 20,
            ),
            Option(
                "base_model",
                "str",
                "",
                "PEFT/LoRA adapter dirs: path of the local base model (default: base_model_name_or_path)",
                path=True,
            ),
            Option("threads", "int", 0, "CPU threads for inference (0: every core)", minimum=0, maximum=1024),
        ],
        help="How the transformers loader runs the model.",
    )


@hookimpl(trylast=True)
def auditkit_load_model(model_dir: Path, config: Config) -> Any:
    if not ((model_dir / "config.json").is_file() or (model_dir / "adapter_config.json").is_file()):
        return None
    from auditkit.plugins.loaders.hf.loading import load_handle

    return load_handle(model_dir, config)


@hookimpl
def auditkit_policy(audit: Any) -> list[Any] | None:
    """A [model] max_length the model cannot take was capped at load: say so in the audit."""
    if audit.model.loader != "transformers":
        return None
    from auditkit.plugins.loaders.hf.lengths import capped_finding

    finding = capped_finding(audit.model.extra.get("max_length"))
    return [finding] if finding is not None else None
