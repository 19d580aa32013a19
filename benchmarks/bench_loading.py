"""Loading: a model dir to its first prediction, auditkit's direct path against transformers.

Each run is a fresh process (warm file cache), as ``auditkit run`` starts one, that loads a
MiniLM classifier dir (built as in bench_inference.py) and predicts one text:

- auditkit now: ``load_handle`` takes a plain BERT classifier straight from
  model.safetensors and tokenizer.json (plugins/loaders/hf/direct.py), transformers never imported;
- auditkit through transformers: the same handle with the direct path switched off, so the
  model and tokenizer load with ``from_pretrained`` (what every other dir does);
- what a user writes: ``AutoTokenizer`` / ``AutoModelForSequenceClassification``
  ``.from_pretrained`` and one forward.

All three print their logits; the script checks they agree (1e-5) before timing.

    python benchmarks/bench_loading.py
    python benchmarks/bench_loading.py --runs 9
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench
from bench_inference import build_model

TEXT = "a first text to predict, of an ordinary length"
AUDITKIT = """
import json, sys
from pathlib import Path
from auditkit.config import Config
from auditkit.plugins.loaders.hf import direct, loading
from auditkit.plugins.loaders.transformers_model import auditkit_config_schema
if sys.argv[2] == "off":
    direct.plan = lambda *a, **k: (None, "switched off by the benchmark")
handle = loading.load_handle(Path(sys.argv[1]), Config(values={"model": auditkit_config_schema().defaults()}))
handle.progress = False
logits = handle.logits([sys.argv[3]])
print(json.dumps({"logits": logits[0].tolist(), "transformers": "transformers" in sys.modules,
                  "path": handle.inference_path}))
"""
TRANSFORMERS = """
import json, sys, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(sys.argv[1])
model = AutoModelForSequenceClassification.from_pretrained(sys.argv[1]).eval()
with torch.inference_mode():
    logits = model(**tokenizer([sys.argv[3]], return_tensors="pt")).logits
print(json.dumps({"logits": logits[0].tolist(), "transformers": True, "path": "from_pretrained"}))
"""


def run(code: str, model: Path, mode: str) -> dict:
    env_code = "import os; os.environ['HF_HUB_OFFLINE'] = '1'\n" + code
    proc = subprocess.run([sys.executable, "-c", env_code, str(model), mode, TEXT],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print(_bench.environment(("torch", "transformers", "tokenizers", "safetensors")))
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(Path(tmp) / "minilm-classifier")
        cases = [
            ("what a user writes: from_pretrained + forward", TRANSFORMERS, "-"),
            ("auditkit through transformers (direct path off)", AUDITKIT, "off"),
            ("auditkit now: direct from safetensors + tokenizers", AUDITKIT, "on"),
        ]
        answers = {name: run(code, model, mode) for name, code, mode in cases}  # also warms the file cache
        reference = answers[cases[0][0]]["logits"]
        for name, answer in answers.items():
            worst = max(abs(a - b) for a, b in zip(answer["logits"], reference, strict=True))
            if worst > 1e-5:
                raise SystemExit(f"{name}: logits differ from from_pretrained's by {worst:.1e}")
        print(f"\nlogits agree to 1e-5; the direct run imported transformers: "
              f"{answers[cases[2][0]]['transformers']} ({answers[cases[2][0]]['path']})")
        print("\nwall seconds of a fresh process: imports, load, one prediction\n")
        table = _bench.Table(width=56)
        base = None
        for name, code, mode in cases:
            med = table.row(name, _bench.timed(lambda code=code, mode=mode: run(code, model, mode), args.runs), base)
            base = base or med
    print("\nratio = from_pretrained median / this median.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
