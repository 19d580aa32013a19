"""The training section of every audit: how the model was made, what it cost, how it scores.

Reads whatever training files the model dir holds (ours or a transformers `Trainer`'s):
`training.json`, `trainer_state.json`, `all_results.json` / `eval_results.json` /
`train_results.json` and the model card's front matter (through the host's guarded
reader only). Pickles (`training_args.bin`) are never loaded. Then evaluates the model on
the audit's data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditkit.plugins.assess.training.record_fields import read_record

from auditkit.audit import Audit, Calculation, IndexColumn, KeyNumber, Section, Table
from auditkit.errors import ModelDirError
from auditkit.model_dir import read_json, read_model_card

# accuracy is the primary metric until a value plugin (the valuation) fills the slot with its choice
PRIMARY_SLOT = "primary_metric"
HEADLINE = [
    KeyNumber("accuracy", "Primary metric (accuracy)", reports=("compliance", "business"), slot=PRIMARY_SLOT),
    KeyNumber("training_cost", "Training cost"),
]
INDEX_COLUMNS = [IndexColumn("accuracy", "Primary metric", detail="accuracy", slot=PRIMARY_SLOT)]
RESULT_FILES = ("all_results.json", "eval_results.json", "train_results.json")


@dataclass
class Files:
    """The training evidence found in a model dir."""

    record: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _read_json(path: Path, files: Files) -> dict[str, Any] | None:
    try:  # size-capped: a model dir is untrusted input
        value = read_json(path.parent, path.name)
    except (ModelDirError, OSError) as exc:
        files.problems.append(f"{path.name}: unreadable ({str(exc).removeprefix(f'{path}: ')})")
        return None
    if not isinstance(value, dict):
        files.problems.append(f"{path.name}: expected a JSON object")
        return None
    files.found.append(path.name)
    return value


def _model_card(model_dir: Path, files: Files) -> dict[str, Any]:
    """README.md front matter through the host's guarded reader only.

    The card is untrusted: a 1 GB README or a YAML alias bomb must meet the same 1 MB cap,
    alias refusal and depth cap as everywhere else (docs/security.md), so it is never
    parsed here a second way.
    """
    try:
        return read_model_card(model_dir)
    except (ModelDirError, OSError) as exc:
        files.problems.append(f"README.md: unreadable ({str(exc).removeprefix(f'{model_dir}: ')})")
        return {}


def read_files(model_dir: Path, record_name: str, card: dict[str, Any]) -> Files:
    files = Files()
    if (model_dir / record_name).is_file():
        files.record = read_record(model_dir, record_name, files.problems, files.found)
    if (model_dir / "trainer_state.json").is_file():
        files.state = _read_json(model_dir / "trainer_state.json", files)
    for name in RESULT_FILES:
        if (model_dir / name).is_file():
            value = _read_json(model_dir / name, files)
            if value is not None:
                files.results[name] = value
    if not card:  # no loader read the card (predictions mode): read it as the loader would
        card = _model_card(model_dir, files)
    # the host's card also carries the body as "text"; only the front matter is metadata
    files.card = {k: v for k, v in card.items() if k != "text"}
    if files.card:
        files.found.append("README.md (front matter)")
    if (model_dir / "training_args.bin").is_file():
        files.problems.append("training_args.bin is a pickle and was not read (auditkit never unpickles)")
    return files


def wall_seconds(files: Files, override: float) -> tuple[float | None, str]:
    """Training wall time and where it came from, most specific source first."""
    if override:
        return override, "[training] wall_seconds"
    if files.record and isinstance(files.record.get("wall_seconds"), (int, float)):
        return float(files.record["wall_seconds"]), "training.json wall_seconds"
    for name in RESULT_FILES:
        runtime = files.results.get(name, {}).get("train_runtime")
        if isinstance(runtime, (int, float)):
            return float(runtime), f"{name} train_runtime"
    for entry in reversed((files.state or {}).get("log_history") or []):
        if isinstance(entry, dict) and isinstance(entry.get("train_runtime"), (int, float)):
            return float(entry["train_runtime"]), "trainer_state.json train_runtime"
    return None, "not recorded"


def hyperparameters(files: Files) -> dict[str, Any]:
    if files.record and isinstance(files.record.get("hyperparameters"), dict):
        out = dict(files.record["hyperparameters"])
        out["seed"] = files.record.get("seed")
        return out
    state = files.state or {}
    out = {k: state[k] for k in ("num_train_epochs", "train_batch_size", "max_steps", "logging_steps") if k in state}
    rates = [e["learning_rate"] for e in state.get("log_history") or [] if isinstance(e, dict) and "learning_rate" in e]
    if rates:
        out["peak_learning_rate (logged)"] = max(rates)
    return out


def provenance(files: Files, model_dir: Path) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Provenance facts, and (severity, code, message) findings from checking the hashes."""
    from auditkit.hashing import file_sha256, files_sha256

    facts: dict[str, Any] = {}
    issues: list[tuple[str, str, str]] = []
    record = files.record or {}
    base = record.get("base_model") or {}
    if base:
        facts["base model"] = base.get("id") or base.get("name")
        facts["base model sha256"] = base.get("sha256")
    elif files.card.get("base_model"):
        facts["base model (model card)"] = files.card["base_model"]
    data = record.get("data") or {}
    for key in ("path", "sha256", "rows", "train_rows", "dev_rows", "split"):
        if key in data:
            facts[f"data {key}"] = data[key]
    for key in ("seed", "device", "threads", "platform", "created"):
        if key in record:
            facts[key] = record[key]
    for name, version in (record.get("libraries") or {}).items():
        facts[f"library {name}"] = version
    for key, file_key in (("train_sha256", "train_file"), ("eval_sha256", "eval_file")):
        name = data.get(file_key)
        if name and data.get(key) and (model_dir / name).is_file():
            if file_sha256(model_dir / name) != data[key]:
                issues.append(
                    (
                        "warn",
                        "training-data-changed",
                        f"{name} differs from the file recorded at training time (sha256 mismatch)",
                    )
                )
    weights = record.get("weights") or {}
    present = sorted(model_dir.glob("*.safetensors"))
    if weights.get("sha256") and present:
        now = files_sha256(present)
        facts["weights sha256"] = now
        if now != weights["sha256"]:
            issues.append(
                (
                    "warn",
                    "training-weights-changed",
                    "the weights differ from those training.json recorded: the record may describe another model",
                )
            )
    return facts, issues


def _table(caption: str, mapping: dict[str, Any], name: str, key: str = "item") -> Table:
    import pandas as pd

    rows = [(k, json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in mapping.items()]
    return Table(caption, pd.DataFrame(rows, columns=[key, "value"]).astype({"value": str}), name=name)


def _cost_sources(audit: Audit, wall_source: str) -> dict[str, str]:
    """Who set the training cost's inputs: the time from [training] or the model dir's files
    (the vendor's record), the rate from [training] (its default 0 prices nothing)."""
    from auditkit.config import DEFAULT, MODEL_DIR

    config = audit.config
    if wall_source.startswith("[training]"):
        wall = config.source("training.wall_seconds")
    else:
        wall = DEFAULT if wall_source == "not recorded" else MODEL_DIR
    return {"wall_seconds": wall, "wall_seconds_source": wall, "hourly_rate": config.source("training.hourly_rate")}


def assess(audit: Audit, order: int = 100) -> Section:
    """Build the training section; runs for every model, with or without training files."""
    from auditkit.plugins.assess.training.evaluation import evaluate_audit

    config = audit.config.section("training")
    model_dir = Path(audit.model_dir)
    files = read_files(model_dir, config.get("record", "training.json"), dict(audit.model.card or {}))
    section = Section(
        name="training",
        title="Training and evaluation",
        report="compliance",
        order=order,
        plugin="training",
        headline=HEADLINE,
        index_columns=INDEX_COLUMNS,
    )
    record = files.record or {}
    for problem in files.problems:
        section.add_finding("info", "training-file-skipped", problem)
    if not (files.record or files.state or files.results):
        section.add_finding(
            "info",
            "training-no-record",
            "no training files (training.json, trainer_state.json, all_results.json) in the model "
            "dir: how the model was trained is unknown; it is evaluated on the audit data only",
        )

    seconds, source = wall_seconds(files, float(config.get("wall_seconds") or 0.0))
    rate = float(config.get("hourly_rate") or 0.0)
    cost = None if seconds is None else seconds / 3600.0 * rate
    section.metrics["wall_seconds"] = seconds
    section.metrics["training_cost"] = cost
    section.calculations.append(
        Calculation(
            "training_cost",
            "wall_seconds / 3600 × hourly_rate",
            {"wall_seconds": seconds, "wall_seconds_source": source, "hourly_rate": rate},
            cost,
            _cost_sources(audit, source),
        )
    )
    if seconds is not None and rate == 0:
        section.add_finding(
            "info",
            "training-cost-unpriced",
            f"training took {seconds:.0f} s; set [training] hourly_rate to price it (cost shown as 0)",
        )

    hp = hyperparameters(files)
    facts, issues = provenance(files, model_dir)
    for severity, code, message in issues:
        section.add_finding(severity, code, message)  # type: ignore[arg-type]
    # what was trained on first: the question a reviewer asks before any number
    sources = record.get("sources") or []
    if sources:
        import pandas as pd

        section.tables.append(
            Table(
                "What the model was trained on (and audited on)",
                pd.DataFrame(sources),
                name="sources",
                note=str(record.get("description") or ""),
            )
        )
    dev = (record.get("result") or {}).get("dev_metrics") or files.results.get("eval_results.json") or {}
    dev = {k: v for k, v in dev.items() if isinstance(v, (int, float)) and not k.endswith(("_runtime", "_per_second"))}
    if dev:
        import pandas as pd

        frame = pd.DataFrame({"metric": list(dev), "value": [float(v) for v in dev.values()]})
        section.tables.append(Table("Dev-split metrics at the best epoch (from training)", frame, name="dev_metrics"))
    if hp:
        section.tables.append(_table("Hyper-parameters", hp, "hyperparameters", key="hyper-parameter"))
    if facts:
        section.tables.append(_table("Provenance: base model, data and software", facts, "provenance"))
    if record.get("reweighing"):
        import pandas as pd

        cells = record["reweighing"].get("cells") or []
        section.tables.append(
            Table(
                f"Reweighing by {record['reweighing'].get('column')}: {record['reweighing'].get('formula')}",
                pd.DataFrame(cells),
                name="reweighing",
            )
        )
    for key in ("train_rows", "dev_rows"):
        if isinstance((record.get("data") or {}).get(key), int):
            section.metrics[key] = record["data"][key]
    state = files.state or {}
    for key, metric in (
        ("global_step", "global_step"),
        ("epoch", "epochs"),
        ("best_metric", "best_dev_metric"),
    ):
        if isinstance(state.get(key), (int, float)):
            section.metrics[metric] = state[key]
    losses = [e["loss"] for e in state.get("log_history") or [] if isinstance(e, dict) and "loss" in e]
    if losses:
        section.metrics["final_train_loss"] = losses[-1]
    if state.get("log_history"):
        from auditkit.plugins.assess.training.figures import curves_chart

        chart = curves_chart([e for e in state["log_history"] if isinstance(e, dict)])
        if chart is not None:
            section.charts.append(chart)
    if record.get("result", {}).get("stopped_early"):
        section.add_finding(
            "info",
            "training-stopped-early",
            f"training stopped early at epoch {record['result'].get('epochs_completed')}: "
            f"the dev metric stopped improving",
        )
    for note in record.get("notes") or []:
        section.add_finding("info", "training-note", note)

    evaluation = evaluate_audit(audit, section, dev, files) if config.get("evaluate", True) else None
    section.data = {
        "files": files.found,
        "hyperparameters": hp,
        "provenance": facts,
        "sources": sources,
        "description": record.get("description") or "",
        "model_card": files.card,
        "evaluation": evaluation,
    }
    if record.get("dp"):
        section.data["dp"] = record["dp"]
    section.summary = _summary(record, files, seconds, cost, rate, section)
    return section


def _trained_on(record: dict[str, Any]) -> str:
    names = [s.get("name") for s in record.get("sources") or [] if s.get("use", "training") == "training"]
    return f": {', '.join(str(n) for n in names)}" if names else ""


def _summary(
    record: dict[str, Any],
    files: Files,
    seconds: float | None,
    cost: float | None,
    rate: float,
    section: Section,
) -> str:
    parts = []
    data = record.get("data") or {}
    base = (record.get("base_model") or {}).get("name") or files.card.get("base_model")
    if record:
        parts.append(
            f"Fine-tuned from {base} on {data.get('train_rows', '?')} rows "
            f"({Path(str(data.get('path', '?'))).name}{_trained_on(record)}), "
            f"dev split {data.get('dev_rows', '?')} rows"
        )
    elif files.state:
        parts.append(
            f"Trained {files.state.get('global_step', '?')} steps "
            f"({files.state.get('epoch', '?')} epochs) per trainer_state.json"
        )
    else:
        parts.append("No training record")
    if seconds is not None:
        text = f"{seconds:.0f} s of compute"
        if rate and cost is not None:  # small costs keep two significant digits, not 0.00
            text += f", cost {cost:,.2f}" if cost >= 1 else f", cost {cost:.2g}"
        parts.append(text)
    m = section.metrics
    if m.get("entity_f1") is not None:
        parts.append(f"entity F1 {m['entity_f1']:.3f} on the audit data")
    elif m.get("accuracy") is not None:
        parts.append(
            f"accuracy {m['accuracy']:.3f}, macro F1 {m['macro_f1']:.3f} on the audit data "
            f"({m.get('eval_rows', '?')} rows)"
        )
    return "; ".join(parts) + "."
