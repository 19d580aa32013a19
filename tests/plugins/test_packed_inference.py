"""The packed (padding-free) inference path against its references: the model's own
forward and ``transformers.pipeline``, to 1e-5 with identical labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from auditkit.plugins.loaders.hf.handle import plan_batches
from auditkit.plugins.loaders.hf.loading import load_handle
from auditkit.plugins.loaders.hf.packed import PackedBert, packed_or_none
from auditkit.plugins.loaders.transformers_model import auditkit_config_schema
from transformers import AutoModelForSequenceClassification, pipeline

from auditkit.config import Config
from auditkit.testing import build_tiny_bert, sentiment_frame


def _config(**model: object) -> Config:
    return Config(values={"model": {**auditkit_config_schema().defaults(), **model}})


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("packed") / "model", seed=3)


def _padded_reference(model: torch.nn.Module, texts: list[torch.Tensor]) -> torch.Tensor:
    width = max(len(t) for t in texts)
    ids = torch.zeros(len(texts), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, t in enumerate(texts):
        ids[row, : len(t)] = t
        mask[row, : len(t)] = 1
    with torch.inference_mode():
        return model(input_ids=ids, attention_mask=mask).logits


@pytest.mark.parametrize(
    "lengths",
    [[120, 90, 90, 70, 64, 64, 64, 33, 17, 17, 5, 2, 1], [7, 7, 7], [1], [128, 3]],
    ids=["mixed", "equal", "one-token", "longest-and-short"],
)
def test_packed_logits_equal_the_models_forward(tiny_dir: Path, lengths: list[int]) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(tiny_dir).eval()
    packed = PackedBert(model)
    generator = torch.Generator().manual_seed(0)
    texts = [torch.randint(0, model.config.vocab_size, (n,), generator=generator) for n in lengths]
    with torch.inference_mode():
        fast = packed.logits(torch.cat(texts), lengths)
    reference = _padded_reference(model, texts)
    assert fast.shape == reference.shape
    np.testing.assert_allclose(fast.numpy(), reference.numpy(), atol=1e-5, rtol=0)


def test_handle_matches_the_pipeline_labels_and_scores(tiny_dir: Path) -> None:
    texts = sentiment_frame(n=120, seed=5)["text"].tolist()
    texts += ["", "good " * 60, "bad"]  # empty, long (truncated at max_length), one word
    handle = load_handle(tiny_dir, _config(max_length=64, batch_tokens=256))
    handle.progress = False
    assert handle.inference_path == "not loaded yet"  # loaded at the first prediction
    ours = handle.predict_proba(texts)
    assert handle.inference_path.startswith("packed")  # direct from the files (test_direct_loading.py)

    classifier = pipeline("text-classification", model=str(tiny_dir), device="cpu")
    rows = classifier(texts, top_k=None, truncation=True, max_length=64)
    labels = handle.info.labels
    theirs = np.array([[next(d["score"] for d in row if d["label"] == name) for name in labels] for row in rows])
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


def test_packed_and_padded_paths_give_the_same_predictions(tiny_dir: Path) -> None:
    texts = sentiment_frame(n=80, seed=9)["text"].tolist()
    packed = load_handle(tiny_dir, _config())
    padded = load_handle(tiny_dir, _config(packed=False))
    packed.progress = padded.progress = False
    np.testing.assert_allclose(packed.logits(texts), padded.logits(texts), atol=1e-5, rtol=0)
    assert packed.packed is not None
    assert padded.packed is None and "packed = false" in padded.inference_path


def test_unsupported_models_fall_back_to_their_own_forward(tmp_path: Path) -> None:
    relative = build_tiny_bert(tmp_path / "rel", extra_config={"position_embedding_type": "relative_key"})
    model = AutoModelForSequenceClassification.from_pretrained(relative)
    packed, why = packed_or_none(model)
    assert packed is None and "position_embedding_type='relative_key'" in why


@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("max_texts,max_tokens", [(4, 0), (512, 40), (3, 25), (100, 1)])
def test_plan_batches_covers_every_text_once_within_the_caps(
    packed: bool, max_texts: int, max_tokens: int
) -> None:
    lengths = np.array(sorted([30, 20, 20, 12, 9, 9, 9, 4, 3, 3, 1], reverse=True))
    plan = plan_batches(lengths, max_texts, max_tokens, packed)
    assert [i for start, stop in plan for i in range(start, stop)] == list(range(len(lengths)))
    for start, stop in plan:
        batch = lengths[start:stop]
        assert 1 <= len(batch) <= max_texts
        cost = batch.sum() if packed else batch.max() * len(batch)
        assert max_tokens == 0 or len(batch) == 1 or cost <= max_tokens
