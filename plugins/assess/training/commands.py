"""Argument parsers for `auditkit train` and `auditkit demo` (argparse only: fast to import)."""

from __future__ import annotations

import argparse
from pathlib import Path

from auditkit.plugins.assess.training.options import KNOWN_BASES, TASKS, TrainOptions

DEMO_MODEL_DIR = "auditkit-demo"
DEMO_REPORTS_DIR = "auditkit-reports"


def _columns(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune an encoder and write an audit-ready model dir",
        description="Fine-tune a local pretrained encoder (sequence or token classification) "
        "and write a model "
        "dir with trainer_state.json, training.json, the train/eval splits and an "
        "auditkit.toml, so that "
        "`auditkit run OUT` audits it at once.",
    )
    p.add_argument(
        "--base",
        default="minilm",
        help=f"base encoder: a known name ({', '.join(KNOWN_BASES)}) or a local model dir (default minilm)",
    )
    p.add_argument("--data", required=True, type=Path, help="training data (CSV, TSV, Parquet or JSONL)")
    p.add_argument(
        "--text",
        default="text",
        help="text column (token tasks: words, JSON list or space-separated)",
    )
    p.add_argument("--label", default="label", help="label column (token tasks: one BIO tag per word)")
    p.add_argument(
        "--sensitive",
        type=_columns,
        default=[],
        help="comma-separated sensitive columns kept for the audit",
    )
    p.add_argument("--task", choices=TASKS, default="sequence-classification")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-5, help="peak learning rate of AdamW (default 2e-5)")
    p.add_argument("--max-length", type=int, default=128, help="tokens per row; longer rows are cut")
    p.add_argument("--seed", type=int, default=42, help="seed of the head, shuffling, dropout and split")
    p.add_argument("--out", required=True, type=Path, help="output model dir (must be new or empty)")
    g = p.add_argument_group("split and schedule")
    g.add_argument("--dev", type=Path, help="dev file (default: a held-out split of --data)")
    g.add_argument(
        "--dev-fraction",
        type=float,
        default=0.2,
        help="share of --data held out for dev (default 0.2)",
    )
    g.add_argument(
        "--max-rows",
        type=int,
        default=0,
        help="train on a seeded sample of this many rows (0: all)",
    )
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument("--warmup-ratio", type=float, default=0.1)
    g.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping norm (without DP)")
    g.add_argument(
        "--patience",
        type=int,
        default=2,
        help="epochs without dev improvement before stopping (0: never)",
    )
    g.add_argument("--freeze-layers", type=int, default=0, help="freeze embeddings and this many lower layers")
    g.add_argument(
        "--max-steps",
        type=int,
        default=0,
        help="stop after this many optimizer steps (0: all epochs)",
    )
    g.add_argument("--logging-steps", type=int, default=10)
    g.add_argument(
        "--group-by-length",
        action="store_true",
        help="batch rows of similar length together (faster on mixed lengths; not with DP)",
    )
    g.add_argument("--device", default="cpu", help="torch device (default cpu)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    g.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    f = p.add_argument_group("fairness and privacy")
    f.add_argument("--reweigh", metavar="COLUMN", help="Kamiran & Calders reweighing by this sensitive column")
    f.add_argument(
        "--positive",
        help="positive label of a binary task for the audit (default: the second label)",
    )
    f.add_argument("--dp-epsilon", type=float, help="train with DP-SGD (Opacus) to this target ε")
    f.add_argument("--dp-delta", type=float, default=1e-5, help="δ of the DP guarantee (default 1e-5)")
    f.add_argument("--dp-max-grad-norm", type=float, default=1.0, help="per-sample clipping norm (default 1.0)")
    f.add_argument(
        "--dp-accountant",
        choices=("prv", "rdp", "gdp"),
        default="prv",
        help="Opacus accountant that calibrates the noise (default prv)",
    )
    f.add_argument(
        "--hourly-rate",
        type=float,
        default=0.0,
        help="cost of one hour of this machine, written to [training] hourly_rate",
    )
    p.set_defaults(func=run_train)


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    return TrainOptions(
        data=args.data,
        out=args.out,
        base=args.base,
        text=args.text,
        label=args.label,
        sensitive=list(args.sensitive),
        task=args.task,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        max_length=args.max_length,
        seed=args.seed,
        dev=args.dev,
        dev_fraction=args.dev_fraction,
        max_rows=args.max_rows,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        max_grad_norm=args.max_grad_norm,
        patience=args.patience,
        freeze_layers=args.freeze_layers,
        max_steps=args.max_steps,
        group_by_length=args.group_by_length,
        logging_steps=args.logging_steps,
        reweigh=args.reweigh,
        positive=args.positive,
        dp_epsilon=args.dp_epsilon,
        dp_delta=args.dp_delta,
        dp_max_grad_norm=args.dp_max_grad_norm,
        dp_accountant=args.dp_accountant,
        device=args.device,
        overwrite=args.overwrite,
        progress=False if args.quiet else None,
        hourly_rate=args.hourly_rate,
    )


def run_train(args: argparse.Namespace) -> int:
    from auditkit.plugins.assess.training.pipeline import train

    result = train(options_from_args(args))
    rec = result.record
    dev = rec["result"]["dev_metrics"]
    line = f"trained {rec['base_model']['name']} on {rec['data']['train_rows']} rows in {rec['wall_seconds']:.0f} s"
    line += f"; dev macro F1 {dev.get('eval_macro_f1', 0.0):.3f}"
    if "dp" in rec:
        line += f"; DP ε = {rec['dp']['epsilon_opacus']:.2f} (δ = {rec['dp']['delta']:g})"
    print(line)
    print(f"model: {result.out}\naudit it: auditkit run {result.out}")
    return 0


def add_demo_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="train a small toxicity classifier and audit it (offline, about two minutes)",
        description="Fine-tune the bundled MiniLM into a toxicity classifier on shipped HateCheck and "
        "Wikipedia comments, then audit it on the bias madlibs (identity as the sensitive feature) and "
        "on the fuzzed/non-fuzzed Wikipedia pairs, with every built-in plugin. "
        f"The model goes to ./{DEMO_MODEL_DIR} and the reports to ./{DEMO_REPORTS_DIR} unless "
        "--out/--reports say otherwise. Exits 0 once the audit is written, also when a policy "
        "fails (that is a finding of the demo); 2 on a usage error, 3 on a plugin error.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path(DEMO_MODEL_DIR),
        help=f"where the trained demo model goes (default ./{DEMO_MODEL_DIR})",
    )
    p.add_argument(
        "--reports",
        type=Path,
        default=Path(DEMO_REPORTS_DIR),
        help=f"where the audit reports go (default ./{DEMO_REPORTS_DIR})",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="train a few steps only (for CI); the audit is the same",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from auditkit.plugins.assess.training.demo import demo

    return demo(
        out=args.out,
        reports=args.reports,
        quick=args.quick,
        seed=args.seed,
        progress=False if args.quiet else None,
    )
