"""``auditkit epsilon``: the DP-SGD planning calculator, and its inverse.

    auditkit epsilon --noise-multiplier 1.1 --batch-size 256 --dataset-size 60000 \
                     --epochs 60 --delta 1e-5 [--accountant rdp|pld|all] \
                     [--conversion improved|classic] [--json]
    auditkit epsilon --target-epsilon 3 --sample-rate 0.004 --steps 14063 --delta 1e-5

``--json`` prints ``{accountant: epsilon}`` (with ``--target-epsilon``:
``{accountant: noise_multiplier}``).
"""

from __future__ import annotations

import argparse
import json
import math

from auditkit.errors import ExitCode, UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "epsilon",
        help="compute ε of a DP-SGD run (or the noise multiplier for a target ε)",
        description="Compute ε of DP-SGD (Poisson-subsampled Gaussian, composed over steps) with "
        "dp-accounting's RDP and PLD accountants, or the noise multiplier that reaches a target ε.",
    )
    p.add_argument("--noise-multiplier", type=float, metavar="S", help="noise multiplier σ")
    p.add_argument("--target-epsilon", type=float, metavar="E", help="inverse: find the noise multiplier for this ε")
    p.add_argument("--sample-rate", type=float, metavar="Q", help="sampling rate per step")
    p.add_argument("--batch-size", type=int, metavar="B", help="expected batch size (with --dataset-size)")
    p.add_argument("--dataset-size", type=int, metavar="N", help="training examples (with --batch-size)")
    p.add_argument("--steps", type=int, metavar="T", help="number of steps")
    p.add_argument("--epochs", type=float, metavar="E", help="epochs, in place of --steps: T = ceil(epochs / q)")
    p.add_argument("--delta", type=float, required=True, metavar="D", help="target δ")
    p.add_argument("--accountant", choices=("rdp", "pld", "all"), default="all", help="accountant (default: all)")
    p.add_argument(
        "--conversion",
        choices=("improved", "classic"),
        default="improved",
        help="RDP→(ε, δ) conversion: improved (Balle et al. 2020, default) or classic "
        "(Mironov 2017, as in TF-Privacy's 2019 tables)",
    )
    p.add_argument("--json", action="store_true", help="print {accountant: epsilon} as JSON")
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace) -> tuple[float, int]:
    if args.sample_rate is not None:
        if args.batch_size is not None or args.dataset_size is not None:
            raise UsageError("epsilon: give --sample-rate or --batch-size with --dataset-size, not both")
        rate = args.sample_rate
    elif args.batch_size is not None and args.dataset_size is not None:
        if args.batch_size <= 0 or args.dataset_size <= 0 or args.batch_size > args.dataset_size:
            raise UsageError("epsilon: --batch-size must be between 1 and --dataset-size")
        rate = args.batch_size / args.dataset_size
    else:
        raise UsageError("epsilon: give --sample-rate Q, or --batch-size B and --dataset-size N")
    if not 0 < rate <= 1:
        raise UsageError(f"epsilon: --sample-rate {rate:g} must be in (0, 1]")
    if args.steps is not None and args.epochs is not None:
        raise UsageError("epsilon: give --steps or --epochs, not both")
    if args.steps is not None:
        steps = args.steps
    elif args.epochs is not None:
        if not args.epochs > 0:
            raise UsageError(f"epsilon: --epochs {args.epochs:g} must be > 0")
        steps = math.ceil(args.epochs / rate - 1e-9)
    else:
        raise UsageError("epsilon: give --steps T, or --epochs (with the sampling rate, steps = ceil(epochs / q))")
    if steps < 1:
        raise UsageError(f"epsilon: --steps {steps} must be at least 1")
    if not 0 < args.delta < 1:
        raise UsageError(f"epsilon: --delta {args.delta:g} must be in (0, 1)")
    return rate, steps


def run(args: argparse.Namespace) -> int:
    rate, steps = _inputs(args)
    if (args.noise_multiplier is None) == (args.target_epsilon is None):
        raise UsageError("epsilon: give --noise-multiplier S to compute ε, or --target-epsilon E to compute σ")
    from auditkit_plugins.privacy import accounting

    names = ["rdp", "pld"] if args.accountant == "all" else [args.accountant]
    conversion = f"{args.conversion} conversion ({accounting.CONVERSION_SOURCES[args.conversion]})"
    if args.target_epsilon is not None:
        if not args.target_epsilon > 0:
            raise UsageError(f"epsilon: --target-epsilon {args.target_epsilon:g} must be > 0")
        try:
            values = {
                n: accounting.noise_for_epsilon(args.target_epsilon, rate, steps, args.delta, n, args.conversion)
                for n in names
            }
        except ValueError as exc:
            raise UsageError(f"epsilon: {exc}") from None
        what = f"noise multiplier for ε = {args.target_epsilon:g}"
    else:
        if not args.noise_multiplier > 0:
            raise UsageError(f"epsilon: --noise-multiplier {args.noise_multiplier:g} must be > 0")
        values = {
            n: accounting.epsilon(args.noise_multiplier, rate, steps, args.delta, n, args.conversion) for n in names
        }
        what = "epsilon"
    if args.json:
        print(json.dumps({k: (v if math.isfinite(v) else None) for k, v in values.items()}))
        return ExitCode.OK
    sigma = f"noise multiplier {args.noise_multiplier:g}, " if args.noise_multiplier is not None else ""
    print(f"DP-SGD: {sigma}sampling rate {rate:.6g}, {steps} steps, δ = {args.delta:g}")
    for name, value in values.items():
        how = f"RDP, {conversion}" if name == "rdp" else "PLD"
        print(f"  {what} ({how}): {value:.6g}")
    return ExitCode.OK
