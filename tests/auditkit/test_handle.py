"""The model handle contract (auditkit.ModelHandle): the built-in handles keep it, a
third-party handle with only the required members audits through the real CLI, a loader
returning something else is a plugin error naming it, and the predictions loader reads its
scores file through the auditkit_load_data hook, so ``-p no:tabular`` is honoured."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit import HandleCaches, InferenceTimings, ModelHandle
from auditkit.config import Config
from auditkit.testing import MINIMAL_BUILTINS, build_tiny_bert, read_audit_json, run_audit, run_cli, sentiment_frame

# the host, the loaders and the JSON report: what these tests exercise, and fast
LEAN_OFF = ("fairness", "privacy", "training", "market", "valuation", "html", "pdf")
LEAN = [arg for name in LEAN_OFF for arg in ("-p", f"no:{name}")]


# ------------------------------------------------------------------ built-in handles


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("handle") / "model", seed=4)


def _hf_config(**model: object) -> Config:
    from auditkit.plugins.loaders.transformers_model import auditkit_config_schema

    return Config(
        values={"model": {**auditkit_config_schema().defaults(), **model}, "data": {"text": "text", "positive": ""}}
    )


def _reference_proba(model_dir: Path, texts: list[str], max_length: int) -> np.ndarray:
    """The model's own forward, one text at a time (no batching, no padding, no cache)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = []
    with torch.inference_mode():
        for text in texts:
            encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
            rows.append(torch.softmax(model(**encoded).logits[0].double(), dim=-1).numpy())
    return np.stack(rows)


@pytest.mark.parametrize("packed", [True, False], ids=["direct-packed", "transformers-forward"])
def test_transformers_handle_keeps_the_contract(tiny_dir: Path, packed: bool) -> None:
    from auditkit.plugins.loaders.hf.loading import load_handle

    config = _hf_config(packed=packed, max_length=64)
    handle = load_handle(tiny_dir, config)
    handle.progress = False
    assert isinstance(handle, ModelHandle)
    assert handle.timings() == InferenceTimings(0.0, 0.0)  # nothing predicted yet

    frame = sentiment_frame(n=12, seed=2)
    predictions = handle.predict(frame, config)
    assert handle.inference_path.startswith("packed") == packed
    expected = _reference_proba(tiny_dir, frame["text"].tolist(), 64)
    np.testing.assert_allclose(predictions.proba, expected, atol=1e-5, rtol=0)
    labels = list(handle.info.labels)
    assert list(predictions.labels) == [labels[i] for i in expected.argmax(axis=1)]
    np.testing.assert_allclose(predictions.scores, expected[:, 1], atol=1e-5, rtol=0)

    key = handle.cache_key()
    assert isinstance(key, str) and handle.info.sha256 in key and key.endswith("|64")
    caches = handle.caches()
    assert isinstance(caches, HandleCaches) and caches.logits is handle.logit_cache
    assert len(caches.logits.rows) == frame["text"].nunique()
    spent = handle.timings()
    assert spent.wall_seconds > 0 and spent.cpu_seconds > 0
    handle.predict(frame, config)  # every text is in the logit cache: no model call, no time
    assert handle.timings() == spent


@pytest.fixture
def vendor_dir(tmp_path: Path) -> Path:
    """Predictions mode: eval.csv and a shuffled preds.csv joined on ``applicant``."""
    rng = np.random.default_rng(7)
    n = 60
    frame = pd.DataFrame(
        {
            "applicant": np.arange(n),
            "risk": rng.uniform(0, 10, n).round(2),
            "outcome": rng.integers(0, 2, n),
            "race": rng.choice(["a", "b"], n),
        }
    )
    model_dir = tmp_path / "vendor"
    model_dir.mkdir()
    frame.drop(columns=["risk"]).to_csv(model_dir / "eval.csv", index=False)
    frame[["applicant", "risk"]].sample(frac=1, random_state=1).to_csv(model_dir / "preds.csv", index=False)
    (model_dir / "auditkit.toml").write_text(
        '[data]\npath = "eval.csv"\nlabel = "outcome"\nsensitive = ["race"]\n'
        '[predictions]\nfile = "preds.csv"\nscore = "risk"\nthreshold = 5.0\nid = "applicant"\n'
    )
    frame.to_csv(tmp_path / "truth.csv", index=False)
    return model_dir


def test_predictions_handle_keeps_the_contract(vendor_dir: Path, tmp_path: Path) -> None:
    run = run_audit(vendor_dir, tmp_path / "out", builtins=MINIMAL_BUILTINS)
    assert run.error is None, run.error
    handle = run.audit.handle
    assert isinstance(handle, ModelHandle)
    assert handle.caches() is None  # the file is read as fast as a cache: nothing is cached
    assert run.audit.cache_dir is None
    assert "predictions" in handle.cache_key() and handle.info.sha256 in handle.cache_key()
    truth = pd.read_csv(tmp_path / "truth.csv")
    predictions = handle.predict(run.audit.frame, run.audit.config)
    np.testing.assert_array_equal(predictions.scores, truth["risk"].to_numpy())
    assert list(predictions.labels) == list(np.where(truth["risk"] >= 5, "1", "0"))


# ------------------------------------------------------------------ a third-party handle

MINIMAL_LOADER = """
import numpy as np
from auditkit import ModelInfo, Predictions, hookimpl

CALLS = []


class MinimalHandle:
    # only what auditkit.ModelHandle requires: no caches(), no timings()
    def __init__(self, info):
        self.info = info

    def predict(self, frame, config):
        CALLS.append(len(frame))
        text = frame[config.section("data")["text"]].astype(str)
        positive = text.str.contains("good|great|nice|kind|happy").to_numpy()
        labels = np.asarray(self.info.labels, dtype=object)[positive.astype(int)]
        return Predictions(labels=labels, classes=list(self.info.labels))

    def cache_key(self):
        return "minimal-rule-v1"


@hookimpl(tryfirst=True)
def auditkit_load_model(model_dir, config):
    if not (model_dir / "rule.txt").is_file():
        return None
    return MinimalHandle(ModelInfo(name=model_dir.name, path=str(model_dir), task="sequence-classification",
                                   labels=["negative", "positive"], loader="keyword-rule", sha256="0" * 64))
"""

BAD_LOADER = """
from auditkit import hookimpl


class OldHandle:  # written before cache_key() was required, with a name for info
    info = "rule-model"

    def predict(self, frame, config):
        raise AssertionError("never called")


@hookimpl(tryfirst=True)
def auditkit_load_model(model_dir, config):
    return OldHandle()
"""


def _plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> str:
    folder = tmp_path / "plugin-src"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


@pytest.fixture
def rule_dir(tmp_path: Path) -> Path:
    """A model dir no built-in loader knows: a keyword rule, no weights."""
    model_dir = tmp_path / "rule-model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    (model_dir / "rule.txt").write_text("positive when a text holds a kind word\n")
    sentiment_frame(n=40, seed=3).to_csv(model_dir / "eval.csv", index=False)
    (model_dir / "auditkit.toml").write_text('[data]\npath = "eval.csv"\nsensitive = ["group"]\n')
    return model_dir


def test_a_minimal_third_party_handle_audits_through_the_cli(
    rule_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _plugin_module(tmp_path, monkeypatch, "ak_minimal_loader", MINIMAL_LOADER)
    out = tmp_path / "out"
    for source in ("model", "cache"):  # the default caches(): the second run's predictions are cached
        result = run_cli(["run", rule_dir, "-p", name, "--out", out, "--format", "json", *LEAN])
        assert result.exit_code in (0, 1), result.stderr
        audit = read_audit_json(out / "rule-model" / "audit.json")
        assert audit["model"]["loader"] == "keyword-rule"
        assert audit["predictions"]["source"] == source and audit["predictions"]["rows"] == 40
        assert "inference" not in audit["timings"]  # no timings(): none reported
    assert sys.modules[name].CALLS == [40]

    run = run_audit(rule_dir, tmp_path / "again", plugins=[(name, sys.modules[name])], builtins=MINIMAL_BUILTINS)
    assert run.error is None, run.error
    texts = pd.read_csv(rule_dir / "eval.csv")["text"]
    kind = ("good", "great", "nice", "kind", "happy")
    expected = ["positive" if any(word in text for word in kind) else "negative" for text in texts]
    assert list(run.audit.predictions.labels) == expected


def test_a_loader_returning_no_handle_is_a_plugin_error_naming_it(
    rule_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _plugin_module(tmp_path, monkeypatch, "ak_bad_loader", BAD_LOADER)
    result = run_cli(["run", rule_dir, "-p", name, "--out", tmp_path / "out", "--format", "json", *LEAN])
    assert result.exit_code == 3, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert f"plugin {name!r} returned OldHandle from auditkit_load_model, which is not a model handle" in line
    assert "(info is str, not auditkit.ModelInfo; no cache_key() method)" in line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "rule-model" / "audit.json").exists()


# ------------------------------------------------------------------ predictions read through the hook

PSV_LOADER = """
import pandas as pd
from auditkit import hookimpl


@hookimpl
def auditkit_load_data(spec, config):
    if not spec["path"].endswith(".psv"):
        return None
    return pd.read_csv(spec["path"], sep="|")
"""


def test_predictions_file_goes_through_the_data_hook(
    vendor_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _plugin_module(tmp_path, monkeypatch, "ak_psv_loader", PSV_LOADER)
    # the scores in a format only the third-party loader reads
    preds = pd.read_csv(vendor_dir / "preds.csv")
    preds.to_csv(vendor_dir / "preds.psv", sep="|", index=False)
    toml = vendor_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('file = "preds.csv"', 'file = "preds.psv"'))
    run = run_audit(vendor_dir, tmp_path / "out", plugins=[(name, sys.modules.get(name) or __import__(name))])
    assert run.error is None, run.error
    truth = pd.read_csv(tmp_path / "truth.csv")
    np.testing.assert_array_equal(run.audit.predictions.scores, truth["risk"].to_numpy())

    # evaluation data in .psv too, scores in CSV: with tabular disabled nothing reads preds.csv
    pd.read_csv(vendor_dir / "eval.csv").to_csv(vendor_dir / "eval.psv", sep="|", index=False)
    toml.write_text(
        toml.read_text().replace('path = "eval.csv"', 'path = "eval.psv"').replace("preds.psv", "preds.csv")
    )
    args = ["run", vendor_dir, "--out", tmp_path / "out2", "--format", "json", *LEAN]
    result = run_cli([*args, "-p", name, "-p", "no:tabular"])
    assert result.exit_code == 2, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert "preds.csv: no enabled data loader reads this file" in line and "-p no:tabular" in line
    assert "Traceback" not in result.stderr
    assert run_cli([*args, "-p", name]).exit_code in (0, 1)  # tabular enabled: it reads preds.csv


def test_no_tabular_in_predictions_mode_is_one_line(vendor_dir: Path, tmp_path: Path) -> None:
    result = run_cli(["run", vendor_dir, "--out", tmp_path / "out", "--format", "json", "-p", "no:tabular", *LEAN])
    assert result.exit_code == 2, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error" in line]
    assert "eval.csv: no enabled data loader reads this file" in line
    assert "Traceback" not in result.stderr
