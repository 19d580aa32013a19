"""Load a checked model dir (or a PEFT adapter on its local base) into a handle."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from auditkit.plugins.loaders.hf import checks, direct, lengths, patterns
from auditkit.plugins.loaders.hf.handle import Deferred, TransformersHandle

from auditkit.audit import ModelInfo
from auditkit.config import Config
from auditkit.errors import ModelDirError
from auditkit.hashing import files_sha256
from auditkit.model_dir import inside, list_files, read_json, read_model_card, refuse_escaping_symlinks

LOADER = "transformers"


def load_handle(model_dir: Path, config: Config) -> TransformersHandle:
    """A handle on a checked model dir. For a full model with safetensors weights every file
    is validated now and the model itself loads at the first prediction (see the handle)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    settings = config.section("model")
    batch_size, batch_tokens = int(settings["batch_size"]), int(settings.get("batch_tokens", 0))
    if (model_dir / "adapter_config.json").is_file():
        model, tokenizer, info = _load_adapter(model_dir, settings)
        handle_args = (batch_size, _max_length(info, config, model.config.to_dict()))
    else:
        info, weights, labels, raw = _describe_full(model_dir)
        handle_args = (batch_size, _max_length(info, config, raw))
        if weights.kind == "safetensors":
            headers = _check_safetensors(info, weights)
            tokenizer_files = _check_tokenizer_files(model_dir)
            plan, why_not = None, ""  # token tasks and packed = false: the transformers path, no note
            if info.task == "sequence-classification" and settings.get("packed", True):
                plan, why_not = direct.plan(model_dir, raw, weights, headers, tokenizer_files, len(labels))
            build = lambda: _load_lazily(model_dir, info, weights, settings, plan, why_not)  # noqa: E731
            return TransformersHandle(info, *handle_args, batch_tokens=batch_tokens, loader=build)
        model, tokenizer = _build_model(model_dir, info.task, weights), load_tokenizer(model_dir)
    info.num_parameters = int(sum(p.numel() for p in model.parameters()))
    handle = TransformersHandle(info, *handle_args, batch_tokens=batch_tokens)
    handle.use(*_ready(model, tokenizer, info, settings))
    return handle


def _max_length(info: ModelInfo, config: Config, model_config: dict[str, Any]) -> int:
    """[model] max_length held to the model's position table (a longer text would index
    past it and fail the forward pass); a cap of a value someone set goes into audit.json,
    and the plugin's policy hook turns it into a warning."""
    asked = int(config.section("model")["max_length"])
    limit = lengths.position_limit(model_config)
    source = config.source("model.max_length") if hasattr(config, "source") else "default"
    note = lengths.capped_note(asked, limit, source)
    if note is not None:
        info.extra["max_length"] = note
    return lengths.cap(asked, limit)


def _load_lazily(
    model_dir: Path,
    info: ModelInfo,
    weights: checks.WeightFiles,
    settings: dict[str, Any],
    plan: direct.DirectPlan | None,
    why_not: str,
) -> tuple[Any, Any, Any, str]:
    """The handle's loader for checked safetensors dirs: straight from the files when
    :mod:`~auditkit.plugins.loaders.hf.direct` accepted the dir (transformers is then only imported
    if something asks for ``handle.model``), else through transformers as always."""
    if plan is not None:
        _set_threads(int(settings.get("threads", 0)))
        packed, tokenizer = direct.load(plan)
        model = Deferred(lambda: _build_model(model_dir, info.task, weights).eval())
        return model, tokenizer, packed, direct.PATH
    model, tokenizer, packed, path = _ready(
        _build_model(model_dir, info.task, weights), _open_tokenizer(model_dir), info, settings
    )
    if why_not:
        note = f"not loaded directly: {why_not}"
        path = f"{path[:-1]}; {note})" if path.endswith(")") else f"{path} ({note})"
    return model, tokenizer, packed, path


def _ready(model: Any, tokenizer: Any, info: ModelInfo, settings: dict[str, Any]) -> tuple[Any, Any, Any, str]:
    """Eval mode, threads, and the packed runner when it fits: (model, tokenizer, packed
    runner or None, which path predicts)."""
    _set_threads(int(settings.get("threads", 0)))
    model.eval()
    if info.task != "sequence-classification":
        return model, tokenizer, None, "transformers forward"
    return model, tokenizer, *_fast_path(model, settings)


def _fast_path(model: Any, settings: dict[str, Any]) -> tuple[Any, str]:
    """The packed runner when [model] packed is on and it reproduces this model's forward."""
    if not settings.get("packed", True):
        return None, "transformers forward ([model] packed = false)"
    from auditkit.plugins.loaders.hf.packed import packed_or_none

    packed, why = packed_or_none(model)
    return packed, "packed" if packed is not None else f"transformers forward ({why})"


def _load_full(model_dir: Path, task_hint: tuple[str, list[str]] | None = None) -> tuple[Any, Any, ModelInfo]:
    """A full model dir. ``task_hint`` (task, labels) builds a classifier on a plain encoder
    base (a LoRA adapter that carries its own head)."""
    info, weights, labels, _ = _describe_full(model_dir, task_hint)
    if weights.kind == "safetensors":
        _check_safetensors(info, weights)
    model = _build_model(model_dir, info.task, weights, labels if task_hint else None)
    return model, load_tokenizer(model_dir), info


def _check_safetensors(info: ModelInfo, weights: checks.WeightFiles) -> list[dict[str, Any]]:
    """Validate the weight files' headers without reading a tensor; count the parameters
    from their shapes. The validated headers, one per file."""
    headers = [checks.check_safetensors(path) for path in weights.files]
    info.num_parameters = sum(
        math.prod(entry["shape"])
        for header in headers
        for name, entry in header.items()
        if isinstance(entry, dict) and "shape" in entry and not name.endswith("position_ids")
    )
    return headers


def _describe_full(
    model_dir: Path, task_hint: tuple[str, list[str]] | None = None
) -> tuple[ModelInfo, checks.WeightFiles, list[str], dict[str, Any]]:
    refuse_escaping_symlinks(model_dir)  # before transformers opens files auditkit does not name
    raw = checks.check_config(model_dir)
    if task_hint is None:
        arch, task = checks.task_of(raw, model_dir / "config.json")
        labels = checks.labels_of(raw, model_dir / "config.json")
    else:
        task, labels = task_hint
        arch = str((raw.get("architectures") or ["?"])[0])
    weights = checks.weight_files(model_dir)
    card = read_model_card(model_dir)
    info = ModelInfo(
        name=model_dir.name,
        path=str(model_dir),
        task=task,
        labels=labels,
        loader=LOADER,
        sha256=files_sha256(weights.files),
        base_model=_base_model_name(raw, card),
        files=list_files(model_dir),
        card=card,
        extra={"architecture": arch, "weights_format": weights.kind, "ignored_pickle_files": weights.ignored_pickles},
    )
    return info, weights, labels, raw


def _build_model(model_dir: Path, task: str, weights: checks.WeightFiles, labels: list[str] | None = None) -> Any:
    _quiet_transformers()
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification

    cls = AutoModelForSequenceClassification if task == "sequence-classification" else AutoModelForTokenClassification
    try:
        hf_config = AutoConfig.from_pretrained(model_dir, local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        where = model_dir / "config.json"
        raise ModelDirError(f"{where}: transformers cannot read it: {checks.first_line(exc)}") from None
    if labels is not None:
        hf_config.id2label = dict(enumerate(labels))
        hf_config.label2id = {name: i for i, name in enumerate(labels)}
        hf_config.num_labels = len(labels)
    if weights.kind == "pickle":
        return _from_pickle(cls, hf_config, weights.files[0])
    try:  # the headers were checked (_check_safetensors) before any tensor is read
        return cls.from_pretrained(
            model_dir, config=hf_config, local_files_only=True, trust_remote_code=False, use_safetensors=True
        )
    except Exception as exc:
        raise ModelDirError(f"{weights.files[0]}: the weights cannot be loaded: {checks.first_line(exc)}") from None


def _from_pickle(cls: Any, hf_config: Any, path: Path) -> Any:
    """pytorch_model.bin through ``torch.load(weights_only=True)``: tensors only, no code."""
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise ModelDirError(
            f"{path}: holds more than plain tensors, so auditkit will not unpickle it "
            f"(torch.load weights_only=True refused: {checks.first_line(exc)}); convert it to model.safetensors"
        ) from None
    if not isinstance(state, dict):
        raise ModelDirError(f"{path}: expected a state dict of tensors")
    model = cls.from_config(hf_config)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if "position_ids" not in k]
    if missing:
        raise ModelDirError(
            f"{path}: {len(missing)} weights are missing (e.g. {missing[0]!r}); the file does not fit config.json"
        )
    return model


def _check_tokenizer_files(model_dir: Path) -> dict[str, Any]:
    """The tokenizer's JSON files parse within the size cap and name no custom code:
    name → parsed JSON of those present."""
    found = {}
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (model_dir / name).exists():
            data = read_json(model_dir, name, limit=100_000_000)
            if isinstance(data, dict):
                checks.refuse_custom_code(data, model_dir / name)
            found[name] = data
    return found


def load_tokenizer(model_dir: Path) -> Any:
    _check_tokenizer_files(model_dir)
    return _open_tokenizer(model_dir)


def _open_tokenizer(model_dir: Path) -> Any:
    """The fast tokenizer of a dir whose tokenizer files were checked."""
    _quiet_transformers()
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True, trust_remote_code=False)
    except Exception as exc:
        raise ModelDirError(f"{model_dir}: the tokenizer cannot be loaded: {checks.first_line(exc)}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelDirError(f"{model_dir}: needs a fast tokenizer (tokenizer.json); save it with a fast tokenizer")
    return tokenizer


def _load_adapter(model_dir: Path, settings: dict[str, Any]) -> tuple[Any, Any, ModelInfo]:
    """A PEFT/LoRA adapter dir, loaded onto its local base model and merged."""
    refuse_escaping_symlinks(model_dir)
    adapter_cfg = read_json(model_dir, "adapter_config.json")
    if not isinstance(adapter_cfg, dict):
        raise ModelDirError(f"{model_dir / 'adapter_config.json'}: expected a JSON object")
    checks.refuse_custom_code(adapter_cfg, model_dir / "adapter_config.json")
    patterns.check_adapter_patterns(adapter_cfg, model_dir / "adapter_config.json")  # peft runs them as regexes
    base_name = settings.get("base_model") or adapter_cfg.get("base_model_name_or_path") or ""
    base_dir = Path(base_name)
    if base_name and not base_dir.is_absolute():
        base_dir = (model_dir / base_dir) if (model_dir / base_dir).is_dir() else base_dir
    if not base_name or not (base_dir / "config.json").is_file():
        raise ModelDirError(
            f"{model_dir / 'adapter_config.json'}: base model {base_name!r} is not a local model folder; "
            "set [model] base_model to the path of the base model's directory"
        )
    adapter_weights = inside(model_dir, "adapter_model.safetensors")
    if not adapter_weights.is_file():
        raise ModelDirError(
            f"{model_dir}: adapter_model.safetensors is missing; auditkit loads adapters from safetensors only"
        )
    header = checks.check_safetensors(adapter_weights)
    hint = _adapter_task(model_dir, adapter_cfg, base_dir, header)
    base_model, tokenizer, base_info = _load_full(base_dir, hint)
    if any(p.name in ("tokenizer.json", "tokenizer_config.json") for p in model_dir.iterdir()):
        tokenizer = load_tokenizer(model_dir)
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelDirError(f"{model_dir}: a PEFT adapter needs the peft package: pip install peft") from None
    try:
        model = PeftModel.from_pretrained(base_model, str(model_dir), is_trainable=False).merge_and_unload()
    except Exception as exc:
        raise ModelDirError(
            f"{adapter_weights}: the adapter cannot be applied to {base_dir}: {checks.first_line(exc)}"
        ) from None
    labels = base_info.labels
    info = ModelInfo(
        name=model_dir.name,
        path=str(model_dir),
        task=base_info.task,
        labels=labels,
        loader=LOADER,
        sha256=files_sha256([adapter_weights]),
        base_model=str(base_dir),
        files=list_files(model_dir),
        card=read_model_card(model_dir),
        extra={
            "architecture": base_info.extra.get("architecture"),
            "weights_format": "peft-adapter",
            "base_sha256": base_info.sha256,
            "adapter": {k: adapter_cfg.get(k) for k in ("peft_type", "r", "lora_alpha", "target_modules", "task_type")},
        },
    )
    return model, tokenizer, info


def _adapter_task(
    model_dir: Path, adapter_cfg: dict[str, Any], base_dir: Path, header: dict[str, Any]
) -> tuple[str, list[str]] | None:
    """Task and labels for the base, when the adapter (not the base) carries the head."""
    own = model_dir / "config.json"
    if own.is_file():
        raw = checks.check_config(model_dir)
        return checks.task_of(raw, own)[1], checks.labels_of(raw, own)
    base_raw = checks.check_config(base_dir)
    if any(str(a).endswith(tuple(checks.TASK_SUFFIXES)) for a in base_raw.get("architectures") or []):
        return None  # the base is already a classifier
    task = {"SEQ_CLS": "sequence-classification", "TOKEN_CLS": "token-classification"}.get(
        str(adapter_cfg.get("task_type"))
    )
    heads = [v["shape"][0] for k, v in header.items() if k.endswith("classifier.weight") and isinstance(v, dict)]
    if task is None or not heads:
        raise ModelDirError(
            f"{model_dir / 'adapter_config.json'}: the base {base_dir} is not a classifier and the adapter "
            "carries no classifier head (task_type SEQ_CLS or TOKEN_CLS with modules_to_save); "
            "save the adapter's config.json with id2label next to it"
        )
    return task, [f"LABEL_{i}" for i in range(int(heads[0]))]


def _base_model_name(config: dict[str, Any], card: dict[str, Any]) -> str | None:
    base = card.get("base_model") or config.get("_name_or_path")
    if isinstance(base, list):
        base = base[0] if base else None
    return str(base) if base else None


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads if threads > 0 else max(1, os.cpu_count() or 1))


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
