"""Membership inference: hand-checked attack numbers and DP limits, then real tiny BERTs.

A tiny BERT trained to memorise random labels of its training rows must be attackable
(AUC well above 0.5); a model trained on other rows must not tell those rows from
held-out ones (AUC about 0.5). A model that claims a small ε but leaks is a ``fail``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.privacy import membership as mia

from auditkit.audit import Audit
from auditkit.config import build_config
from auditkit.manager import get_plugin_manager
from auditkit.runner import Runner, RunOptions

# ---------------------------------------------------------------------------- by hand


def test_attack_numbers_by_hand() -> None:
    members = np.array([0.1, 0.2, 0.9])
    nonmembers = np.array([0.5, 1.0, 1.5])
    result = mia.loss_threshold_attack(members, nonmembers)
    # pairs where the member's loss is lower: 3 + 3 + 2 of 9
    assert result.auc == pytest.approx(8 / 9)
    # threshold 0.2: TPR 2/3 at FPR 0; threshold 0.9: TPR 1 at FPR 1/3
    assert result.advantage == pytest.approx(2 / 3)
    assert result.tpr_at[0.001] == pytest.approx(2 / 3)
    assert result.tpr_at[0.01] == pytest.approx(2 / 3)


def test_dp_limits_by_hand() -> None:
    # pure ε-DP: the advantage limit is (e^ε − 1)/(e^ε + 1) = tanh(ε/2)
    assert mia.advantage_bound(1.0, 0.0) == pytest.approx(math.tanh(0.5))
    assert mia.advantage_bound(0.0, 1e-5) == pytest.approx(1e-5)
    assert mia.advantage_bound(math.inf, 1e-5) == 1.0
    # ε = ln 2, δ = 0.01, FPR 0.1: min(1, 2·0.1 + 0.01, 1 − (1 − 0.01 − 0.1)/2) = 0.21
    assert mia.tpr_bound(math.log(2), 0.01, 0.1) == pytest.approx(0.21)
    # at FPR 0.9 the second constraint binds: 1 − (1 − 0.01 − 0.9)/2 = 0.955
    assert mia.tpr_bound(math.log(2), 0.01, 0.9) == pytest.approx(0.955)


def test_sampling_margin_by_hand() -> None:
    assert mia.sampling_margin(100, 100) == pytest.approx(2 * math.sqrt(math.log(80) / 200))


def test_losses_are_cross_entropy_of_the_true_label() -> None:
    proba = np.array([[0.9, 0.1], [0.25, 0.75]])
    losses = mia.example_losses(lambda texts: proba, ["a", "b"], np.array([0, 0]))
    assert losses == pytest.approx([-math.log(0.9), -math.log(0.25)])


def test_balanced_sample_is_balanced_and_seeded() -> None:
    a, b = mia.balanced_sample(50, 30, 20, seed=3)
    assert len(a) == len(b) == 20 and len(set(a)) == 20
    again = mia.balanced_sample(50, 30, 20, seed=3)
    assert (a == again[0]).all() and (b == again[1]).all()
    assert len(mia.balanced_sample(50, 30, 0, seed=0)[0]) == 30


# ---------------------------------------------------------------------------- tiny BERTs

N = 120


def random_rows(n: int, seed: int) -> pd.DataFrame:
    """Distinct random sentences with random labels: only memorising can fit them."""
    from auditkit.testing import tiny_vocab

    words = [w for w in tiny_vocab() if len(w) > 1 and w.isalpha()]
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(words, 8)) for _ in range(n)]
    return pd.DataFrame({"text": texts, "label": rng.integers(0, 2, n)})


def train_tiny_bert(path: Path, rows: pd.DataFrame, steps: int = 80) -> Path:
    import torch
    from transformers import BertForSequenceClassification, BertTokenizerFast

    from auditkit.testing import build_tiny_bert

    build_tiny_bert(path, seed=0)
    tokenizer = BertTokenizerFast.from_pretrained(path)
    model = BertForSequenceClassification.from_pretrained(path)
    batch = tokenizer(list(rows["text"]), padding=True, return_tensors="pt")
    labels = torch.tensor(rows["label"].to_numpy())
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    model.train()
    for _ in range(steps):  # full-batch steps on few rows: the model memorises them
        optimizer.zero_grad()
        model(**batch, labels=labels).loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread avoids contention on a shared machine
    try:
        root = tmp_path_factory.mktemp("mia")
        members, holdout = random_rows(N, 1), random_rows(N, 2)
        overfit = train_tiny_bert(root / "overfit", members)
        other = train_tiny_bert(root / "other", random_rows(N, 3))
    finally:
        torch.set_num_threads(threads)
    members.to_csv(overfit / "train.csv", index=False)
    holdout.to_csv(overfit / "heldout.csv", index=False)
    return {"overfit": overfit, "other": other}


def audit_for(model_dir: Path, settings: dict[str, Any] | None = None) -> Audit:
    from auditkit.plugins.loaders.hf.loading import load_handle

    pm = get_plugin_manager(autoload=False)
    config = build_config(Runner(pm, RunOptions()).schemas(), [("auditkit.toml", settings or {})])
    handle = load_handle(model_dir, config)
    return Audit(model=handle.info, config=config, model_dir=str(model_dir), out_dir=str(model_dir), report_id="t",
                 handle=handle, hook=pm.hook)  # fmt: skip


def write_record(model_dir: Path, dp: dict[str, Any] | None) -> None:
    body: dict[str, Any] = {"data": {"train_file": "train.csv", "eval_file": "heldout.csv"}}
    if dp:
        body["dp"] = dp
    (model_dir / "training.json").write_text(json.dumps(body), encoding="utf-8")


def test_overfit_model_leaks_membership(models: dict[str, Path]) -> None:
    from auditkit.plugins.assess.privacy.assess import assess

    write_record(models["overfit"], None)
    section = assess(audit_for(models["overfit"]))
    m = section.metrics
    assert m["mia_samples"] == N
    assert m["mia_auc"] > 0.7
    assert m["mia_advantage"] > 0.4
    assert 0 <= m["mia_tpr_at_0_1pct_fpr"] <= m["mia_tpr_at_1pct_fpr"] <= 1
    assert section.data["membership"]["mean_loss"]["members"] < section.data["membership"]["mean_loss"]["nonmembers"]
    codes = {f.code: f.severity for f in section.findings}
    assert codes["privacy-mia-leak"] == "warn"  # no DP, AUC above warn_auc
    assert codes["privacy-no-dp"] == "info"
    assert any(c.name == "privacy-mia-roc" for c in section.charts)


def test_model_that_never_saw_the_members_is_at_chance(models: dict[str, Path]) -> None:
    from auditkit.plugins.assess.privacy.record import TrainingRecord
    from auditkit.plugins.assess.privacy.scan import membership_part

    from auditkit.audit import Section

    files = {"train_data": str(models["overfit"] / "train.csv"), "holdout_data": str(models["overfit"] / "heldout.csv")}
    audit = audit_for(models["other"], {"privacy": {"membership": files}})
    section = Section(name="privacy", title="Privacy")
    membership_part(audit, section, TrainingRecord(), None, None, [])
    assert section.data["membership"]["source"] == "[privacy.membership]"
    assert abs(section.metrics["mia_auc"] - 0.5) < 0.12
    assert not [f for f in section.findings if f.severity != "info"]


def test_leak_beyond_the_claimed_epsilon_fails(models: dict[str, Path]) -> None:
    from auditkit.plugins.assess.privacy.assess import assess

    # a record claiming heavy noise (ε well under 1) for a model that memorised its rows
    write_record(models["overfit"], {"noise_multiplier": 8.0, "sample_rate": 0.05, "steps": 100, "delta": 1e-5})
    try:
        section = assess(audit_for(models["overfit"], {"privacy": {"dp": {"discretization": 1e-3}}}))
    finally:
        (models["overfit"] / "training.json").unlink()
    eps = section.metrics["epsilon"]
    assert eps is not None and eps < 0.5
    limit = section.metrics["mia_advantage_bound"]
    assert limit == pytest.approx(mia.advantage_bound(eps, 1e-5))
    assert section.metrics["mia_advantage"] > limit + mia.sampling_margin(N, N)
    failing = [f for f in section.findings if f.severity == "fail"]
    assert [f.code for f in failing] == ["privacy-mia-exceeds-dp-bound"]
    assert section.verdict == "fail"


def test_skipped_without_training_data(models: dict[str, Path]) -> None:
    from auditkit.plugins.assess.privacy.record import TrainingRecord
    from auditkit.plugins.assess.privacy.scan import membership_part

    from auditkit.audit import Section

    section = Section(name="privacy", title="Privacy")
    membership_part(audit_for(models["other"]), section, TrainingRecord(), None, None, [])
    assert [f.code for f in section.findings] == ["privacy-mia-skipped"]
    assert "mia_auc" not in section.metrics
