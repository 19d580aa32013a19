"""Test kit for auditkit and its plugin authors: tiny real models and evaluation data.

Use it as a pytest plugin (``pytest_plugins = ["auditkit.testing"]``) or call the
builders directly. Everything here is real: a randomly initialised BERT saved with
``save_pretrained`` (safetensors) and a fast WordPiece tokenizer, built in about a second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Small vocabulary: special tokens, letters (so any lowercase word tokenises), and words
# the test frames use. WordPiece falls back to letters with ## continuation pieces.
_WORDS = (
    "the a an is are was he she they him her his hers them their man woman men women "
    "person people friend doctor nurse teacher good bad great awful nice terrible love "
    "hate kind rude happy sad movie film book food day night this that it not very "
    "and or but with for to of in on at i you we my your our me us gay straight muslim "
    "christian jewish black white asian old young".split()
)


def tiny_vocab() -> list[str]:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789.,!?'-")
    pieces = ["##" + c for c in letters]
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *pieces, *_WORDS]


def build_tiny_bert(
    path: str | Path,
    task: str = "sequence-classification",
    labels: Sequence[str] = ("negative", "positive"),
    seed: int = 0,
    hidden_size: int = 32,
    num_layers: int = 2,
    extra_config: dict[str, Any] | None = None,
) -> Path:
    """Save a random 2-layer BERT for ``task`` with its tokenizer into ``path``.

    ``task`` is ``sequence-classification`` or ``token-classification``.
    """
    import torch
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertTokenizerFast,
    )

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = tiny_vocab()
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=128,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **(extra_config or {}),
    )
    torch.manual_seed(seed)
    cls = BertForSequenceClassification if task == "sequence-classification" else BertForTokenClassification
    if task not in ("sequence-classification", "token-classification"):
        raise ValueError(f"unknown task {task!r}")
    model = cls(config)
    model.eval()
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def sentiment_frame(n: int = 120, seed: int = 0, groups: Sequence[str] = ("a", "b", "c")) -> Any:
    """A small labelled text frame with a sensitive column ``group`` and ``gender``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    good = ["good", "great", "nice", "kind", "happy"]
    bad = ["bad", "awful", "terrible", "rude", "sad"]
    subjects = {"female": ["she", "the woman", "her friend"], "male": ["he", "the man", "his friend"]}
    rows = []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        gender = str(rng.choice(list(subjects)))
        subject = str(rng.choice(subjects[gender]))
        word = str(rng.choice(good if label else bad))
        rows.append(
            {
                "text": f"{subject} was very {word} in the movie",
                "label": label,
                "group": str(rng.choice(list(groups))),
                "gender": gender,
            }
        )
    return pd.DataFrame(rows)


def write_model_dir(
    path: str | Path,
    frame: Any = None,
    task: str = "sequence-classification",
    labels: Sequence[str] = ("negative", "positive"),
    sensitive: Sequence[str] = ("group",),
    config: dict[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """A complete audit-ready model dir: tiny BERT, ``eval.csv`` and ``auditkit.toml``."""
    from auditkit.config import toml_key, toml_value

    path = build_tiny_bert(path, task=task, labels=labels, seed=seed)
    frame = sentiment_frame(seed=seed) if frame is None else frame
    frame.to_csv(path / "eval.csv", index=False)
    sections: dict[str, dict[str, Any]] = {
        "data": {"path": "eval.csv", "text": "text", "label": "label", "sensitive": list(sensitive)}
    }
    for name, body in (config or {}).items():
        sections.setdefault(name, {}).update(body)
    lines = []
    for name, body in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in body.items())
        lines.append("")
    (path / "auditkit.toml").write_text("\n".join(lines), encoding="utf-8")
    return path


def read_audit_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------
# running auditkit in-process
# --------------------------------------------------------------------------------------


@dataclass
class CliResult:
    """What one in-process ``auditkit`` invocation returned and printed."""

    exit_code: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str]) -> CliResult:
    """Run the real command line in this process (same code path as the console script)."""
    import contextlib
    import io

    from auditkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return CliResult(int(code), out.getvalue(), err.getvalue())


@dataclass
class AuditRun:
    """An in-process audit: the Audit object, the files written and the exit code."""

    audit: Any
    files: dict[str, Path]
    exit_code: int
    error: str | None


def run_audit(
    model_dir: str | Path,
    out: str | Path,
    plugins: Sequence[tuple[str, Any]] = (),
    disabled: Sequence[str] = (),
    formats: Sequence[str] = ("json",),
    settings: dict[str, Any] | None = None,
    autoload: bool = False,
) -> AuditRun:
    """Audit one model dir with the built-ins plus ``plugins`` (name, module or object)."""
    from auditkit.manager import get_plugin_manager
    from auditkit.runner import Runner, RunOptions

    pm = get_plugin_manager(disabled=disabled, extra_plugins=plugins, autoload=autoload)
    options = RunOptions(out=Path(out), formats=list(formats), settings=settings or {}, quiet=True)
    (result,) = Runner(pm, options).run([Path(model_dir)])
    return AuditRun(result.audit, {p.name: p for p in result.files}, int(result.exit_code), result.error)


try:  # the pytest fixtures, when pytest is there (``pytest_plugins = ["auditkit.testing"]``)
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def tiny_model_template(tmp_path_factory: Any) -> Path:
        """A tiny sequence-classification model dir with eval.csv and auditkit.toml (built once)."""
        return write_model_dir(tmp_path_factory.mktemp("template") / "tiny-model", sensitive=("group", "gender"))

    @pytest.fixture
    def tiny_model_dir(tmp_path: Path, tiny_model_template: Path) -> Path:
        """A fresh copy of the tiny model dir, free for the test to change."""
        import shutil

        return Path(shutil.copytree(tiny_model_template, tmp_path / "tox-v3"))

    @pytest.fixture
    def auditkit_cli() -> Any:
        """``auditkit_cli("run", dir, "--out", out)`` → CliResult, in-process."""
        return lambda *args: run_cli(args)
