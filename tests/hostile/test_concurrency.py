"""Two ``auditkit run`` processes on one output folder: each model folder ends with one run's set.

Each run writes into its own staging folder (named after its process) and moves the
files into place under the folder's lock file, so the commits of two runs never interleave.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditkit.outputs import out_lock

HOLD_LOCK = """
import sys, time
from pathlib import Path
from auditkit.outputs import out_lock

out, log = Path(sys.argv[1]), Path(sys.argv[2])
with out_lock(out):
    with open(log, "a") as handle:
        handle.write("A-start\\n")
    time.sleep(1.5)
    with open(log, "a") as handle:
        handle.write("A-end\\n")
"""


def test_lock_excludes_another_process(tmp_path: Path) -> None:
    """Ordering, not timing: B, waiting for the lock, can only write after A's end."""
    log = tmp_path / "log"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp_path), str(log)])
    deadline = time.monotonic() + 60
    while not (log.exists() and "A-start" in log.read_text()):
        assert holder.poll() is None and time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.02)
    with out_lock(tmp_path), open(log, "a") as handle:
        handle.write("B\n")
    assert holder.wait(timeout=60) == 0
    assert log.read_text().split() == ["A-start", "A-end", "B"]


HOLD_DURING_COMMIT = """
import sys, time
from pathlib import Path
from auditkit.outputs import out_lock

out, log = Path(sys.argv[1]), Path(sys.argv[2])
with out_lock(out):
    log.write_text("holding\\n")
    deadline = time.time() + 300
    done = lambda: list(out.glob(".staging-*/tox-v3/audit.json")) or (out / "tox-v3" / "audit.json").exists()
    while not done() and time.time() < deadline:
        time.sleep(0.02)  # until the run has rendered and wants to commit (or, unlocked, has)
    time.sleep(1.0)
    committed = (out / "tox-v3" / "audit.json").exists()
    log.write_text(f"holding\\ncommitted during hold: {committed}\\n")
"""


@pytest.mark.slow
def test_run_commits_only_under_the_lock(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Another process holds the lock: the run renders, then waits to move its files in."""
    from auditkit.testing import MINIMAL_BUILTINS, run_audit

    out, log = tmp_path / "out", tmp_path / "log"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_DURING_COMMIT, str(out), str(log)])
    deadline = time.monotonic() + 60
    while not log.exists():
        assert holder.poll() is None and time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.02)
    run = run_audit(tiny_model_dir, out, builtins=MINIMAL_BUILTINS)
    assert holder.wait(timeout=60) == 0
    assert "committed during hold: False" in log.read_text()
    assert run.files["audit.json"].is_file()


# Both runs wait for each other at render time, so that they commit at the same moment;
# the stamp file says which run wrote the set it belongs to.
BARRIER_PLUGIN = """
import os, time
from pathlib import Path
from auditkit import hookimpl


@hookimpl(tryfirst=True)
def auditkit_render(audit, out_dir, formats):
    stamp = out_dir / "stamp.txt"
    stamp.write_text(audit.report_id)
    barrier = Path(os.environ["AK_BARRIER"])
    barrier.mkdir(exist_ok=True)
    (barrier / str(os.getpid())).touch()
    deadline = time.time() + 120
    while len(list(barrier.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.02)
    return [stamp]
"""


@pytest.mark.slow
def test_two_runs_on_one_output_folder(tiny_model_dir: Path, tmp_path: Path, lean_flags) -> None:
    out = tmp_path / "out"
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "ak_barrier.py").write_text(BARRIER_PLUGIN)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "plugins"), "AK_BARRIER": str(tmp_path / "barrier")}
    cli = "import sys; from auditkit.cli import main; sys.exit(main())"
    args = ["run", str(tiny_model_dir), "--out", str(out), "-p", "ak_barrier", "--format", "json,md,html", "-q"]
    args += lean_flags
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", cli, *args, "--set", f"data.max_rows={rows}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rows in (40, 60)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (_, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode in (0, 1), stderr
        assert "Traceback" not in stderr
    assert len(list((tmp_path / "barrier").iterdir())) == 2, "both runs reached the commit together"

    folder = out / "tox-v3"
    audit = json.loads((folder / "audit.json").read_text())  # whole, valid JSON
    assert (folder / "stamp.txt").read_text() == audit["report_id"], "the files come from one run"
    assert audit["dataset"]["rows"] in (40, 60)
    assert not list(out.glob(".staging-*")), "each run removes its own staging folder"
    assert not list(folder.glob(".*.tmp"))
