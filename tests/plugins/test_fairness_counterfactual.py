"""Counterfactual tests on real tiny BERT models trained in the test.

One model is trained to decide by the pronoun alone; the term-swap test and the paired
files must catch it. A second model trained on the sentiment words must not be flagged.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.fairness import auditkit_assess, auditkit_config_schema
from auditkit.plugins.assess.fairness.counterfactual import TermGroup

from auditkit.audit import Audit, DatasetInfo, ModelInfo, Predictions
from auditkit.config import build_config
from auditkit.testing import build_tiny_bert, sentiment_frame

torch = pytest.importorskip("torch")
LABELS = ["negative", "positive"]
GOOD, BAD = ["good", "great", "nice", "kind", "happy"], ["bad", "awful", "terrible", "rude", "sad"]


class Handle:
    """What the transformers loader hands over: labels and predict_proba(texts)."""

    def __init__(self, path: Path, model: object) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = model
        self.info = SimpleNamespace(labels=LABELS)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            enc = self.tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
            return torch.softmax(self.model(**enc).logits, dim=-1).numpy()


def train(path: Path, key: str, steps: int = 40, seed: int = 0) -> Handle:
    """A tiny BERT trained for a few steps: label by the pronoun, or by the sentiment word."""
    from transformers import AutoModelForSequenceClassification

    build_tiny_bert(path, labels=LABELS, seed=seed)
    handle = Handle(path, AutoModelForSequenceClassification.from_pretrained(path))
    model = handle.model
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        he = rng.random(32) < 0.5
        good = rng.random(32) < 0.5
        subject = [rng.choice(["he", "his friend"] if h else ["she", "her friend"]) for h in he]
        texts = [
            f"{s} was very {rng.choice(GOOD if g else BAD)} in the movie" for s, g in zip(subject, good, strict=True)
        ]
        labels = torch.tensor((he if key == "pronoun" else good).astype(int))
        enc = handle.tokenizer(texts, padding=True, return_tensors="pt")
        loss = model(**enc, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    return handle


def make_audit(path: Path, handle: Handle, counterfactual: dict | None = None) -> Audit:
    frame = sentiment_frame(n=160, seed=1)
    proba = handle.predict_proba(frame["text"].tolist())
    schemas = {s.name: s for s in auditkit_config_schema()}
    layer = {"fairness": {"bootstrap": 200, "mitigation": False, "counterfactual": counterfactual or {}}}
    config = build_config(schemas, [("auditkit.toml", layer)])
    model = ModelInfo(name="tiny", path=str(path), task="sequence-classification", labels=LABELS, loader="test")
    dataset = DatasetInfo(
        path="eval.csv",
        sha256="0" * 64,
        rows=len(frame),
        format="csv",
        columns=list(frame.columns),
        text="text",
        label="label",
        sensitive=["gender"],
        positive="positive",
    )
    preds = Predictions(
        labels=np.array(LABELS, dtype=object)[proba.argmax(1)], classes=LABELS, proba=proba, scores=proba[:, 1]
    )
    y = np.array(LABELS, dtype=object)[frame["label"].to_numpy()]
    return Audit(
        model=model,
        config=config,
        model_dir=str(path),
        out_dir=str(path),
        report_id="t",
        dataset=dataset,
        frame=frame,
        y_true=y,
        predictions=preds,
        handle=handle,
    )


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> object:
    # two busy cores: torch's own threads fighting pytest's make tiny models 10x slower
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(one_thread: object, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Handle]]:
    out = {}
    for key in ("pronoun", "sentiment"):
        path = tmp_path_factory.mktemp(key)
        out[key] = (path, train(path, key))
    return out


def test_term_swap_catches_a_model_that_keys_on_the_pronoun(models: dict) -> None:
    path, handle = models["pronoun"]
    section = auditkit_assess(audit=make_audit(path, handle))
    results = {c["name"]: c for c in section.data["counterfactual"]}
    pronouns = results["gender_pronouns"]
    assert pronouns["variants"] > 50
    assert pronouns["flip_rate"] > 0.5
    assert pronouns["flip_rate_ci"][0] > 0.05
    # he → she lowers the score of 'positive', she → he raises it
    directions = {(d["from"], d["to"]): d for d in pronouns["directions"]}
    assert directions[("male", "female")]["mean_score_change"] < -0.2
    assert directions[("female", "male")]["mean_score_change"] > 0.2
    assert pronouns["worst"] and pronouns["worst"][0]["label_before"] != pronouns["worst"][0]["label_after"]
    assert results["religion"]["flip_rate"] is None and "no text contains" in results["religion"]["note"]
    flagged = [f for f in section.findings if f.code == "fairness-counterfactual-flips"]
    assert flagged and "gender_pronouns" in flagged[0].message
    assert section.metrics["flip_rate_gender_pronouns"] == pronouns["flip_rate"]


def test_a_model_that_keys_on_sentiment_is_not_flagged(models: dict) -> None:
    path, handle = models["sentiment"]
    section = auditkit_assess(audit=make_audit(path, handle))
    pronouns = next(c for c in section.data["counterfactual"] if c["name"] == "gender_pronouns")
    assert pronouns["flip_rate"] < 0.05
    assert not [f for f in section.findings if f.code == "fairness-counterfactual-flips"]


def test_paired_files_and_flip_rate_constraint(models: dict) -> None:
    path, handle = models["pronoun"]
    originals = pd.DataFrame(
        {
            "rev_id": [3, 1, 2, 4],
            "comment": ["he was very good in the movie", "he was very bad", "she was nice", "the film was good"],
        }
    )
    swapped = pd.DataFrame(
        {
            "rev_id": [1, 2, 3, 4],
            "comment": ["she was very bad", "he was nice", "she was very good in the movie", "the film was good"],
        }
    )
    originals.to_csv(path / "orig.csv", index=False)
    swapped.to_csv(path / "fuzzed.csv", index=False)
    cf = {
        "term_groups": [],
        "pairs_original": "orig.csv",
        "pairs_counterfactual": "fuzzed.csv",
        "pairs_key": "rev_id",
        "pairs_text": "comment",
    }
    audit = make_audit(path, handle, cf)
    audit.config.values["fairness"]["constraints"] = {"counterfactual_flip_rate": 0.1}
    section = auditkit_assess(audit=audit)
    (paired,) = section.data["counterfactual"]
    assert paired["texts"] == 3 and "4 aligned rows" in paired["note"]  # row 4 is unchanged
    assert paired["flip_rate"] == 1.0
    assert section.data["disparities"]["counterfactual_flip_rate"]["value"] == 1.0
    assert section.data["score"] == pytest.approx(0.1)


def test_swaps_keep_case_and_swap_both_ways() -> None:
    group = TermGroup("g", ["male", "female"], [["he", "she"], ["his", "her"], ["him", "her"], ["man", "woman"]])
    assert group.swap("He told her that the Man left", 0, 1) == "She told his that the Woman left"
    assert group.first_class("The WOMAN and he") == 1
    assert group.swap("The WOMAN and he", 1, 0) == "The MAN and she"
    assert group.swap("the manual", 0, 1) == "the manual"  # whole words only


def test_term_group_configuration_errors_name_the_key() -> None:
    from auditkit.plugins.assess.fairness.run import term_groups

    from auditkit.errors import ConfigError

    schemas = {s.name: s for s in auditkit_config_schema()}
    bad = {"fairness": {"counterfactual": {"terms": {"mine": {"classes": ["a"], "terms": [["x"]]}}}}}
    with pytest.raises(ConfigError, match=r"\[fairness.counterfactual\] terms = .*mine: classes must list at least"):
        build_config(schemas, [("auditkit.toml", bad)])
    cf = build_config(schemas, [("auditkit.toml", {})]).section("fairness.counterfactual")
    with pytest.raises(ConfigError, match=r"term_groups: unknown group\(s\) \['nope'\]"):
        term_groups({**cf, "term_groups": ["nope"]})
    own = {"classes": ["cats", "dogs"], "terms": [["cat", "dog"], ["kitten", "puppy"]]}
    (group,) = term_groups({**cf, "term_groups": ["pets"], "terms": {"pets": own}})
    assert group.swap("A kitten and a dog", 0, 1) == "A puppy and a cat"
