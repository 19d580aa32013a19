"""Loss-threshold membership inference (Yeom et al. 2018) and the bound DP puts on it.

The attacker guesses "member" when the model's loss on an example is below a threshold.
Over all thresholds this traces a ROC curve; its AUC, the best advantage TPR − FPR and
the TPR at very low FPR (Carlini et al. 2022) measure how much the model leaks.

An (ε, δ)-DP model bounds every attack: TPR ≤ e^ε·FPR + δ and 1 − FPR ≤ e^ε·(1 − TPR) + δ
(Kairouz et al. 2015). Maximising TPR − FPR under both gives the advantage limit
(e^ε − 1 + 2δ)/(e^ε + 1). An empirical advantage above it — beyond sampling error — means
the claimed guarantee does not hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

FPR_POINTS = (0.001, 0.01)


def example_losses(
    predict_proba: Callable[[list[str]], np.ndarray], texts: Sequence[str], label_index: np.ndarray
) -> np.ndarray:
    """Cross-entropy of the true label per example: −log p(y | x)."""
    proba = np.asarray(predict_proba(list(texts)), dtype=np.float64)
    picked = proba[np.arange(len(label_index)), label_index]
    return -np.log(np.clip(picked, 1e-12, 1.0))


@dataclass
class AttackResult:
    """The attack's ROC and the summary numbers a report shows."""

    auc: float
    advantage: float
    threshold: float
    tpr_at: dict[float, float]
    fpr: np.ndarray
    tpr: np.ndarray
    n_members: int
    n_nonmembers: int
    member_loss: float
    nonmember_loss: float

    def tpr_key(self, fpr: float) -> str:
        return f"tpr_at_{fpr * 100:g}pct_fpr".replace(".", "_")


def loss_threshold_attack(member_loss: np.ndarray, nonmember_loss: np.ndarray) -> AttackResult:
    """Score = −loss (members have lower loss); ROC over every threshold."""
    from auditkit.classification_scores import roc_auc_score, roc_curve

    y = np.concatenate([np.ones(len(member_loss)), np.zeros(len(nonmember_loss))])
    score = -np.concatenate([member_loss, nonmember_loss])
    fpr, tpr, thresholds = roc_curve(y, score)
    gaps = tpr - fpr
    best = int(np.argmax(gaps))
    return AttackResult(
        auc=float(roc_auc_score(y, score)),
        advantage=float(gaps[best]),
        threshold=float(-thresholds[best]) if np.isfinite(thresholds[best]) else math.inf,
        tpr_at={f: tpr_at_fpr(fpr, tpr, f) for f in FPR_POINTS},
        fpr=fpr,
        tpr=tpr,
        n_members=len(member_loss),
        n_nonmembers=len(nonmember_loss),
        member_loss=float(np.mean(member_loss)),
        nonmember_loss=float(np.mean(nonmember_loss)),
    )


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target: float) -> float:
    """The highest TPR the attack reaches without exceeding ``target`` FPR."""
    ok = fpr <= target + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def advantage_bound(epsilon: float, delta: float) -> float:
    """The largest TPR − FPR any attack can reach on an (ε, δ)-DP model."""
    if math.isinf(epsilon) or epsilon > 700:
        return 1.0
    e = math.exp(epsilon)
    return min(1.0, (e - 1.0 + 2.0 * delta) / (e + 1.0))


def tpr_bound(epsilon: float, delta: float, fpr: float) -> float:
    """The largest TPR at a given FPR on an (ε, δ)-DP model."""
    if math.isinf(epsilon) or epsilon > 700:
        return 1.0
    e = math.exp(epsilon)
    return min(1.0, e * fpr + delta, 1.0 - (1.0 - delta - fpr) / e)


def sampling_margin(n_members: int, n_nonmembers: int, alpha: float = 0.05) -> float:
    """A (1 − α) bound on how far the empirical advantage can exceed the true one.

    The advantage is a difference of two empirical CDFs at one threshold; by the
    Dvoretzky–Kiefer–Wolfowitz inequality each is within sqrt(ln(4/α)/(2n)) of its true
    CDF at every threshold at once, with probability 1 − α/2 each.
    """
    if not n_members or not n_nonmembers:
        return 1.0
    c = math.log(4.0 / alpha) / 2.0
    return math.sqrt(c / n_members) + math.sqrt(c / n_nonmembers)


def balanced_sample(n_members: int, n_nonmembers: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-sized random index samples of members and non-members (at most ``size`` each)."""
    rng = np.random.default_rng(seed)
    n = min(n_members, n_nonmembers, size) if size else min(n_members, n_nonmembers)
    return (
        np.sort(rng.choice(n_members, size=n, replace=False)),
        np.sort(rng.choice(n_nonmembers, size=n, replace=False)),
    )
