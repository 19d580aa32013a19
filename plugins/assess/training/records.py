"""What a training run leaves behind besides the weights: the files an auditor reads.

`trainer_state.json` in the transformers format (so tools that read Trainer output read
ours), the `training.json` record (provenance: hashes, sizes, versions, DP), a model card
with YAML front matter, the `*_results.json` files and an `auditkit.toml`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit.plugins.assess.training.options import TrainOptions, metric_for_best
from auditkit.plugins.assess.training.trainer import LoopResult

if TYPE_CHECKING:
    from auditkit.plugins.assess.training.dataprep import Prepared
    from auditkit.plugins.assess.training.modeling import Base

from auditkit.config import toml_key, toml_value

RECORD_FILE = "training.json"
TRAIN_FILE = "train.csv"
EVAL_FILE = "eval.csv"
LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "numpy",
    "pandas",
    "scikit-learn",
    "opacus",
)


def library_versions(dp: bool) -> dict[str, str]:
    from auditkit import __version__

    out = {"python": platform.python_version(), "auditkit": __version__}
    for name in LIBRARIES:
        if name == "opacus" and not dp:
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def training_record(
    options: TrainOptions,
    prepared: Prepared,
    base: Base,
    model: Any,
    loop: LoopResult,
    frozen: list[str],
    stage: Path,
    notes: list[str],
) -> dict[str, Any]:
    """training.json: what an auditor needs to trace the weights back to data and code."""
    import torch

    from auditkit.hashing import file_sha256, files_sha256

    split = "stratified by label" if options.task == "sequence-classification" else "random, every entity type"
    weights = sorted(stage.glob("*.safetensors"))
    return {
        "schema_version": 1,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "tool": options.tool,
        "task": options.task,
        "labels": prepared.labels,
        "base_model": {**base.to_json(), "num_parameters": int(model.num_parameters())},
        "data": {
            "path": str(Path(options.data).resolve()),
            "sha256": prepared.data_sha256,
            "rows": prepared.data_rows,
            "train_rows": len(prepared.train),
            "dev_rows": len(prepared.dev),
            "train_file": TRAIN_FILE,
            "eval_file": EVAL_FILE,
            "train_sha256": file_sha256(stage / TRAIN_FILE),
            "eval_sha256": file_sha256(stage / EVAL_FILE),
            "dev_path": str(Path(options.dev).resolve()) if options.dev else None,
            "dev_sha256": prepared.dev_sha256,
            "split": "--dev file" if options.dev else split,
            "text": options.text,
            "label": options.label,
            "sensitive": list(options.sensitive),
        },
        "sources": options.sources,
        "description": options.description,
        "hyperparameters": options.hyperparameters(),
        "seed": options.seed,
        "frozen": frozen,
        "device": str(options.device),
        "threads": torch.get_num_threads(),
        "platform": f"{os.uname().sysname} {os.uname().machine}",
        "libraries": library_versions(options.dp),
        "reweighing": prepared.reweighing,
        "result": {
            "global_step": loop.global_step,
            "epochs_completed": loop.epoch,
            "best_epoch": loop.best_epoch,
            "best_global_step": loop.best_step,
            "metric_for_best_model": metric_for_best(options.task),
            "best_metric": loop.best_metric,
            "stopped_early": loop.stopped_early,
            "train_runtime": loop.train_runtime,
            "dev_metrics": loop.best_eval,
        },
        "weights": {"files": [w.name for w in weights], "sha256": files_sha256(weights)},
        "notes": notes,
        "options": options_json(options),
    }


def trainer_state(loop: LoopResult, options: TrainOptions, best_dir: str) -> dict[str, Any]:
    """The fields of transformers' TrainerState, so `TrainerState.load_from_json` reads it."""
    return {
        "epoch": loop.epoch,
        "global_step": loop.global_step,
        "max_steps": loop.max_steps,
        "logging_steps": options.logging_steps,
        "eval_steps": loop.steps_per_epoch,
        "save_steps": loop.steps_per_epoch,
        "train_batch_size": options.batch_size,
        "num_train_epochs": options.epochs,
        "num_input_tokens_seen": loop.tokens_seen,
        "total_flos": loop.total_flos,
        "log_history": loop.log_history,
        "best_metric": loop.best_metric,
        "best_global_step": loop.best_step,
        # the best epoch's weights are the ones saved at the top of the output dir
        "best_model_checkpoint": best_dir,
        "is_local_process_zero": True,
        "is_world_process_zero": True,
        "is_hyper_param_search": False,
        "trial_name": None,
        "trial_params": None,
        "stateful_callbacks": {},
    }


def results(loop: LoopResult, train_rows: int, dev_rows: int) -> dict[str, dict[str, Any]]:
    """train_results.json, eval_results.json and all_results.json, as HF example scripts write."""
    final = loop.log_history[-1]
    train = {
        k: final[k]
        for k in (
            "train_runtime",
            "train_samples_per_second",
            "train_steps_per_second",
            "total_flos",
            "train_loss",
            "epoch",
        )
    }
    train["train_samples"] = train_rows
    evaluation = {**loop.best_eval, "epoch": loop.best_epoch, "eval_samples": dev_rows}
    return {
        "train_results.json": train,
        "eval_results.json": evaluation,
        "all_results.json": {**train, **evaluation},
    }


def write_json(path: Path, value: Any) -> None:
    path.write_text(
        json.dumps(value, indent=2, sort_keys=False, allow_nan=False, default=str) + "\n",
        encoding="utf-8",
    )


def audit_toml(options: TrainOptions, labels: list[str], data_file: str = EVAL_FILE) -> str:
    """An auditkit.toml that audits the model on its held-out split at once."""
    if options.audit_config is not None:
        header = [
            f"# Written by `{options.tool}`: `auditkit run` on this folder audits the model.",
            "",
        ]
        return toml_document(options.audit_config, header)
    data: dict[str, Any] = {
        "path": data_file,
        "text": options.text,
        "label": options.label,
        "sensitive": list(options.sensitive),
    }
    if options.task == "sequence-classification" and len(labels) == 2:
        data["positive"] = options.positive or labels[1]
    sections = {
        "data": data,
        "training": {"record": RECORD_FILE, "hourly_rate": float(options.hourly_rate)},
    }
    header = [
        "# Written by `auditkit train`: `auditkit run` on this folder audits the model on its",
        "# held-out dev split (eval.csv). Point [data] path at other data to audit on that.",
        "",
    ]
    return toml_document(sections, header)


def toml_document(sections: dict[str, dict[str, Any]], header: list[str]) -> str:
    lines = list(header)
    for name, body in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in body.items()]
        lines.append("")
    return "\n".join(lines)


def model_card(record: dict[str, Any], name: str) -> str:
    """README.md with YAML front matter (the Hub model-card layout) and a plain summary."""
    import yaml

    task = record["task"]
    base = record["base_model"]
    data = record["data"]
    dev = record["result"]["dev_metrics"]
    metrics = [
        {"type": "accuracy", "value": round(dev.get("eval_accuracy", 0.0), 4)},
        {"type": "f1", "name": "macro F1", "value": round(dev.get("eval_macro_f1", 0.0), 4)},
    ]
    sources = record.get("sources") or []
    trained_on = [s for s in sources if s.get("use", "training") == "training"]
    elsewhere = [s for s in sources if s not in trained_on]
    pipeline = "text-classification" if task == "sequence-classification" else "token-classification"
    front = {
        "library_name": "transformers",
        "pipeline_tag": pipeline,
        "base_model": base.get("id") or base["name"],
        "tags": ["auditkit", pipeline] + (["differential-privacy"] if record.get("dp") else []),
        "datasets": [s["name"] for s in trained_on] or [Path(data["path"]).name],
        "metrics": ["accuracy", "f1"],
        "model-index": [
            {
                "name": name,
                "results": [
                    {
                        "task": {"type": pipeline},
                        "dataset": {
                            "name": f"{Path(data['path']).name} (dev split, {data['dev_rows']} rows)",
                            "type": "csv",
                        },
                        "metrics": metrics,
                    }
                ],
            }
        ],
    }
    hp = record["hyperparameters"]
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "", f"# {name}", ""]
    if record.get("description"):
        lines += [record["description"], ""]
    lines += [
        f"Fine-tuned from `{base.get('id') or base['name']}` (weights sha256 "
        f"`{base['sha256'][:16]}…`) "
        f"with `{record.get('tool', 'auditkit train')}` for {task}.",
        "",
        "## Training data",
        "",
        f"- file: `{data['path']}` (sha256 `{data['sha256'][:16]}…`, {data['rows']} rows)",
        f"- trained on {data['train_rows']} rows (`{data['train_file']}`), evaluated on a held-out "
        f"split of {data['dev_rows']} rows (`{data['eval_file']}`)",
        f"- labels: {', '.join(record['labels'])}",
    ]
    lines += [_source_line(source) for source in trained_on]
    if record.get("reweighing"):
        lines.append(f"- reweighed by `{record['reweighing']['column']}` (Kamiran & Calders)")
    if elsewhere:
        lines += ["", "## Audit data (not trained on)", ""]
        lines += [_source_line(source) for source in elsewhere]
    lines += ["", "## Training procedure", "", "| hyper-parameter | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in hp.items()]
    lines += [
        f"| seed | {record['seed']} |",
        "",
        f"Wall time {record['wall_seconds']:.1f} s on "
        f"{record['device']}; libraries: " + ", ".join(f"{k} {v}" for k, v in record["libraries"].items()),
        "",
    ]
    if record.get("dp"):
        dp = record["dp"]
        lines += [
            "## Differential privacy",
            "",
            f"DP-SGD (Opacus): noise multiplier {dp['noise_multiplier']:.4g}, sampling rate "
            f"{dp['sample_rate']:.4g}, {dp['steps']} steps, clipping norm {dp['max_grad_norm']}, "
            f"δ = {dp['delta']:g}; ε = {dp['epsilon_opacus']:.3g} ({dp['accountant']} accountant, "
            f"target {dp['target_epsilon']:g}).",
            "",
        ]
    result = record["result"]
    lines += [
        "## Evaluation (dev split)",
        "",
        f"Best epoch {result['best_epoch']} by {metric_for_best(task)[5:]}: "
        + ", ".join(
            f"{k[5:]} {v:.4f}"
            for k, v in dev.items()
            if k.startswith("eval_") and k not in ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")
        ),
        "",
    ]
    return "\n".join(lines)


def _source_line(source: dict[str, Any]) -> str:
    return (
        f"- {source['name']} ({source.get('use', 'training')}): {source.get('rows', '?')} rows, "
        f"{source.get('source', '')} (licence: {source.get('licence', 'unknown')})"
    )


def options_json(options: TrainOptions) -> dict[str, Any]:
    """The command's arguments as given (paths as strings), for reproduction."""
    out = asdict(options)
    for key in ("data", "out", "dev"):
        out[key] = None if out[key] is None else str(out[key])
    for key in ("sources", "description", "audit_config"):
        out.pop(key, None)
    out["extra_files"] = {k: str(v) for k, v in options.extra_files.items()}
    out["argv"] = sys.argv[1:]
    return out
