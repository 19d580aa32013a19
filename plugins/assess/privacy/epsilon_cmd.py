"""``auditkit epsilon``: the DP-SGD planning calculator, and its inverse.

    auditkit epsilon --noise-multiplier 1.1 --batch-size 256 --dataset-size 60000 \
                     --epochs 60 --delta 1e-5 [--accountant rdp|pld|all] \
                     [--conversion improved|classic] [--json]
    auditkit epsilon --target-epsilon 3 --sample-rate 0.004 --steps 14063 --delta 1e-5

``--json`` prints ``{accountant: epsilon}`` (with ``--target-epsilon``:
``{accountant: noise_multiplier}``).

Inputs are bounded by what dp-accounting can compute (tried, dp-accounting 0.4): σ = inf
or 1e300 overflows, σ = 1e-300 divides by zero, and the PLD accountant's grid grows with ε
(σ = 0.001 asks for 38 GiB, 1e9 steps for hours); δ below 1e-12 makes PLD's ε infinite
(its tail truncation). A value outside a range is a one-line usage error naming the flag
and the range (exit 2), never a traceback with exit 1, which means "policy failed".
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from auditkit.errors import ExitCode, UsageError

# (flag, low, high): closed ranges dp-accounting computes in seconds (see the docstring)
SIGMA_RANGE = ("--noise-multiplier", 0.1, 1e6)
STEPS_MAX = 10_000_000
DELTA_MIN = 1e-12
TARGET_RANGE = ("--target-epsilon", 0.01, 100.0)
# PLD's grid grows with ε (ε 1000: 7 s, ε 22000: out of memory); beyond this ε (by RDP, an
# upper bound computed instantly) there is no privacy left to measure precisely
PLD_MAX_EPSILON = 100.0


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
    if not 0 < rate <= 1:  # also NaN
        raise UsageError(f"epsilon: --sample-rate {rate:g} must be in (0, 1]")
    if args.steps is not None and args.epochs is not None:
        raise UsageError("epsilon: give --steps or --epochs, not both")
    if args.steps is not None:
        steps = args.steps
    elif args.epochs is not None:
        if not 0 < args.epochs <= STEPS_MAX * rate:  # also NaN and inf
            raise UsageError(
                f"epsilon: --epochs {args.epochs:g} must be > 0 and at most {STEPS_MAX * rate:g} "
                f"(at most {STEPS_MAX:,} steps at sampling rate {rate:g})"
            )
        steps = math.ceil(args.epochs / rate - 1e-9)
    else:
        raise UsageError("epsilon: give --steps T, or --epochs (with the sampling rate, steps = ceil(epochs / q))")
    if not 1 <= steps <= STEPS_MAX:
        raise UsageError(f"epsilon: --steps {steps} must be between 1 and {STEPS_MAX:,}")
    if not DELTA_MIN <= args.delta < 1:
        raise UsageError(f"epsilon: --delta {args.delta:g} must be in [{DELTA_MIN:g}, 1)")
    return rate, steps


def run(args: argparse.Namespace) -> int:
    rate, steps = _inputs(args)
    if (args.noise_multiplier is None) == (args.target_epsilon is None):
        raise UsageError("epsilon: give --noise-multiplier S to compute ε, or --target-epsilon E to compute σ")
    from auditkit.plugins.assess.privacy import accounting

    names = ["rdp", "pld"] if args.accountant == "all" else [args.accountant]
    conversion = f"{args.conversion} conversion ({accounting.CONVERSION_SOURCES[args.conversion]})"
    if args.target_epsilon is not None:
        _in_range(args.target_epsilon, *TARGET_RANGE)
        try:
            values = {
                n: accounting.noise_for_epsilon(args.target_epsilon, rate, steps, args.delta, n, args.conversion)
                for n in names
            }
        except (ArithmeticError, ValueError, MemoryError) as exc:
            raise UsageError(f"epsilon: {_cannot(exc)}") from None
        what = f"noise multiplier for ε = {args.target_epsilon:g}"
    else:
        _in_range(args.noise_multiplier, *SIGMA_RANGE)
        values = _epsilons(accounting, args, rate, steps, names)
        what = "epsilon"
    if args.json:
        print(json.dumps({k: (v if math.isfinite(v) else None) for k, v in values.items()}))
        return ExitCode.OK
    sigma = f"noise multiplier {args.noise_multiplier:g}, " if args.noise_multiplier is not None else ""
    print(f"DP-SGD: {sigma}sampling rate {rate:.6g}, {steps} steps, δ = {args.delta:g}")
    for name, value in values.items():
        how = f"RDP, {conversion}" if name == "rdp" else "PLD"
        if math.isnan(value):
            print(f"  {what} ({how}): not computed (ε above {PLD_MAX_EPSILON:g} by RDP: no meaningful privacy)")
        else:
            print(f"  {what} ({how}): {value:.6g}")
    return ExitCode.OK


def _in_range(value: float, flag: str, low: float, high: float) -> None:
    if not low <= value <= high:  # also NaN and inf
        why = "must be > 0" if not value > 0 else "is out of range"
        raise UsageError(f"epsilon: {flag} {value:g} {why}; give a number between {low:g} and {high:g}")


def _epsilons(accounting: Any, args: argparse.Namespace, rate: float, steps: int, names: list[str]) -> dict[str, float]:
    """ε by each accountant; PLD's is NaN (not computed) where RDP shows ε beyond
    PLD_MAX_EPSILON, since PLD's grid would then take minutes or more memory than there is."""
    sigma, delta = args.noise_multiplier, args.delta
    try:
        rdp = accounting.epsilon(sigma, rate, steps, delta, "rdp", args.conversion)
        values = {"rdp": rdp} if "rdp" in names else {}
        if "pld" in names:
            values["pld"] = accounting.epsilon(sigma, rate, steps, delta, "pld") if rdp <= PLD_MAX_EPSILON else math.nan
    except (ArithmeticError, ValueError, MemoryError) as exc:
        raise UsageError(f"epsilon: {_cannot(exc)}") from None
    return values


def _cannot(exc: BaseException) -> str:
    return (
        f"dp-accounting cannot compute this ({type(exc).__name__}: {str(exc)[:200]}); "
        "check the inputs, or try --accountant rdp"
    )
