"""The hostile corpus: crafted model dirs and data files, built by fixtures per test.

Every builder starts from a real tiny model dir (``tiny_model_dir``: BERT + eval.csv +
auditkit.toml) and damages one thing, so a test proves exactly one promise of
docs/security.md. Nothing here is shipped: each file is built fresh under ``tmp_path``.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditkit.testing import CliResult, read_audit_json, run_cli


class Exploit:
    """Unpickling this creates ``marker``: if the marker exists, auditkit unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@dataclass
class Outcome:
    """One ``auditkit run`` of a hostile dir: what it returned and where it wrote."""

    result: CliResult
    out: Path
    name: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.result.stderr.splitlines() if line.startswith("auditkit: error:")]

    def usage_error(self, *needles: str) -> str:
        """Exit 2, exactly one error line naming ``needles``, no traceback, nothing written."""
        assert self.result.exit_code == 2, (self.result.exit_code, self.result.stderr)
        assert len(self.error_lines) == 1, self.result.stderr
        assert "Traceback" not in self.result.stderr + self.result.stdout
        for needle in needles:
            assert needle in self.error_lines[0], self.error_lines[0]
        assert not list(self.out.glob("*/audit.json")), "a refused model dir must leave no report"
        assert not list(self.out.glob(".staging-*")), "no staging folder may be left behind"
        return self.error_lines[0]

    def audit(self) -> dict[str, Any]:
        """The run completed: audit.json exists and no plugin failed on this input."""
        assert self.result.exit_code in (0, 1), self.result.stderr
        assert "Traceback" not in self.result.stderr
        audit = read_audit_json(self.out / self.name / "audit.json")
        errors = [f for f in audit["findings"] if f["severity"] == "error"]
        assert not errors, errors
        return audit


@pytest.fixture
def audit_run(tmp_path: Path):
    """``audit_run(model_dir, *flags)`` → Outcome of the real CLI (json format unless given)."""

    def run(model_dir: Path, *extra: str, formats: str = "json") -> Outcome:
        out = tmp_path / "out"
        result = run_cli(["run", model_dir, "--out", out, "--format", formats, *extra])
        return Outcome(result, out, model_dir.name)

    return run


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the model dir, standing for the reviewer's own files."""
    path = tmp_path / "reviewer-files"
    path.mkdir()
    return path


# ------------------------------------------------------------------ file builders


def write_pickle(path: Path, marker: Path, zip_format: bool) -> Path:
    """A pickle that creates ``marker`` when loaded: legacy pickle or torch's zip format."""
    payload = {"bert.embeddings.word_embeddings.weight": Exploit(marker)}
    if zip_format:
        import torch

        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle)
    return path


def read_safetensors(path: Path) -> tuple[dict[str, Any], bytes]:
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def write_safetensors(path: Path, header: Any, body: bytes, claimed: int | None = None) -> None:
    """A safetensors file from a header and a body; ``claimed`` overrides the length prefix."""
    blob = header if isinstance(header, bytes) else json.dumps(header).encode()
    length = len(blob) if claimed is None else claimed
    path.write_bytes(length.to_bytes(8, "little") + blob + body)


def tensor_names(header: dict[str, Any]) -> list[str]:
    return [name for name in header if name != "__metadata__"]


@pytest.fixture
def corpus():
    """The file builders, for tests that craft their own variation."""
    return _Corpus()


class _Corpus:
    Exploit = Exploit
    write_pickle = staticmethod(write_pickle)
    read_safetensors = staticmethod(read_safetensors)
    write_safetensors = staticmethod(write_safetensors)
    tensor_names = staticmethod(tensor_names)


@pytest.fixture
def scores_dir(tmp_path: Path):
    """``scores_dir(frame)`` → a predictions-mode dir: the frame as scores.csv, audited by score."""

    def build(frame: Any, name: str = "vendor-score", threshold: float = 0.5) -> Path:
        path = tmp_path / name
        path.mkdir()
        frame.to_csv(path / "scores.csv", index=False)
        (path / "auditkit.toml").write_text(
            '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["group"]\n\n'
            f'[predictions]\nfile = "scores.csv"\nscore = "score"\nthreshold = {threshold}\n',
            encoding="utf-8",
        )
        return path

    return build


def score_frame(n: int = 200, seed: int = 0) -> Any:
    """Vendor scores in [0, 1], a binary outcome and a group column."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    score = rng.random(n).round(4)
    return pd.DataFrame(
        {"score": score, "outcome": (rng.random(n) < score).astype(int), "group": rng.choice(["a", "b"], n)}
    )


@pytest.fixture
def scores_frame():
    return score_frame


# Built-ins that read files, load the model, write reports or judge policy: what the
# fault tests (signals, locks, full disks) exercise. The domain plugins (fairness,
# privacy, training, market, valuation) are left out there to keep those runs short.
HOST_AND_RENDERERS = {"core", "tabular", "transformers", "predictions", "policy", "json", "markdown", "html", "pdf"}


@pytest.fixture
def lean_flags() -> list[str]:
    """``-p no:NAME`` for every built-in outside HOST_AND_RENDERERS."""
    from auditkit.manager import BUILTIN_PLUGINS

    return [arg for name, _ in BUILTIN_PLUGINS if name not in HOST_AND_RENDERERS for arg in ("-p", f"no:{name}")]
