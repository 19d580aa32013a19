"""The fine-tuning loop: plain PyTorch, so determinism, DP-SGD and progress stay in our hands.

AdamW with a linear schedule and warm-up, gradient clipping (per sample under DP), one dev
evaluation per epoch, early stopping on the dev metric and the best epoch's weights kept.
"""

from __future__ import annotations

import math
import random
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any

from auditkit.plugins.assess.training.metrics import classification_report, entity_report
from auditkit.plugins.assess.training.modeling import Collate, Encoded, per_sample_loss
from auditkit.plugins.assess.training.options import TrainOptions, metric_for_best


@dataclass
class LoopResult:
    """What happened during training, in the shape trainer_state.json wants."""

    log_history: list[dict[str, Any]]
    global_step: int
    epoch: float
    steps_per_epoch: int
    max_steps: int
    best_metric: float | None
    best_step: int | None
    best_epoch: int | None
    best_eval: dict[str, float]
    stopped_early: bool
    train_runtime: float
    tokens_seen: int
    total_flos: float
    dp: dict[str, Any] | None = None


class LengthGroupedBatches:
    """Shuffled batches of rows of similar length, so short rows are not padded to long ones.

    As the transformers `group_by_length` option: shuffle, cut into mega-batches of 50
    batches, sort each by length, split into batches, shuffle the batches. Seeded.
    """

    MEGA = 50

    def __init__(self, lengths: list[int], batch_size: int, generator: Any) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Any:
        import torch

        order = torch.randperm(len(self.lengths), generator=self.generator).tolist()
        size = self.batch_size * self.MEGA
        batches = []
        for start in range(0, len(order), size):
            mega = sorted(order[start : start + size], key=lambda i: -self.lengths[i])
            batches += [mega[i : i + self.batch_size] for i in range(0, len(mega), self.batch_size)]
        for index in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[index]


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate(
    model: Any,
    encoded: Encoded,
    collate: Collate,
    task: str,
    labels: list[str],
    targets: list[Any],
    batch_size: int,
) -> tuple[dict[str, float], list[Any]]:
    """Dev metrics with the `eval_` prefix the transformers Trainer uses, and the predictions."""
    import torch
    from auditkit.plugins.assess.training.dataprep import parse_sequence

    model.eval()
    started = time.perf_counter()
    loss_sum, predictions = 0.0, []
    with torch.no_grad():
        for start in range(0, len(encoded.items), batch_size):
            batch = collate(encoded.items[start : start + batch_size])
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            loss_sum += float(per_sample_loss(logits, batch["labels"]).sum())
            predictions.extend(logits.argmax(dim=-1).tolist())
    n = max(len(encoded.items), 1)
    metrics: dict[str, float] = {"eval_loss": loss_sum / n}
    if task == "sequence-classification":
        predicted = [labels[i] for i in predictions]
        report = classification_report([str(t) for t in targets], predicted, labels)
        metrics |= {"eval_accuracy": report.accuracy, "eval_macro_f1": report.macro_f1}
    else:
        predicted = []
        for row, ids, tags in zip(predictions, encoded.word_ids, targets, strict=True):
            words = ["O"] * len(parse_sequence(tags))  # words cut by --max-length count as O
            previous = None
            for piece, word in enumerate(ids):
                if word is not None and word != previous:
                    words[word] = labels[row[piece]]
                previous = word
            predicted.append(words)
        report = entity_report([parse_sequence(t) for t in targets], predicted)
        assert report.micro is not None
        metrics |= {
            "eval_precision": report.micro["precision"],
            "eval_recall": report.micro["recall"],
            "eval_f1": report.micro["f1"],
            "eval_macro_f1": report.macro_f1,
            "eval_accuracy": report.accuracy,
        }
    seconds = time.perf_counter() - started
    metrics |= {
        "eval_runtime": round(seconds, 4),
        "eval_samples_per_second": round(n / max(seconds, 1e-9), 3),
        "eval_steps_per_second": round(math.ceil(n / batch_size) / max(seconds, 1e-9), 3),
    }
    return metrics, predicted


def _param_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    # the transformers convention: no decay on biases and LayerNorm weights
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def run_loop(
    model: Any,
    tokenizer: Any,
    train: Encoded,
    dev: Encoded,
    dev_targets: list[Any],
    labels: list[str],
    options: TrainOptions,
    frozen: list[str],
) -> LoopResult:
    """Train, evaluate each epoch, stop early, and leave the best epoch's weights in `model`."""
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    collate = Collate(tokenizer.pad_token_id or 0)
    generator = torch.Generator().manual_seed(options.seed)
    if options.group_by_length and not options.dp:  # DP needs Poisson sampling, not this
        lengths = [len(item["input_ids"]) for item in train.items]
        sampler = LengthGroupedBatches(lengths, options.batch_size, generator)
        loader: Any = DataLoader(train.items, batch_sampler=sampler, collate_fn=collate)
    else:
        loader = DataLoader(
            train.items,
            batch_size=options.batch_size,
            shuffle=True,
            generator=generator,
            collate_fn=collate,
        )
    steps_per_epoch = len(loader)
    max_steps = options.epochs * steps_per_epoch
    if options.max_steps:
        max_steps = min(max_steps, options.max_steps)
    optimizer: Any = torch.optim.AdamW(_param_groups(model, options.weight_decay), lr=options.lr)
    private = None
    if options.dp:
        from auditkit.plugins.assess.training.dp import make_private

        private = make_private(model, optimizer, loader, options, max_steps)
        optimizer, loader = private.optimizer, private.loader
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(options.warmup_ratio * max_steps), max_steps)
    params = [p for p in model.parameters() if p.requires_grad]
    flops_per_token = 6 * model.num_parameters(exclude_embeddings=True)
    key = metric_for_best(options.task)
    say = (lambda text: None) if options.progress is False else (lambda text: print(text, file=sys.stderr))

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {
        "metric": None,
        "step": None,
        "epoch": None,
        "eval": {},
        "state": None,
    }
    step = tokens = 0
    all_losses: list[float] = []
    window: list[float] = []
    stale, stopped_early = 0, False
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Opacus hooks start above the frozen embeddings, whose outputs need no gradient: harmless
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        for epoch in range(options.epochs):
            model.train()
            bar = tqdm(
                loader,
                desc=f"epoch {epoch + 1}/{options.epochs}",
                unit="batch",
                file=sys.stderr,
                disable=None if options.progress is None else not options.progress,
                leave=False,
            )
            for batch in bar:
                if batch["input_ids"].shape[0] == 0:  # Poisson sampling drew nobody
                    continue
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                loss = (per_sample_loss(logits, batch["labels"]) * batch["weight"]).mean()
                loss.backward()
                grad_norm = None
                if private is None:
                    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, options.max_grad_norm))
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                tokens += int(batch["attention_mask"].sum())
                value = loss.detach().item()
                window.append(value)
                all_losses.append(value)
                bar.set_postfix(loss=f"{value:.4f}")
                if step % options.logging_steps == 0:
                    entry = {"loss": round(sum(window) / len(window), 6)}
                    if grad_norm is not None:
                        entry["grad_norm"] = grad_norm
                    entry |= {
                        "learning_rate": scheduler.get_last_lr()[0],
                        "epoch": round(step / steps_per_epoch, 4),
                        "step": step,
                    }
                    history.append(entry)
                    window = []
                if step >= max_steps:
                    break
            bar.close()
            metrics, _ = evaluate(model, dev, collate, options.task, labels, dev_targets, options.batch_size * 2)
            history.append({**metrics, "epoch": round(step / steps_per_epoch, 4), "step": step})
            improved = best["metric"] is None or metrics[key] > best["metric"]
            say(
                f"epoch {epoch + 1}/{options.epochs}: step {step}, dev {key[5:]} {metrics[key]:.4f}"
                + (" (best)" if improved else "")
            )
            if improved:
                best |= {
                    "metric": metrics[key],
                    "step": step,
                    "epoch": epoch + 1,
                    "eval": metrics,
                    "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
                }
                stale = 0
            else:
                stale += 1
            if step >= max_steps:
                break
            if options.patience and stale >= options.patience:
                stopped_early = True
                break
    runtime = time.perf_counter() - started
    model.load_state_dict(best["state"])
    dp_record = private.record(step, options, frozen) if private is not None else None
    if private is not None:
        private.close()
    train_loss = sum(all_losses) / len(all_losses) if all_losses else float("nan")
    epoch_done = round(step / steps_per_epoch, 4)
    history.append(
        {
            "train_runtime": round(runtime, 4),
            "train_samples_per_second": round(len(all_losses) * options.batch_size / max(runtime, 1e-9), 3),
            "train_steps_per_second": round(step / max(runtime, 1e-9), 3),
            "total_flos": float(flops_per_token * tokens),
            "train_loss": train_loss,
            "epoch": epoch_done,
            "step": step,
        }
    )
    model.eval()
    return LoopResult(
        history,
        step,
        epoch_done,
        steps_per_epoch,
        max_steps,
        best["metric"],
        best["step"],
        best["epoch"],
        best["eval"],
        stopped_early,
        runtime,
        tokens,
        float(flops_per_token * tokens),
        dp_record,
    )
