"""The fairness section end to end through the real CLI, on a tiny BERT trained to be unfair.

The model learns to call texts with he/his positive and she/her negative. The test
predicts the evaluation texts itself with transformers and recomputes the numbers with
fairlearn, then reads them back from audit.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.testing import read_audit_json, run_cli, write_model_dir

torch = pytest.importorskip("torch")


def _train_on_pronouns(path: Path, steps: int = 40) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model.train()
        for _ in range(steps):
            he = rng.random(32) < 0.5
            texts = [f"{rng.choice(['he', 'his friend'] if h else ['she', 'her friend'])} was very "
                     f"{rng.choice(['good', 'bad', 'nice', 'rude'])} in the movie" for h in he]
            enc = tokenizer(texts, padding=True, return_tensors="pt")
            model(**enc, labels=torch.tensor(he.astype(int))).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(path, safe_serialization=True)


def _predict(path: Path, texts: list[str]) -> np.ndarray:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    tokenizer = AutoTokenizer.from_pretrained(path)
    with torch.no_grad():
        return np.vstack([torch.softmax(model(**tokenizer(t, return_tensors="pt")).logits, -1).numpy() for t in texts])


@pytest.mark.slow
def test_cli_reports_the_pronoun_bias(tmp_path: Path) -> None:
    from fairlearn.metrics import MetricFrame, demographic_parity_difference, selection_rate

    model_dir = tmp_path / "pronoun-model"
    config = {"fairness": {"bootstrap": 300, "auc_bootstrap": 50}}
    write_model_dir(model_dir, sensitive=("gender", "group"), config=config)
    _train_on_pronouns(model_dir)
    frame = pd.read_csv(model_dir / "eval.csv")
    pairs = pd.DataFrame({"rev_id": range(len(frame)), "comment": frame["text"]})
    pairs.to_csv(model_dir / "orig.csv", index=False)
    swapped = frame["text"].str.replace(r"\bhe\b", "she", regex=True)
    pairs.assign(comment=swapped).to_csv(model_dir / "fuzzed.csv", index=False)
    with (model_dir / "auditkit.toml").open("a", encoding="utf-8") as toml:
        toml.write('\n[fairness.counterfactual]\npairs_original = "orig.csv"\npairs_counterfactual = "fuzzed.csv"\n'
                   'pairs_key = "rev_id"\npairs_text = "comment"\n')

    out = tmp_path / "out"
    disable = [a for name in ("training", "privacy", "market", "valuation", "html", "pdf", "markdown")
               for a in ("-p", f"no:{name}")]
    result = run_cli(["run", model_dir, "--out", out, "--format", "json", *disable])
    audit = read_audit_json(out / "pronoun-model" / "audit.json")
    fairness = audit["sections"]["fairness"]
    assert not [f for f in audit["findings"] if f["severity"] == "error"], audit["findings"]

    proba = _predict(model_dir, frame["text"].tolist())
    predicted = proba.argmax(1)
    expected = demographic_parity_difference(frame["label"], predicted, sensitive_features=frame["gender"])
    by_gender = fairness["disparities"]["demographic_parity_difference"]["by_feature"]["gender"]
    assert abs(by_gender["value"] - expected) <= 1e-12
    assert expected > 0.3  # the model is unfair, and the report must say so
    rates = MetricFrame(metrics=selection_rate, y_true=frame["label"], y_pred=predicted,
                        sensitive_features=frame["gender"]).by_group
    for row in (r for r in fairness["groups"] if r["feature"] == "gender"):
        assert abs(row["selection_rate"] - rates[row["group"]]) <= 1e-12
        assert row["selection_rate_ci"][0] <= row["selection_rate"] <= row["selection_rate_ci"][1]
    assert fairness["score"] < 1 and fairness["verdict"] == "fail"
    assert audit["verdict"] == "fail" and result.exit_code == 1
    assert fairness["summary"].startswith("Fairness verdict: FAIL.")

    flips = {c["name"]: c for c in fairness["counterfactual"]}
    assert flips["gender_pronouns"]["flip_rate"] > 0.5
    assert flips["paired files"]["flip_rate"] > 0.9
    assert any(f["code"] == "fairness-counterfactual-flips" for f in fairness["findings"])
    assert {"feature", "group", "n", "tpr", "tpr_ci", "auc", "bpsn_auc", "bnsp_auc"} <= set(fairness["groups"][0])
