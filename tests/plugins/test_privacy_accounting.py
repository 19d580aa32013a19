"""DP accounting against published ε figures, under both RDP conversions and PLD.

Sources of the published figures:

- Classic conversion (Mironov 2017): TensorFlow Privacy, ``tutorials/README.md`` (2019
  version, github.com/tensorflow/privacy): the MNIST DP-SGD tutorial, batch 256 of 60,000,
  δ = 1e-5 — "For delta=1e-5, the current epsilon is: 1.03" after 1 epoch, "1.11" after 2,
  "3.01" after 60 at σ = 1.1; the "Select Parameters" table gives 1.19 for σ = 1.3 and 15
  epochs, 7.10 for σ = 0.7 and 45 epochs; ``compute_dp_sgd_privacy.py --N=60000
  --batch_size=256 --noise_multiplier=1.1 --epochs=60 --delta=1e-5`` prints "eps = 3.01".
  TF-Privacy's ``compute_dp_sgd_privacy_test.py`` of that time: (N 60,000, batch 150,
  σ 1.3, 15 epochs, δ 1e-5) → 0.941870567 and (100,000, 100, 1.0, 30, 1e-7) → 1.70928734.
- Improved conversion (Balle et al. 2020): the same TF-Privacy test after it moved to
  dp-accounting: the same two settings → 0.7242234026109595 and 1.4154988495444845.
  For the MNIST setting itself, Opacus's own RDP analysis (an independent implementation
  of the same conversion, ``opacus.accountants.analysis.rdp``).
- PLD: TF-Privacy ``compute_dp_sgd_privacy_test.py``, ``compute_dp_sgd_privacy_statement``
  for 10,000 examples, batch 64, σ 2.0 with microbatching (sensitivity doubled, so σ 1.0),
  5 epochs, δ 1e-6, Poisson sampling: "computed with PLD accounting … 1.199" and with RDP
  "1.616".
"""

from __future__ import annotations

import itertools
import math

import pytest
from auditkit.plugins.assess.privacy import accounting
from auditkit.plugins.assess.privacy.record import steps_for_epochs

MNIST_Q = 256 / 60000


def rel_err(value: float, published: float) -> float:
    return abs(value - published) / published


@pytest.mark.parametrize(
    ("sigma", "epochs", "published"),
    [(1.1, 60, 3.01), (1.1, 1, 1.03), (1.1, 2, 1.11), (1.3, 15, 1.19), (0.7, 45, 7.10)],
)
def test_classic_conversion_matches_tf_privacy_mnist_tables(sigma: float, epochs: int, published: float) -> None:
    steps = steps_for_epochs(epochs, MNIST_Q)
    eps = accounting.epsilon(sigma, MNIST_Q, steps, 1e-5, "rdp", "classic")
    assert rel_err(eps, published) < 0.01


@pytest.mark.parametrize(
    ("n", "batch", "sigma", "epochs", "delta", "classic", "improved"),
    [
        (60000, 150, 1.3, 15, 1e-5, 0.941870567, 0.7242234026109595),
        (100000, 100, 1.0, 30, 1e-7, 1.70928734, 1.4154988495444845),
    ],
)
def test_both_conversions_match_tf_privacy_tests(
    n: int, batch: int, sigma: float, epochs: int, delta: float, classic: float, improved: float
) -> None:
    q = batch / n
    steps = math.ceil(epochs * n / batch)
    assert steps == steps_for_epochs(epochs, q)
    acc = accounting.account(sigma, q, steps, delta)
    assert rel_err(acc.rdp_classic, classic) < 0.01
    assert rel_err(acc.rdp_improved, improved) < 0.01
    # the improved conversion is never looser, and PLD is tighter still here
    assert acc.pld <= acc.rdp_improved <= acc.rdp_classic


def test_mnist_improved_conversion_matches_opacus() -> None:
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis import rdp as opacus_rdp

    steps = steps_for_epochs(60, MNIST_Q)
    orders = RDPAccountant.DEFAULT_ALPHAS
    rdp = opacus_rdp.compute_rdp(q=MNIST_Q, noise_multiplier=1.1, steps=steps, orders=orders)
    opacus_eps, _ = opacus_rdp.get_privacy_spent(orders=orders, rdp=rdp, delta=1e-5)
    ours = accounting.epsilon(1.1, MNIST_Q, steps, 1e-5, "rdp", "improved")
    assert rel_err(ours, float(opacus_eps)) < 0.01
    # and the classic figure of the same run is the published 3.01
    assert rel_err(accounting.epsilon(1.1, MNIST_Q, steps, 1e-5, "rdp", "classic"), 3.01) < 0.01


def test_pld_matches_tf_privacy_statement() -> None:
    q = 64 / 10000
    steps = math.ceil(5 / q)
    sigma = 2.0 / 2  # microbatching doubles the sensitivity
    assert rel_err(accounting.epsilon(sigma, q, steps, 1e-6, "pld"), 1.199) < 0.01
    assert rel_err(accounting.epsilon(sigma, q, steps, 1e-6, "rdp"), 1.616) < 0.01


def test_classic_conversion_is_mironovs_formula() -> None:
    # Mironov 2017, Prop. 3 by hand at one order: ε(α) = RDP(α) + log(1/δ)/(α − 1)
    eps, order = accounting.classic_epsilon([2.0, 10.0], [0.5, 1.0], 1e-5)
    by_hand = min(0.5 + math.log(1e5) / 1.0, 1.0 + math.log(1e5) / 9.0)
    assert eps == pytest.approx(by_hand)
    assert order == 10.0


def test_epsilon_grows_with_steps() -> None:
    curves = accounting.epsilon_by_steps(1.1, MNIST_Q, 14063, 1e-5)
    assert curves["steps"][0] == 1 and curves["steps"][-1] == 14063
    for key in ("pld", "rdp", "rdp_classic"):
        values = curves[key]
        assert all(b >= a - 1e-9 for a, b in itertools.pairwise(values)), key
        assert values[-1] > values[0]
    direct = [accounting.epsilon(1.1, MNIST_Q, t, 1e-5, "pld") for t in (100, 1000, 10000)]
    assert direct[0] < direct[1] < direct[2]
    # the RDP curve scales one step's RDP by t: its last point is the full run's ε
    assert curves["rdp"][-1] == pytest.approx(accounting.epsilon(1.1, MNIST_Q, 14063, 1e-5, "rdp"))


def test_epsilon_falls_as_delta_grows() -> None:
    curves = accounting.epsilon_by_delta(1.1, MNIST_Q, 14063, [1e-9, 1e-7, 1e-5, 1e-3])
    for key in ("pld", "rdp", "rdp_classic"):
        values = curves[key]
        assert all(b < a for a, b in itertools.pairwise(values)), key


@pytest.mark.parametrize(("acct", "conversion"), [("rdp", "improved"), ("rdp", "classic")])
def test_noise_for_target_epsilon_is_the_smallest_that_meets_it(acct: str, conversion: str) -> None:
    steps = steps_for_epochs(60, MNIST_Q)
    sigma = accounting.noise_for_epsilon(3.0, MNIST_Q, steps, 1e-5, acct, conversion, tol=1e-3)
    assert accounting.epsilon(sigma, MNIST_Q, steps, 1e-5, acct, conversion) <= 3.0
    assert accounting.epsilon(sigma - 2e-3, MNIST_Q, steps, 1e-5, acct, conversion) > 3.0
    if conversion == "classic":  # TF-Privacy's table: σ = 1.1 for 60 epochs gives 3.01, just above 3
        assert 1.1 < sigma < 1.12


def test_noise_for_target_epsilon_with_pld() -> None:
    sigma = accounting.noise_for_epsilon(1.0, 0.01, 500, 1e-5, "pld", tol=1e-3)
    coarse = accounting.CHART_DISCRETIZATION
    assert accounting.epsilon(sigma, 0.01, 500, 1e-5, "pld", discretization=coarse) <= 1.0
    assert accounting.epsilon(sigma - 2e-3, 0.01, 500, 1e-5, "pld", discretization=coarse) > 1.0


def test_unknown_accountant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown accountant"):
        accounting.epsilon(1.0, 0.01, 10, 1e-5, "gdp")
