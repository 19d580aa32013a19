"""DP-SGD through Opacus: per-sample clipping, Gaussian noise, Poisson sampling.

The noise multiplier is calibrated so that the *planned* number of steps meets the target
ε; the record keeps σ, q, the steps actually taken, δ and Opacus's own ε, which the
privacy plugin recomputes with dp-accounting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditkit.plugins.assess.training.options import TrainOptions

from auditkit.errors import UsageError

ACCOUNTANTS = ("prv", "rdp", "gdp")


@dataclass
class PrivateRun:
    """What Opacus handed back, plus the numbers the record needs."""

    engine: Any
    hooks: Any
    optimizer: Any
    loader: Any
    noise_multiplier: float
    sample_rate: float
    planned_steps: int

    def record(self, steps: int, options: TrainOptions, frozen: list[str]) -> dict[str, Any]:
        import opacus

        history = getattr(self.engine.accountant, "history", None) or []
        counted = int(sum(entry[2] for entry in history)) if history else steps
        return {
            "noise_multiplier": float(self.noise_multiplier),
            "sample_rate": float(self.sample_rate),
            "steps": counted,
            "delta": float(options.dp_delta),
            "max_grad_norm": float(options.dp_max_grad_norm),
            "target_epsilon": float(options.dp_epsilon),  # type: ignore[arg-type]
            "epsilon_opacus": float(self.engine.get_epsilon(options.dp_delta)) if counted else 0.0,
            "accountant": self.engine.accountant.mechanism(),
            "planned_steps": self.planned_steps,
            "expected_batch_size": float(self.sample_rate * len(self.loader.dataset)),
            "poisson_sampling": True,
            "clipping": "flat",
            "secure_rng": False,
            "frozen": frozen,
            "library": f"opacus {opacus.__version__}",
        }

    def close(self) -> None:
        cleanup = getattr(self.hooks, "cleanup", None)
        if cleanup is not None:
            cleanup()


def make_private(model: Any, optimizer: Any, loader: Any, options: TrainOptions, planned_steps: int) -> PrivateRun:
    """Wrap optimizer and loader for DP-SGD; the model keeps its class (hooks, no wrapper)."""
    try:
        from opacus import PrivacyEngine
        from opacus.accountants.utils import get_noise_multiplier
    except ImportError:
        raise UsageError("--dp-epsilon: Opacus is not installed; pip install 'auditkit[dp]'") from None
    if options.dp_accountant not in ACCOUNTANTS:
        raise UsageError(f"--dp-accountant {options.dp_accountant}: use one of {', '.join(ACCOUNTANTS)}")
    import warnings

    sample_rate = 1 / len(loader)
    model.train()  # Opacus validates the module in training mode
    try:
        with warnings.catch_warnings():
            # PRV's search probes RDP orders at its edge; the final ε is what the record keeps
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
            sigma = get_noise_multiplier(
                target_epsilon=options.dp_epsilon,
                target_delta=options.dp_delta,
                sample_rate=sample_rate,
                steps=planned_steps,
                accountant=options.dp_accountant,
            )
    except ValueError as exc:
        raise UsageError(
            f"--dp-epsilon {options.dp_epsilon:g}: no noise multiplier reaches it for "
            f"{planned_steps} steps at "
            f"sampling rate {sample_rate:.4g} ({exc}); raise --dp-epsilon or train fewer steps"
        ) from None
    with warnings.catch_warnings():
        # secure_mode needs torchcsprng; the record says "secure_rng": false instead
        warnings.filterwarnings("ignore", message="Secure RNG turned off")
        engine = PrivacyEngine(accountant=options.dp_accountant)
        hooks, dp_optimizer, dp_loader = engine.make_private(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=sigma,
            max_grad_norm=options.dp_max_grad_norm,
            poisson_sampling=True,
            wrap_model=False,  # keep the transformers class: save_pretrained works as usual
        )
    return PrivateRun(engine, hooks, dp_optimizer, dp_loader, float(sigma), sample_rate, planned_steps)
