"""``--executor dask://HOST:PORT``: one audit per model on an existing Dask cluster.

Needs the ``distributed`` package (``pip install "auditkit[dask]"``); without it the plugin
shows as unavailable. The workers need auditkit (same version) and read the model dirs at
the paths the reviewer gave (a shared or mirrored file system); they need not see ``--out``:
each task writes its reports into a temporary folder and returns their bytes, and the
reviewer's process commits them as a local run does. A worker lost mid-audit (killed, out of
memory) is Dask's to handle: the scheduler runs the task again on another worker, up to its
``distributed.scheduler.allowed-failures``; a task that still fails comes back as that
model's error, so the run's table and exit code account for every model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auditkit import hookimpl
from auditkit.errors import UsageError
from auditkit.executors import JobFuture, ModelOutcome

AUDITKIT_REQUIRES = {"distributed": '"auditkit[dask]"'}
SCHEME = "dask://"
RETRIES = 1  # a task that raised (not a lost worker, which the scheduler retries) runs once more
TOPIC = "auditkit-progress"
CONNECT_TIMEOUT = "10s"


class DaskExecutor:
    """A ``distributed.Client`` connected to the scheduler at ``address``."""

    shares_files = False

    def __init__(self, address: str, progress: Callable[[str], None]) -> None:
        self._client = connect(address, f"--executor dask://{address.removeprefix('tcp://')}")
        self._futures: list[Any] = []
        try:  # the workers' progress lines, printed here
            self._client.subscribe_topic(TOPIC, lambda event: progress(str(event[1])))
        except Exception:  # an older scheduler without topics: the closing lines still come
            pass

    def submit(self, fn: Callable[..., ModelOutcome], /, *args: Any) -> JobFuture:
        future = self._client.submit(_with_progress, fn, *args, pure=False, retries=RETRIES)
        self._futures.append(future)
        return future

    def shutdown(self, cancel: bool = False) -> None:
        try:
            if cancel and self._futures:
                self._client.cancel(self._futures)
        finally:
            self._client.close()


def _with_progress(fn: Callable[..., ModelOutcome], *args: Any) -> ModelOutcome:
    """On a Dask worker: run the job with its progress lines sent as events to the client."""
    from distributed import get_worker

    from auditkit.executors import set_progress_sink

    worker = get_worker()
    set_progress_sink(lambda message: worker.log_event(TOPIC, message))
    try:
        return fn(*args)
    finally:
        set_progress_sink(None)


def connect(address: str, what: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address`` (``tcp://HOST:PORT``); a
    one-line error naming ``what`` asked for it when none answers or Dask is not installed."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(f'{what}: needs the distributed package; pip install "auditkit[dask]"') from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"{what}: no Dask scheduler answers there ({type(exc).__name__}); "
            "start one with `dask scheduler` or check HOST:PORT"
        ) from None


def address_of(spec: str) -> str:
    """``dask://HOST:PORT`` → ``tcp://HOST:PORT``; a clear error for anything else."""
    rest = spec[len(SCHEME) :].strip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"--executor {spec}: expected dask://HOST:PORT, e.g. dask://127.0.0.1:8786")
    return f"tcp://{host}:{port}"


@hookimpl
def auditkit_executor(spec: str, jobs: int, progress: Callable[[str], None]) -> DaskExecutor | None:
    if not spec.startswith(SCHEME):
        return None
    return DaskExecutor(address_of(spec), progress)
