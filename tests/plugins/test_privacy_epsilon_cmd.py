"""``auditkit epsilon`` through the real command line: figures, JSON, inverse, errors."""

from __future__ import annotations

import json

import pytest
from auditkit.plugins.assess.privacy import accounting

from auditkit.cli import main

MNIST = ["--noise-multiplier", "1.1", "--batch-size", "256", "--dataset-size", "60000", "--epochs", "60"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["epsilon", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_prints_accountant_to_epsilon(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *MNIST, "--delta", "1e-5", "--json")
    assert code == 0
    values = json.loads(out)
    assert set(values) == {"rdp", "pld"}
    q, steps = 256 / 60000, 14063
    assert values["rdp"] == pytest.approx(accounting.epsilon(1.1, q, steps, 1e-5, "rdp", "improved"))
    assert values["pld"] == pytest.approx(accounting.epsilon(1.1, q, steps, 1e-5, "pld"))
    assert values["pld"] < values["rdp"]


def test_classic_conversion_reproduces_the_published_figure(capsys: pytest.CaptureFixture[str]) -> None:
    # TF-Privacy tutorials/README.md (2019): compute_dp_sgd_privacy.py with these flags → eps = 3.01
    code, out, _ = run(capsys, *MNIST, "--delta", "1e-5", "--accountant", "rdp", "--conversion", "classic", "--json")
    assert code == 0
    values = json.loads(out)
    assert list(values) == ["rdp"]
    assert abs(values["rdp"] - 3.01) / 3.01 < 0.01


def test_sample_rate_and_steps_give_the_same_answer(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--noise-multiplier", "1.1", "--delta", "1e-5", "--accountant", "rdp", "--json"]
    _, by_epochs, _ = run(capsys, *MNIST[2:], *args)
    _, by_steps, _ = run(capsys, "--sample-rate", str(256 / 60000), "--steps", "14063", *args)
    assert json.loads(by_epochs) == json.loads(by_steps)


def test_text_output_labels_the_conversion(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *MNIST, "--delta", "1e-5", "--conversion", "classic")
    assert code == 0
    assert "classic conversion (Mironov 2017)" in out and "PLD" in out
    assert "14063 steps" in out
    _, out, _ = run(capsys, *MNIST, "--delta", "1e-5", "--accountant", "rdp")
    assert "improved conversion (Balle et al. 2020)" in out


def test_inverse_finds_the_noise_multiplier(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--target-epsilon", "2", "--sample-rate", "0.01", "--steps", "1000", "--delta", "1e-5",
        "--accountant", "rdp", "--json",
    )  # fmt: skip
    assert code == 0
    sigma = json.loads(out)["rdp"]
    assert accounting.epsilon(sigma, 0.01, 1000, 1e-5, "rdp") <= 2.0
    assert accounting.epsilon(sigma - 1e-3, 0.01, 1000, 1e-5, "rdp") > 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--noise-multiplier", "1", "--steps", "10", "--delta", "1e-5"], "--sample-rate"),
        (["--noise-multiplier", "1", "--sample-rate", "0.1", "--delta", "1e-5"], "--steps"),
        (["--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "5", "--epochs", "2", "--delta", "1e-5"],
         "not both"),
        (["--noise-multiplier", "1", "--sample-rate", "1.5", "--steps", "5", "--delta", "1e-5"], "(0, 1]"),
        (["--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "5", "--delta", "2"], "--delta"),
        (["--sample-rate", "0.1", "--steps", "5", "--delta", "1e-5"], "--target-epsilon"),
        (["--noise-multiplier", "1", "--target-epsilon", "1", "--sample-rate", "0.1", "--steps", "5",
          "--delta", "1e-5"], "--noise-multiplier"),
        (["--noise-multiplier", "0", "--sample-rate", "0.1", "--steps", "5", "--delta", "1e-5"], "must be > 0"),
        (["--noise-multiplier", "1", "--batch-size", "500", "--dataset-size", "100", "--steps", "5",
          "--delta", "1e-5"], "--batch-size"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("auditkit: error: epsilon:") and message in err
    assert len(err.strip().splitlines()) == 1
