"""Where each model's audit runs when ``auditkit run`` audits a folder of models.

The runner sends one :func:`audit_job` per model to an :class:`Executor` (a local process
pool, a Dask cluster, or a third-party plugin's, through ``auditkit_executor``) and gets a
:class:`ModelOutcome` back. Both cross a process (or machine) boundary, so both are plain
picklable data: the live audit (model handle, evaluation frame, predictions) stays in the
worker and only a detached copy of its report data comes back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from auditkit.errors import ExitCode

if TYPE_CHECKING:
    from auditkit.audit import Audit
    from auditkit.manager import AuditkitPluginManager
    from auditkit.runner import ModelResult, RunOptions

LOCAL = "local"


class JobFuture(Protocol):
    """What :meth:`Executor.submit` returns: ``concurrent.futures.Future`` and Dask's fit."""

    def result(self, timeout: float | None = None) -> Any: ...


@runtime_checkable
class Executor(Protocol):
    """Runs audit jobs elsewhere: a pool of local processes, a cluster's workers.

    ``shares_files`` is True when the workers see the reviewer's ``--out`` (one machine):
    each job then commits its reports there itself, under the output lock. When False each
    job writes into a temporary folder and returns the files' bytes, which the runner commits.
    """

    shares_files: bool

    def submit(self, fn: Callable[..., ModelOutcome], /, *args: Any) -> JobFuture: ...

    def shutdown(self, cancel: bool = False) -> None: ...


@dataclass(frozen=True)
class PluginSpec:
    """How a worker rebuilds the reviewer's plugin manager: the same ``-p`` choices."""

    disabled: tuple[str, ...] = ()
    # (name, module name) for a ``-p MODULE`` plugin, (name, object) for another in-process
    # plugin (pickled by reference, so it must be defined at a module's top level)
    extra: tuple[tuple[str, Any], ...] = ()
    autoload: bool = True


@dataclass
class JobOptions:
    """Everything one audit job needs besides its model dir and name."""

    run: RunOptions
    plugins: PluginSpec
    cwd: str = ""  # relative paths (model dirs, --out, --config) are the reviewer's, from here
    return_files: bool = False  # write into a temporary folder and return the bytes
    # the reviewer's environment as the job was submitted (SOURCE_DATE_EPOCH, AUDITKIT_HOME,
    # HF_HUB_OFFLINE …), for workers on this machine only: a forkserver's children inherit the
    # environment the server started with, not the one the job was given in; never sent to a
    # cluster (it holds the reviewer's credentials)
    environ: dict[str, str] | None = None


@dataclass
class ModelOutcome:
    """A model's audit as it comes back from a worker: what the runner's ModelResult holds,
    with a detached audit (report data only) in place of the live one."""

    name: str
    path: Path
    audit: Audit | None = None
    error: str | None = None
    traceback: str | None = None
    exit_code: int = int(ExitCode.OK)
    files: list[Path] = field(default_factory=list)  # committed paths, or names relative to the model's folder
    payload: dict[str, bytes] = field(default_factory=dict)  # relative name → bytes (return_files)
    audit_json: Path | None = None  # where audit.json was committed (None when not written)
    published: str | None = None
    worker: str = ""  # host:pid that ran it, for the reviewer's progress line

    @property
    def verdict(self) -> str:
        if self.error or self.audit is None:
            return "error"
        return self.audit.verdict


# ------------------------------------------------------------------------------ parent side


def plugin_spec(pm: AuditkitPluginManager, autoload: bool | None = None) -> PluginSpec:
    """The manager's plugins as a worker can rebuild them; raises ValueError naming a plugin
    that cannot be sent to another process (defined inside a function, say)."""
    from auditkit.manager import AUTOLOAD_ENV, BUILTIN_PLUGINS

    disabled = [name for name, info in pm.infos.items() if info.status == "disabled"]
    # a built-in the parent's manager never loaded (a trimmed list in tests) stays out in the worker too
    disabled += [name for name, _ in BUILTIN_PLUGINS if name not in pm.infos]
    extra: list[tuple[str, Any]] = []
    for name, info in pm.infos.items():
        if info.source != "in-process" or info.status != "loaded":
            continue
        plugin = pm.get_plugin(name)
        if isinstance(plugin, type(sys)):
            if getattr(plugin, "__file__", None) is None:
                raise ValueError(f"plugin {name!r} is a module without a file; worker processes cannot import it")
            extra.append((name, plugin.__name__))
            continue
        try:
            pickle.dumps(plugin)
        except Exception as exc:
            raise ValueError(f"plugin {name!r} cannot be sent to worker processes ({type(exc).__name__})") from None
        extra.append((name, plugin))
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    return PluginSpec(tuple(dict.fromkeys(disabled)), tuple(extra), autoload)


def result_of(outcome: ModelOutcome) -> ModelResult:
    """The runner's ModelResult for a finished job (its audit detached: no frame, no handle)."""
    from auditkit.runner import ModelResult

    return ModelResult(
        name=outcome.name,
        path=outcome.path,
        audit=outcome.audit,
        error=outcome.error,
        exit_code=ExitCode(outcome.exit_code),
        files=list(outcome.files),
        published=outcome.published,
        traceback=outcome.traceback,
    )


def lost(name: str, path: Path, exc: BaseException) -> ModelOutcome:
    """A job that never came back (its worker died for good, the cluster went away)."""
    return ModelOutcome(
        name=name,
        path=path,
        error=f"the audit of {name} was lost with its worker: {type(exc).__name__}: {exc}; run it again",
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        exit_code=int(ExitCode.PLUGIN_ERROR),
    )


# ------------------------------------------------------------------------------ worker side

# set by a pool's initializer: where a worker's progress lines go (the parent prints them)
_progress_sink: Callable[[str], None] | None = None
_managers: dict[tuple[Any, ...], AuditkitPluginManager] = {}


def set_progress_sink(sink: Callable[[str], None] | None) -> None:
    """Send this worker's progress lines to ``sink`` (a queue's ``put``) instead of stderr."""
    global _progress_sink
    _progress_sink = sink


def audit_job(model_dir: Path, name: str, options: JobOptions, prefix: str = "") -> ModelOutcome:
    """Audit one model dir in this process and return its picklable outcome.

    The same code path as ``--jobs 1`` (:meth:`auditkit.runner.Runner.audit_model`): its
    own staging folder, then a rename into ``--out`` under the output lock; or, with
    ``return_files``, into a temporary folder whose files come back as bytes.
    """
    from auditkit.outputs import new_staging
    from auditkit.runner import Runner
    from auditkit.terminal import Progress

    worker = f"{_hostname()}:{os.getpid()}"
    progress = _progress_sink or Progress(quiet=options.run.quiet)
    try:
        pm = _manager(options.plugins)
        with _working_folder(options.cwd), _environment(options.environ):
            run = options.run
            scratch = Path(tempfile.mkdtemp(prefix="auditkit-job-")) if options.return_files else None
            if scratch is not None:  # a cache in a folder thrown away would only cost time
                run = dataclasses.replace(run, out=scratch, publish=None, use_cache=False)
            try:
                runner = Runner(pm, run, progress=progress if not run.quiet else None)
                staging = new_staging(run.out)
                try:
                    result = runner._audit_or_error(Path(model_dir), name, staging, prefix or name)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
                outcome = _outcome(result, worker)
                if scratch is not None:
                    _take_files(outcome, scratch / name)
            finally:
                if scratch is not None:
                    shutil.rmtree(scratch, ignore_errors=True)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        outcome = lost(name, Path(model_dir), exc)  # the manager or the job itself failed
        outcome.error = f"internal error in worker {worker}: {type(exc).__name__}: {exc}"
    outcome.worker = worker
    return outcome


def _manager(spec: PluginSpec) -> AuditkitPluginManager:
    """One plugin manager per worker process and plugin choice (built once, reused per job)."""
    import importlib

    from auditkit.manager import get_plugin_manager

    key = (spec.disabled, tuple(n for n, _ in spec.extra), spec.autoload)
    if key not in _managers:
        extra = [(n, importlib.import_module(p) if isinstance(p, str) else p) for n, p in spec.extra]
        _managers[key] = get_plugin_manager(disabled=spec.disabled, extra_plugins=extra, autoload=spec.autoload)
    return _managers[key]


@contextlib.contextmanager
def _environment(environ: dict[str, str] | None) -> Iterator[None]:
    """The submitting process's environment while the job runs, then this worker's again."""
    if environ is None:
        yield
        return
    kept = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(kept)


@contextlib.contextmanager
def _working_folder(cwd: str) -> Iterator[None]:
    """The reviewer's working folder while the job runs, so relative paths mean what they
    typed (a cluster worker on another machine without it keeps its own)."""
    here = os.getcwd()
    if not cwd or cwd == here or not Path(cwd).is_dir():
        yield
        return
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(here)


def _outcome(result: ModelResult, worker: str) -> ModelOutcome:
    audit_json = next((f for f in result.files if f.name == "audit.json"), None)
    return ModelOutcome(
        name=result.name,
        path=result.path,
        audit=detach(result.audit) if result.audit is not None else None,
        error=result.error,
        traceback=result.traceback,
        exit_code=int(result.exit_code),
        files=list(result.files),
        audit_json=audit_json,
        published=result.published,
        worker=worker,
    )


def _take_files(outcome: ModelOutcome, folder: Path) -> None:
    """Read the committed files into the outcome (the worker's folder is about to go)."""
    names = []
    for path in outcome.files:
        relative = path.relative_to(folder).as_posix()
        outcome.payload[relative] = path.read_bytes()
        names.append(Path(relative))
    outcome.files = names
    outcome.audit_json = None  # the runner knows where it commits it


def detach(audit: Audit) -> Audit:
    """A copy of the audit that holds what reports, the index and the closing table read,
    without what only the worker can hold (model handle, frame, predictions, hook relay)."""
    from auditkit.config import Config

    config = audit.config
    plain_config = Config(
        values=config.to_json(),
        sources=list(config.sources),
        origins=dict(config.origins),
        kinds=dict(config.kinds),
        trusted=config.trusted,
    )
    light = dataclasses.replace(
        audit,
        config=plain_config,
        frame=None,
        y_true=None,
        token_true=None,
        predictions=None,
        handle=None,
        hook=None,
        cache_dir=None,
    )
    try:
        pickle.dumps(light)
    except Exception:  # a plugin kept an object in a section's data that cannot cross processes
        from auditkit.audit import jsonable

        sections = {n: dataclasses.replace(s, data=jsonable(s.data)) for n, s in light.sections.items()}
        light = dataclasses.replace(light, sections=sections)
    return light


def _hostname() -> str:
    import socket

    return socket.gethostname()
