"""Interrupting a run mid-prediction: earlier reports intact, nothing half-written, and resume.

A real ``auditkit run`` subprocess predicts 3,072 rows in chunks of 1,024; once the first
chunk is saved in the prediction cache it receives SIGINT, SIGTERM or SIGKILL. Then:
the reports of an earlier run are byte-identical, no staging folder or temporary file is
left (SIGKILL's leftovers are removed by the next run), and the next run predicts only
the rows the interrupted one had not finished.

So that the signal surely lands while predicting (on any machine), the subprocess loads
a test plugin (``-p``) that wraps the real transformers handle and waits a second before
each chunk; the resumed run, in-process, uses the plain handle.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from auditkit import cache
from auditkit.testing import run_cli, sentiment_frame, write_model_dir

ROWS = 3 * cache.CHUNK_ROWS


SLOW_PLUGIN = """
import time
from auditkit import hookimpl


class SlowHandle:
    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def predict(self, frame, config):
        time.sleep(1.0)
        return self.inner.predict(frame, config)


@hookimpl(tryfirst=True)
def auditkit_load_model(model_dir, config):
    if not (model_dir / "config.json").is_file():
        return None
    from auditkit.plugins.loaders.hf.loading import load_handle

    return SlowHandle(load_handle(model_dir, config))
"""


@pytest.fixture
def slow_model(tmp_path: Path) -> Path:
    frame = sentiment_frame(n=ROWS, seed=1)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "ak_slow_predict.py").write_text(SLOW_PLUGIN)
    return write_model_dir(tmp_path / "tox-v3", frame=frame)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _leftovers(out: Path) -> list[Path]:
    return list(out.glob(".staging-*")) + list(out.rglob(f"{cache.TMP_PREFIX}*")) + list(out.rglob(".*.tmp"))


def _wait_for_first_chunk(proc: subprocess.Popen, out: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # a finished chunk, not the temporary file it is written to first (pathlib's * matches
        # dotfiles: killed while that was half-written, the run would have saved nothing)
        if [p for p in out.glob(".cache/predictions/*.parts/*.npz") if not p.name.startswith(cache.TMP_PREFIX)]:
            return
        if proc.poll() is not None:
            pytest.fail(f"auditkit ended before the first chunk was saved: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no chunk saved in time")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_interrupt_mid_prediction_then_resume(
    slow_model: Path, tmp_path: Path, monkeypatch, signum, lean_flags
) -> None:
    out = tmp_path / "out"
    formats = ["--format", "json,md,html", *lean_flags]
    earlier = run_cli(["run", slow_model, "--out", out, *formats, "--set", "data.max_rows=30"])
    assert (out / "tox-v3" / "audit.json").is_file(), earlier.stderr
    before = _snapshot(out / "tox-v3")

    cli = "import sys; from auditkit.cli import main; sys.exit(main())"
    args = ["run", str(slow_model), "--out", str(out), *formats, "-p", "ak_slow_predict"]
    proc = subprocess.Popen(
        [sys.executable, "-c", cli, *args],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "plugins")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_first_chunk(proc, out)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)

    if signum == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, stderr
        assert "interrupted; reports already written are intact" in stderr
        assert "Traceback" not in stderr
        assert not _leftovers(out), "an interrupted run must clean up after itself"
    assert _snapshot(out / "tox-v3") == before, "the earlier reports must be untouched"
    (parts,) = out.glob(".cache/predictions/*.parts")
    entry = parts.with_suffix(".npz")
    saved = cache.saved_rows(entry, ROWS)
    assert 0 < saved < ROWS

    # the next run: cleans what a killed run left, predicts only the missing rows
    from auditkit.plugins.loaders.hf.handle import TransformersHandle

    predicted: list[int] = []
    original = TransformersHandle.predict

    def counting(self, frame, config):
        predicted.append(len(frame))
        return original(self, frame, config)

    monkeypatch.setattr(TransformersHandle, "predict", counting)
    resumed = run_cli(["run", slow_model, "--out", out, "--format", "json", *lean_flags])
    assert f"resuming: {saved} of {ROWS} rows already predicted (cache)" in resumed.stderr
    assert sum(predicted) == ROWS - saved
    assert not _leftovers(out)
    assert not parts.exists(), "chunks are merged once complete"
    merged = cache.load(entry)
    assert merged is not None and len(merged.labels) == ROWS

    # resumed predictions are the model's: compare with one uninterrupted pass
    from auditkit.plugins.loaders.hf.loading import load_handle

    from auditkit.manager import get_plugin_manager
    from auditkit.runner import Runner, RunOptions

    handle = load_handle(slow_model, Runner(get_plugin_manager(), RunOptions()).load_config(slow_model))
    texts = sentiment_frame(n=ROWS, seed=1)["text"]
    rows = np.r_[0:50, cache.CHUNK_ROWS - 25 : cache.CHUNK_ROWS + 25, ROWS - 50 : ROWS]  # across chunk edges
    np.testing.assert_allclose(merged.proba[rows], handle.predict_proba(texts.iloc[rows].tolist()), atol=1e-5)
