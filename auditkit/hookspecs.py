"""Hook specifications: the whole contract between auditkit and its plugins.

Every built-in capability implements these hooks exactly as a third-party package does.
The docstrings are the reference for plugin authors (`auditkit hooks` prints them).
Hooks are called with keyword arguments; an implementation may accept fewer arguments
than the specification lists, which is how a hook grows without breaking plugins.
A plugin may define hooks of its own for other plugins (a ``hookspecs`` attribute, see
:meth:`auditkit.manager.AuditkitPluginManager.add_plugin`): the privacy plugin's
``auditkit_pii_recognizers`` is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from pathlib import Path

    import pandas as pd

    from auditkit.audit import Audit, Section
    from auditkit.config import Config, ConfigSection
    from auditkit.executors import Executor
    from auditkit.handle import ModelHandle

hookspec = pluggy.HookspecMarker("auditkit")

# --------------------------------------------------------------------------------------
# set-up: configuration, commands and templates
# --------------------------------------------------------------------------------------


@hookspec
def auditkit_config_schema() -> ConfigSection | list[ConfigSection] | None:
    """Declare the plugin's configuration section(s).

    Return an :class:`auditkit.config.ConfigSection` (or a list of them, e.g. a section
    and its ``name.sub`` tables). Each option has a type, a default and a one-line help
    text; ``auditkit init`` writes them as comments, and an unknown key or a value of the
    wrong type in ``auditkit.toml`` is reported with the file, the key and what was
    expected. Called once per process; all implementations are collected.
    """


@hookspec
def auditkit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add sub-commands to the ``auditkit`` command line.

    ``subparsers`` is the ``argparse`` sub-parser collection. Add a parser and set its
    ``func`` default to a callable ``func(args) -> int`` that returns the exit code.
    Keep heavy imports inside ``func`` so that ``auditkit --help`` stays fast.
    """


@hookspec
def auditkit_template_dirs() -> list[Path] | Path | None:
    """Return folder(s) holding the plugin's jinja2 templates.

    Plugin folders are searched before the built-in ``templates/``; put a section's
    partial under the plugin's own prefix (``myplugin/section.html.j2``). A template that
    overrides a built-in one may extend the original as ``default:<name>``.
    """


# --------------------------------------------------------------------------------------
# loading: model and evaluation data
# --------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def auditkit_load_model(model_dir: Path, config: Config, hook: Any) -> ModelHandle | None:
    """Load the model in ``model_dir`` and return a model handle, or ``None``.

    Return ``None`` when the directory is not in a format this plugin knows, so the next
    loader can try. The handle is an :class:`auditkit.ModelHandle`: ``info``
    (:class:`auditkit.ModelInfo`), ``predict(frame, config) -> Predictions`` and
    ``cache_key()``, a string that changes whenever predictions could change; optionally
    ``caches()`` and ``timings()``. Anything else is a plugin error naming the loader.
    ``hook`` relays the hooks of the plugins this audit runs: read a file of your own
    with ``hook.auditkit_load_data`` (see :func:`auditkit.data.read_table`), not by
    importing a loader. Raise :class:`auditkit.errors.ModelDirError` for a directory that
    is recognised but unsafe or broken. ``firstresult``: the first non-``None`` handle wins.
    """


@hookspec(firstresult=True)
def auditkit_load_data(spec: dict[str, Any], config: Config) -> pd.DataFrame | None:
    """Read the evaluation data described by ``spec`` and return a DataFrame, or ``None``.

    ``spec`` holds ``path`` (absolute), ``format`` (``csv``, ``parquet``, ``jsonl`` or
    ``auto``) and the ``[data]`` config. Return ``None`` for a format you do not read.
    Raise :class:`auditkit.errors.DataError` with the file and the fix for unreadable
    input. ``firstresult``.
    """


# --------------------------------------------------------------------------------------
# measuring: assess, then value
# --------------------------------------------------------------------------------------


@hookspec
def auditkit_assess(audit: Audit) -> Section | list[Section] | None:
    """Measure one thing about the model and return a :class:`auditkit.audit.Section`.

    Runs after the model has predicted on the evaluation data: ``audit.frame``,
    ``audit.y_true`` and ``audit.predictions`` are set (``audit.predictions`` is ``None``
    only for token tasks without predictions). Return ``None`` when the assessment does
    not apply. Assess hooks must not depend on one another; an exception is recorded as an
    ``error`` finding naming the plugin, and the rest of the audit goes on.
    """


@hookspec
def auditkit_value(audit: Audit) -> Section | list[Section] | None:
    """Put a value on the model, reading the sections every assess hook produced.

    Runs after all ``auditkit_assess`` hooks, so ``audit.sections`` holds fairness,
    privacy and training results (read them with ``audit.metric("fairness.score")``).
    Value sections usually go to the business report (``report="business"``).
    """


@hookspec
def auditkit_policy(audit: Audit) -> list[Any] | None:
    """Return extra :class:`auditkit.audit.Finding` objects that judge the whole audit.

    Runs after every assess and value hook, before rendering. Use it for rules that
    span sections (e.g. a minimum accuracy together with a fairness score).
    """


# --------------------------------------------------------------------------------------
# reporting: render, then publish
# --------------------------------------------------------------------------------------


@hookspec
def auditkit_report_formats() -> list[str] | None:
    """Declare the report formats this plugin's ``auditkit_render`` writes, e.g. ``["docx"]``.

    Return short lower-case names (letters, digits, ``-`` or ``_``; the built-ins declare
    ``html``, ``pdf``, ``json`` and ``md``). auditkit knows no format by itself: the formats
    every enabled plugin declares are what ``--format`` and ``[run] formats`` accept (an
    unknown name is a one-line usage error listing them) and, all of them, the default
    when neither is given. A plugin that renders nothing returns ``None``. Two
    plugins may declare the same name (both are then asked to write it). Called once per
    process, before any model is audited; all implementations are collected.
    """


@hookspec
def auditkit_render(audit: Audit, out_dir: Path, formats: list[str]) -> list[Path] | None:
    """Write the report files for the formats this plugin knows; return their paths.

    ``out_dir`` is a private staging folder: write there, and auditkit moves every file
    into ``OUT/<model-name>/`` atomically once all renderers have finished, so a reader
    never sees half a report. ``formats`` are the ones asked for this run; write those
    you declared in ``auditkit_report_formats`` and ignore the others.
    """


@hookspec
def auditkit_render_index(audits: list[Audit], out_dir: Path, formats: list[str]) -> list[Path] | None:
    """Write the multi-model comparison (``index.html``) into the staging ``out_dir``.

    Called once per ``auditkit run`` after every model's audit, with all of them.
    """


@hookspec(firstresult=True)
def auditkit_publish(audit: Audit, files: list[Path], target: str) -> str | None:
    """Attach the report files to a review ticket named by ``target``.

    Return a URL or identifier of what was published, or ``None`` when ``target`` is not
    a scheme this plugin knows (e.g. ``dir:/path`` or ``github:owner/repo#12``).
    ``firstresult``.

    Three kinds of call:

    - ``files=[]`` (and ``audit=None``): the check before an audit starts. Check the
      target's syntax and that its credentials are in the environment (and for a folder,
      that it is writable); send nothing; return a description of the target. Raise
      :class:`~auditkit.errors.UsageError` (one line naming the target and the fix: exit 2).
    - ``files`` set: publish them. ``audit`` is the live Audit during ``auditkit run``,
      ``None`` for ``auditkit publish OUT/<model>``: read what you need from ``audit.json``
      among ``files`` (``auditkit.plugins.publish.bundle.read_bundle`` does). When
      ``auditkit.plugins.publish.bundle.dry_run()`` is true (``--dry-run``), send nothing
      and return the text of what would be sent.
    - A ticket that refuses or cannot be reached: raise
      :class:`~auditkit.errors.PublishError` (one line: exit 4, the reports are kept).

    Credentials come from environment variables only, never from the target or a report.
    Publish one comment per model, updated in place on a re-run, and do not send a file
    whose sha256 the ticket already holds.
    """


# --------------------------------------------------------------------------------------
# running: where each model's audit runs
# --------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def auditkit_executor(spec: str, jobs: int, progress: Callable[[str], None]) -> Executor | None:
    """Return an :class:`auditkit.executors.Executor` for ``--executor SPEC``, or ``None``.

    ``auditkit run`` with several model dirs and ``--jobs`` above 1 (the default is the number
    of cores), or with any ``--executor``, sends one audit per model to the executor this hook
    returns. ``spec`` is ``--executor`` as typed (``local`` when not given; ``dask://HOST:PORT``,
    ``ray://…``); return ``None`` for a scheme you do not know so the next plugin can try.
    ``jobs`` is ``--jobs`` (at most this many audits at once; a cluster may ignore it), and
    ``progress(message)`` prints one line to the reviewer: pass the workers' progress lines to
    it when you can (they arrive prefixed with the model's name).

    An executor has ``shares_files`` (``True`` when its workers write into ``--out`` on the
    reviewer's file system themselves; ``False`` makes each job return its reports' bytes, which
    auditkit commits), ``submit(fn, *args)`` returning a future-like object whose
    ``result()`` gives ``fn(*args)`` or raises, and ``shutdown(cancel)``. ``fn`` is
    :func:`auditkit.executors.audit_job`, a picklable top-level function whose picklable result
    (:class:`auditkit.executors.ModelOutcome`) carries the verdict, exit code, errors and files;
    run it in a process that has auditkit installed and can read the model dirs at the same
    paths. A job that raises (a worker lost for good) is reported as that model's error, never
    dropped. The built-in ``pool`` (a local process pool) and ``dask`` plugins implement this
    hook. ``firstresult``.
    """
