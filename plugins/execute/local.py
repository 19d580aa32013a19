"""``--jobs N``: audits in a pool of local worker processes (``--executor local``, the default).

Workers are started with "forkserver" where the platform has it, else "spawn", never by a
bare fork: a forked copy of a process that has loaded torch can deadlock on its threads'
locks. Each worker builds its own plugin manager once and audits one model at a time,
committing its reports into ``--out`` as the in-process path does (same file system).
Its progress lines come back through a queue and are printed by the reviewer's process,
whole lines, prefixed with the model's name.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

from auditkit import hookimpl
from auditkit.executors import LOCAL, JobFuture, ModelOutcome

_STOP = None  # the queue's last item: the reader thread ends


class PoolExecutor:
    """A ``concurrent.futures.ProcessPoolExecutor`` whose workers' progress reaches the reviewer."""

    shares_files = True

    def __init__(self, jobs: int, progress: Callable[[str], None]) -> None:
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._queue: Any = context.SimpleQueue()
        self._progress = progress
        self._reader = threading.Thread(target=self._relay, name="auditkit-progress", daemon=True)
        self._reader.start()
        self._pool = ProcessPoolExecutor(
            max_workers=max(1, jobs), mp_context=context, initializer=_init_worker, initargs=(self._queue,)
        )

    def submit(self, fn: Callable[..., ModelOutcome], /, *args: Any) -> JobFuture:
        return self._pool.submit(fn, *args)

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:  # interrupted: running audits unwind too (their staging folders go), none is waited for
            for process in list((getattr(self._pool, "_processes", None) or {}).values()):
                process.terminate()
        try:
            self._pool.shutdown(wait=True, cancel_futures=cancel)
        finally:
            self._queue.put(_STOP)
            self._reader.join(timeout=5)

    def _relay(self) -> None:
        while True:
            message = self._queue.get()
            if message is _STOP:
                return
            self._progress(message)


def _init_worker(queue: Any) -> None:
    """In each worker: progress lines go to the parent; Ctrl-C is the parent's to handle, and
    the parent's SIGTERM unwinds a running audit as Ctrl-C would (its staging folder goes)."""
    import signal

    from auditkit.executors import set_progress_sink

    def unwind(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent cancels and shuts the pool down
    signal.signal(signal.SIGTERM, unwind)
    set_progress_sink(queue.put)


@hookimpl(trylast=True)
def auditkit_executor(spec: str, jobs: int, progress: Callable[[str], None]) -> PoolExecutor | None:
    if spec != LOCAL:
        return None
    return PoolExecutor(jobs, progress)
