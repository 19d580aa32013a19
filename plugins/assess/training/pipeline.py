"""`auditkit train` end to end: check → load → encode → train → write, all or nothing.

Everything is written into a hidden staging folder next to `--out` and renamed into place
only when complete, so a failed or interrupted run never leaves half a model behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditkit.plugins.assess.training import records
from auditkit.plugins.assess.training.options import TASKS, TrainOptions

from auditkit.errors import UsageError


@dataclass
class TrainResult:
    out: Path
    record: dict[str, Any]


def check_options(options: TrainOptions) -> None:
    """Flag values that can be judged before reading any data."""
    if options.task not in TASKS:
        raise UsageError(f"--task {options.task}: use one of {', '.join(TASKS)}")
    positive = [
        ("--epochs", options.epochs),
        ("--batch-size", options.batch_size),
        ("--max-length", options.max_length),
        ("--logging-steps", options.logging_steps),
    ]
    for flag, value in positive:
        if value < 1:
            raise UsageError(f"{flag} {value}: must be at least 1")
    if options.max_length < 8:
        raise UsageError(f"--max-length {options.max_length}: too short to hold special tokens and text; use 8 or more")
    if not 0 < options.lr < 1:
        raise UsageError(f"--lr {options.lr:g}: use a learning rate between 0 and 1 (e.g. 2e-5)")
    if options.dev is None and not 0 < options.dev_fraction < 1:
        raise UsageError(f"--dev-fraction {options.dev_fraction:g}: use a fraction between 0 and 1 (e.g. 0.2)")
    if options.dp:
        assert options.dp_epsilon is not None
        if options.dp_epsilon <= 0 or not 0 < options.dp_delta < 1 or options.dp_max_grad_norm <= 0:
            raise UsageError(
                "--dp-epsilon/--dp-delta/--dp-max-grad-norm: need ε > 0, 0 < δ < 1 and a clipping norm > 0"
            )
    if min(options.patience, options.freeze_layers, options.max_steps, options.max_rows) < 0:
        raise UsageError("--patience/--freeze-layers/--max-steps/--max-rows: must not be negative")
    out = Path(options.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not options.overwrite:
        raise UsageError(f"--out {out}: already exists and is not empty; choose a new folder or pass --overwrite")


def train(options: TrainOptions) -> TrainResult:
    """Fine-tune `options.base` on `options.data`; write a complete model dir to `options.out`."""
    started = time.perf_counter()
    check_options(options)
    from auditkit.plugins.assess.training.dataprep import prepare
    from auditkit.plugins.assess.training.modeling import (
        encode,
        freeze,
        load_base,
        quiet_transformers,
        resolve_base,
    )

    prepared = prepare(options)  # data errors first: they cost a second, hashing weights more
    base = resolve_base(options.base)
    from auditkit.plugins.assess.training.trainer import run_loop, seed_everything

    seed_everything(options.seed)
    model, tokenizer = load_base(base, options.task, prepared.labels)
    model.to(options.device)
    frozen: list[str] = []
    if options.freeze_layers or options.dp:  # Opacus needs the embeddings frozen (buffers, tied sizes)
        frozen = freeze(model, options.freeze_layers, options.base)
    label2id = {label: i for i, label in enumerate(prepared.labels)}
    text, label = options.text, options.label
    train_enc = encode(
        list(prepared.train[text]),
        list(prepared.train[label]),
        tokenizer,
        options.task,
        label2id,
        options.max_length,
        None if prepared.weights is None else list(prepared.weights),
    )
    dev_enc = encode(
        list(prepared.dev[text]),
        list(prepared.dev[label]),
        tokenizer,
        options.task,
        label2id,
        options.max_length,
    )
    loop = run_loop(
        model,
        tokenizer,
        train_enc,
        dev_enc,
        list(prepared.dev[label]),
        prepared.labels,
        options,
        frozen,
    )

    out = Path(options.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        with quiet_transformers():
            model.save_pretrained(stage, safe_serialization=True)
            tokenizer.save_pretrained(stage)
        _write_frame(prepared.train, stage / records.TRAIN_FILE, options)
        _write_frame(prepared.dev, stage / records.EVAL_FILE, options)
        records.write_json(stage / "trainer_state.json", records.trainer_state(loop, options, str(out)))
        for name, body in records.results(loop, len(prepared.train), len(prepared.dev)).items():
            records.write_json(stage / name, body)
        notes = list(prepared.notes)
        if train_enc.truncated_rows or dev_enc.truncated_rows:
            notes.append(
                f"{train_enc.truncated_rows} training and {dev_enc.truncated_rows} dev rows "
                f"were cut at --max-length {options.max_length} tokens"
            )
        record = records.training_record(options, prepared, base, model, loop, frozen, stage, notes)
        if loop.dp is not None:
            record["dp"] = loop.dp
        record["wall_seconds"] = round(time.perf_counter() - started, 3)
        for name, source in options.extra_files.items():
            shutil.copyfile(source, stage / name)
        (stage / "README.md").write_text(records.model_card(record, out.name), encoding="utf-8")
        (stage / "auditkit.toml").write_text(records.audit_toml(options, prepared.labels), encoding="utf-8")
        records.write_json(stage / records.RECORD_FILE, record)
        _publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return TrainResult(out, record)


def _write_frame(frame: Any, path: Path, options: TrainOptions) -> None:
    """CSV with token/tag lists as JSON, so the audit's loader reads them back unchanged."""
    import json

    import numpy as np

    frame = frame.copy()
    for column in (options.text, options.label):
        if frame[column].map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            frame[column] = frame[column].map(lambda v: json.dumps([str(x) for x in v]))
    frame.to_csv(path, index=False)


def _publish(stage: Path, out: Path) -> None:
    """Swap the finished staging folder into place; the old one goes once the new is complete."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        stage.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        stage.rename(out)
