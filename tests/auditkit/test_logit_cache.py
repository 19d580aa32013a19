"""The logit cache: every text the model saw, so an unchanged re-run runs no model at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from auditkit.logit_cache import LogitCache, text_digest
from auditkit.testing import read_audit_json, run_cli

TEXTS = ["plain", "ünïcödé ✓", "", "trailing nul\x00", "a" * 5000]


def test_round_trip_keeps_every_text_exactly(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    cache = LogitCache(path)
    logits = np.arange(10, dtype=np.float64).reshape(5, 2) / 7
    cache.add(TEXTS, logits)
    assert cache.save()
    again = LogitCache(path)
    out = np.zeros((6, 2))
    todo = again.fill([*TEXTS, "unseen"], out)
    assert todo == [5]
    np.testing.assert_array_equal(out[:5], logits)


def test_lookup_names_the_missing_texts_by_their_digest() -> None:
    cache = LogitCache()
    cache.add(["seen"], np.full((1, 2), 3.0))
    out = np.zeros((3, 2))
    todo, digests = cache.lookup(["new", "seen", "other"], out)
    assert todo == [0, 2]
    assert digests == [text_digest("new"), text_digest("other")]
    np.testing.assert_array_equal(out[1], [3.0, 3.0])
    cache.add_digests(digests, np.ones((2, 2)))
    assert cache.fill(["new", "other"], np.zeros((2, 2))) == []


def test_file_keeps_only_the_texts_a_run_used(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    first = LogitCache(path)
    first.add(["old", "kept"], np.ones((2, 2)))
    first.save()
    second = LogitCache(path)
    second.fill(["kept"], np.zeros((1, 2)))
    second.add(["new"], np.zeros((1, 2)))
    second.save()
    assert set(LogitCache(path).rows) == {text_digest("kept"), text_digest("new")}


def test_the_file_holds_no_text(tmp_path: Path) -> None:
    """Evaluation texts may be personal data: only their SHA-256 reaches the disk."""
    import zipfile

    path = tmp_path / "c.npz"
    cache = LogitCache(path)
    secret = "Call Jane Roe on +44 20 7946 0958"
    cache.add([secret], np.ones((1, 2)))
    cache.save()
    with zipfile.ZipFile(path) as archive:
        raw = b"".join(archive.read(name) for name in archive.namelist())
    assert b"Jane" not in raw and "Jane".encode("utf-32-le") not in raw
    assert text_digest(secret) in raw


def test_unreadable_or_mismatched_entries_are_misses(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    path.write_bytes(b"not a zip")
    assert LogitCache(path).rows == {}
    cache = LogitCache(path)
    cache.add(["x"], np.ones((1, 3)))  # three classes
    assert cache.fill(["x"], np.zeros((1, 2))) == [0]  # a model with two: recomputed


def test_unchanged_rerun_runs_the_model_on_nothing(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from auditkit.plugins.loaders.hf import loading
    from auditkit.plugins.loaders.hf.handle import TransformersHandle

    seen: list[int] = []
    builds: list[Path] = []
    build, load_direct = loading._build_model, loading.direct.load
    monkeypatch.setattr(loading, "_build_model", lambda path, *a: builds.append(path) or build(path, *a))
    # a plain BERT dir loads straight from its files (plugins/loaders/hf/direct.py), not through _build_model
    monkeypatch.setattr(loading.direct, "load", lambda plan: builds.append(plan.weights) or load_direct(plan))
    original = TransformersHandle._model_logits

    def counting(self, texts):
        seen.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(TransformersHandle, "_model_logits", counting)
    out = tmp_path / "out"
    result = run_cli(["run", tiny_model_dir, "--out", out, "--format", "json"])
    assert result.exit_code in (0, 1), result.stderr
    first = read_audit_json(out / "tox-v3" / "audit.json")
    assert sum(seen) >= 120 and first["timings"]["inference"] > 0 and first["timings"]["inference_cpu"] > 0
    timings = first["timings"]  # the evaluation rows' model calls are part of the predict phase and of all
    assert 0 < timings["predict_inference"] <= min(timings["predict"], timings["inference"])
    assert len(builds) == 1
    seen.clear()
    assert run_cli(["run", tiny_model_dir, "--out", out, "--format", "json"]).exit_code == result.exit_code
    second = read_audit_json(out / "tox-v3" / "audit.json")
    assert seen == [] and second["timings"]["inference"] == 0 == second["timings"]["inference_cpu"]
    assert second["timings"]["predict_inference"] == 0
    assert len(builds) == 1, "the re-run must not even load the weights"
    assert second["predictions"] | {"seconds": 0} == first["predictions"] | {"source": "cache", "seconds": 0}
    assert second["sections"] == first["sections"]
