"""``auditkit run --jobs N`` and ``--executor``: models audited in other processes, on a local
pool, a Dask cluster, or a third-party executor, give the same reports as one after another
in this process, and no model is ever lost with its worker.

Every model here is a predictions-mode dir (a scores.csv and an auditkit.toml) audited with
the domain plugins that need no model left out, so an audit takes a second or two.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.testing import run_cli

LEAN = ["-p", "no:privacy", "-p", "no:training", "--format", "json,md,html", "--no-cache"]
EPOCH = "1714564800"  # SOURCE_DATE_EPOCH: runs compare byte for byte
GOOD = ("m1", "m2", "m3")
BROKEN = "m4-broken"  # an auditkit.toml that does not parse: exit 2 naming the model

TOML = (
    '[data]\npath = "scores.csv"\nlabel = "outcome"\nsensitive = ["group"]\n\n'
    '[predictions]\nfile = "scores.csv"\nscore = "score"\nthreshold = 0.5\n'
)


def scores_dir(root: Path, name: str, seed: int, n: int = 200) -> Path:
    """A predictions-mode model dir, as tests/hostile/conftest.py ``scores_dir`` builds one."""
    rng = np.random.default_rng(seed)
    score = rng.random(n).round(4)
    frame = pd.DataFrame(
        {"score": score, "outcome": (rng.random(n) < score).astype(int), "group": rng.choice(["a", "b"], n)}
    )
    path = root / name
    path.mkdir(parents=True)
    frame.to_csv(path / "scores.csv", index=False)
    (path / "auditkit.toml").write_text(TOML, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three good models and one whose config is broken."""
    root = tmp_path_factory.mktemp("fleet") / "runs"
    for seed, name in enumerate(GOOD):
        scores_dir(root, name, seed)
    broken = scores_dir(root, BROKEN, 9)
    (broken / "auditkit.toml").write_text("[data\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def reference(fleet: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The fleet audited one model after another in this process (``--jobs 1``)."""
    out = tmp_path_factory.mktemp("reference") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
        result = run_cli(["run", fleet, "--out", out, "--jobs", "1", *LEAN])
    assert "done on" not in result.stderr  # nothing went to a worker
    return out, result


def report_bytes(out: Path) -> dict[str, bytes]:
    """Every report under ``out`` by relative name (caches and locks left out)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and ".cache" not in p.parts
    }


def error_lines(stderr: str) -> list[str]:
    return sorted(line for line in stderr.splitlines() if line.startswith("auditkit: error:"))


def without_plugins(data: bytes) -> dict:
    """audit.json less its plugin list (a run with one more plugin names it there)."""
    record = json.loads(data)
    record.pop("plugins")
    return record


def assert_same_as_reference(out: Path, result: object, reference: tuple[Path, object], exact: bool = True) -> None:
    ref_out, ref = reference
    expected, got = report_bytes(ref_out), report_bytes(out)
    assert "index.html" in expected and f"{GOOD[0]}/audit.json" in expected
    assert not any(name.startswith(BROKEN) for name in expected)
    if exact:
        assert got == expected
    else:  # the reports name the extra plugin: same files, same audit.json otherwise
        assert sorted(got) == sorted(expected)
        for name in GOOD:
            assert without_plugins(got[f"{name}/audit.json"]) == without_plugins(expected[f"{name}/audit.json"])
    assert result.exit_code == ref.exit_code == 2  # the broken model's usage error decides
    assert result.stdout.replace(str(out), "OUT") == ref.stdout.replace(str(ref_out), "OUT")
    assert error_lines(result.stderr) == error_lines(ref.stderr)
    assert any(f"error: {BROKEN}:" in line for line in error_lines(result.stderr))


# ------------------------------------------------------------------------------ local pool


def test_jobs_two_gives_the_reports_of_jobs_one(fleet: Path, reference, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path / "out"
    result = run_cli(["run", fleet, "--out", out, "--jobs", "2", *LEAN])
    assert_same_as_reference(out, result, reference)
    # the audits ran in worker processes, not here, and every progress line names its model
    workers = {int(pid) for pid in re.findall(r": done on [^:\s]+:(\d+):", result.stderr)}
    assert len(re.findall(r": done on ", result.stderr)) == len(GOOD) + 1
    assert workers and os.getpid() not in workers and len(workers) <= 2
    progress = [line for line in result.stderr.splitlines() if line.startswith("auditkit: [")]
    for index, name in enumerate(GOOD, start=1):  # the broken model stops before loading
        assert f"auditkit: [{index}/4] {name}: loading model" in progress
    assert all(re.match(r"auditkit: \[\d/4\] [\w-]+: ", line) for line in progress)
    assert not list(out.glob(".staging-*"))  # every worker's and the parent's staging folder went


def test_one_model_or_jobs_one_stays_in_this_process(fleet: Path, tmp_path: Path) -> None:
    result = run_cli(["run", fleet / GOOD[0], "--out", tmp_path / "out", *LEAN])
    assert (tmp_path / "out" / GOOD[0] / "audit.json").is_file()
    assert "done on" not in result.stderr


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_bad_jobs_is_a_usage_error(fleet: Path, tmp_path: Path, jobs: str) -> None:
    result = run_cli(["run", fleet, "--out", tmp_path / "out", "--jobs", jobs])
    assert result.exit_code == 2
    assert "--jobs" in result.stderr and "at least 1" in result.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ the hook

EXECUTOR_PLUGIN = '''
from concurrent.futures import Future

from auditkit import hookimpl

CALLS = []


class InlineExecutor:
    """Runs each job right here; its workers "share no files", so reports come back as bytes."""

    shares_files = False

    def __init__(self, lose):
        self.lose = lose
        self.submitted = 0

    def submit(self, fn, *args):
        self.submitted += 1
        future = Future()
        if self.submitted == self.lose:
            future.set_exception(RuntimeError("worker vanished"))
        else:
            future.set_result(fn(*args))
        return future

    def shutdown(self, cancel=False):
        CALLS.append(("shutdown", cancel))


@hookimpl
def auditkit_executor(spec, jobs, progress):
    if not spec.startswith("inline://"):
        return None
    CALLS.append((spec, jobs))
    progress("inline executor ready")
    return InlineExecutor(lose=2 if spec == "inline://lose-second" else 0)
'''


@pytest.fixture
def executor_plugin(tmp_path: Path, monkeypatch) -> object:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "ak_inline_executor.py").write_text(EXECUTOR_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "ak_inline_executor", raising=False)
    import importlib

    return importlib.import_module("ak_inline_executor")


def test_a_third_party_executor_runs_the_audits(fleet, reference, executor_plugin, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path / "out"
    result = run_cli(["run", fleet, "--out", out, "--executor", "inline://", "--jobs", "3", *LEAN,
                      "-p", "ak_inline_executor"])
    assert executor_plugin.CALLS == [("inline://", 3), ("shutdown", False)]
    assert "auditkit: inline executor ready" in result.stderr
    assert_same_as_reference(out, result, reference, exact=False)  # the bytes it returned were committed as ours


def test_a_lost_job_is_reported_naming_its_model(fleet, executor_plugin, tmp_path) -> None:
    out = tmp_path / "out"
    result = run_cli(["run", fleet, "--out", out, "--executor", "inline://lose-second", *LEAN,
                      "-p", "ak_inline_executor"])
    lost = sorted([*GOOD, BROKEN])[1]
    assert result.exit_code == 2  # the broken model's usage error outranks the lost one's plugin error (3)
    assert f"auditkit: error: {lost}: the audit of {lost} was lost with its worker: RuntimeError: worker vanished" in (
        result.stderr
    )
    table = result.stdout.splitlines()
    assert any(re.match(rf"{lost}\s+error\b", line) for line in table)
    assert not (out / lost).exists()
    for name in sorted(set(GOOD) - {lost}):
        assert (out / name / "audit.json").is_file()


def test_an_unknown_executor_is_a_usage_error(fleet: Path, tmp_path: Path) -> None:
    result = run_cli(["run", fleet, "--out", tmp_path / "out", "--executor", "nope://x", *LEAN])
    assert result.exit_code == 2
    assert "--executor nope://x: no executor plugin knows this" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "out").glob("*/audit.json"))


def test_dask_without_distributed_is_unavailable_with_the_hint(fleet: Path, tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    dask = next(p for p in json.loads(run_cli(["plugins", "--json"]).stdout) if p["name"] == "dask")
    assert dask["status"] == "unavailable"
    assert 'pip install "auditkit[dask]"' in dask["error"] and "distributed" in dask["error"]
    result = run_cli(["run", fleet, "--out", tmp_path / "out", "--executor", "dask://127.0.0.1:8786", *LEAN])
    assert result.exit_code == 2
    assert 'pip install "auditkit[dask]"' in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("spec", ["dask://", "dask://host-without-port", "dask://127.0.0.1:port"])
def test_a_malformed_dask_address_is_a_usage_error(fleet: Path, tmp_path: Path, spec: str) -> None:
    result = run_cli(["run", fleet, "--out", tmp_path / "out", "--executor", spec, *LEAN])
    assert result.exit_code == 2
    assert f"--executor {spec}: expected dask://HOST:PORT" in result.stderr


# ------------------------------------------------------------------------------ Dask

distributed = pytest.importorskip("distributed")


def test_dask_local_cluster_gives_the_reports_of_jobs_one(fleet, reference, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        result = run_cli(["run", fleet, "--out", out, "--executor", f"dask://{address}", *LEAN])
        worker_pids = {w.pid for w in cluster.workers.values() if getattr(w, "pid", None)}
    assert_same_as_reference(out, result, reference)
    ran_on = {int(pid) for pid in re.findall(r": done on [^:\s]+:(\d+):", result.stderr)}
    assert ran_on and ran_on <= worker_pids and os.getpid() not in ran_on
    assert re.search(r"auditkit: \[1/4\] m1: loading model", result.stderr)  # the workers' progress came back


SLOW_PLUGIN = '''
import os
import time
from pathlib import Path

from auditkit import hookimpl


@hookimpl
def auditkit_assess(audit):
    """The model named "slow" takes long on its first attempt and says which process runs it."""
    pids = os.environ.get("AK_SLOW_PIDS")
    if audit.model.name != "slow" or not pids:
        return None
    path = Path(pids)
    first = not path.exists()
    with path.open("a") as handle:
        handle.write(f"{os.getpid()}\\n")
    if first:
        time.sleep(60)
    return None
'''


CONSOLE = "from auditkit.cli import console; console()"  # `auditkit` as the console script runs it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def dask_processes(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, always torn down."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []
    common = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            **common,
        ))
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", f"tcp://{address}", "--host", "127.0.0.1",
                 "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--memory-limit", "0"],
                **common,
            ))
        with distributed.Client(f"tcp://{address}", timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for proc in procs:  # each in its own session: its group is it and the processes it started
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_dask_processes_a_killed_worker_loses_no_model(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for seed, name in enumerate(("fast", "slow")):
        scores_dir(runs, name, seed)
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "ak_slow_probe.py").write_text(SLOW_PLUGIN, encoding="utf-8")
    pids = tmp_path / "slow.pids"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_dir), os.environ.get("PYTHONPATH", "")])}
    env.pop("SOURCE_DATE_EPOCH", None)
    out = tmp_path / "out"
    with dask_processes({**env, "AK_SLOW_PIDS": str(pids)}) as address:
        run = subprocess.Popen(
            [sys.executable, "-c", CONSOLE, "run", runs, "--out", out, "--executor", f"dask://{address}",
             *LEAN, "-p", "ak_slow_probe"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 120
            while not pids.exists() and time.monotonic() < deadline and run.poll() is None:
                time.sleep(0.2)
            assert pids.exists(), "the slow model's audit never started"
            victim = int(pids.read_text().split()[0])
            os.kill(victim, signal.SIGKILL)  # the worker process auditing "slow", mid-audit
            stdout, stderr = run.communicate(timeout=240)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
    attempts = [int(p) for p in pids.read_text().split()]
    assert len(attempts) == 2 and attempts[1] != victim, attempts  # Dask ran it again, on a live worker
    assert ": done on" in stderr
    table = {line.split()[0]: line.split()[1] for line in stdout.splitlines()[2:] if line.strip() and
             not line.startswith(("reports:", "* illustrative"))}
    assert set(table) == {"fast", "slow"}, stdout
    for name in ("fast", "slow"):
        verdict = json.loads((out / name / "audit.json").read_text(encoding="utf-8"))["verdict"]
        assert table[name] == verdict
    expected = 3 if "error" in table.values() else 1 if "fail" in table.values() else 0
    assert run.returncode == expected, stderr[-2000:]
    assert (out / "index.html").is_file()
