"""The audit pipeline: one audit per model dir, every phase after discovery a hook.

discover → config → load model → load data → predict (cached) → assess → value →
policy → render (staged, then renamed into place) → [publish]; then the index.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit import cache
from auditkit._version import __version__
from auditkit.audit import Audit, Finding, PluginInfo, Predictions, Section, severity_rank
from auditkit.config import (
    CONFIG_FILE,
    FLAG,
    MODEL_DIR,
    POLICY,
    REVIEWER,
    Config,
    ConfigSection,
    Layer,
    build_config,
    collect_schemas,
    read_toml,
)
from auditkit.data import load_eval_data
from auditkit.errors import ExitCode, ModelDirError, PublishError, UsageError
from auditkit.handle import HandleError, ModelHandle, caches_of, check_handle, timings_of
from auditkit.hashing import value_sha256
from auditkit.isolation import CallOutcome, Hook, HookRelay, PluginExit, section_problem
from auditkit.logit_cache import LogitCache, logit_cache_file
from auditkit.manager import AuditkitPluginManager
from auditkit.model_dir import discover, inside, refuse_escaping_symlinks, unique_names
from auditkit.outputs import commit, disk_full, disk_full_message, new_staging, out_lock, within
from auditkit.result_cache import results_dir
from auditkit.safe_text import show_path
from auditkit.trust_rules import vendor_findings
from auditkit.trust_store import is_approved

if TYPE_CHECKING:
    from auditkit.executors import Executor

DEFAULT_OUT = Path("auditkit-reports")


@dataclass
class RunOptions:
    """What the command line asked for; None means "as the config says"."""

    out: Path = DEFAULT_OUT
    formats: list[str] | None = None
    fail_on: str | None = None
    config_file: Path | None = None
    policy_file: Path | None = None  # the reviewer's final word: no model dir may change what it sets
    settings: dict[str, Any] = field(default_factory=dict)  # --set and flag overrides
    publish: str | None = None
    use_cache: bool | None = None
    quiet: bool = False
    jobs: int | None = None  # audits at once; None: one per core, 1: one after another in this process
    executor: str | None = None  # where they run (auditkit_executor); None: a local process pool


@dataclass
class ModelResult:
    """The outcome of one model's audit, for the closing table and the exit code."""

    name: str
    path: Path
    audit: Audit | None = None
    error: str | None = None
    exit_code: ExitCode = ExitCode.OK
    files: list[Path] = field(default_factory=list)
    published: str | None = None
    traceback: str | None = None


_EXIT_PRIORITY = [
    ExitCode.USAGE_ERROR,
    ExitCode.PLUGIN_ERROR,
    ExitCode.PUBLISH_FAILED,
    ExitCode.POLICY_FAILED,
    ExitCode.OK,
]


def overall_exit_code(results: list[ModelResult]) -> ExitCode:
    codes = {r.exit_code for r in results}
    return next((c for c in _EXIT_PRIORITY if c in codes), ExitCode.OK)


class Runner:
    """Runs audits with one plugin manager; `progress` receives one-line status messages."""

    def __init__(
        self,
        pm: AuditkitPluginManager,
        options: RunOptions,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.pm = pm
        self.options = options
        self.progress = progress or (lambda message: None)
        self._schemas: dict[str, ConfigSection] | None = None
        self._plugins: Any = None  # the plugin choices a worker rebuilds (auditkit.executors.PluginSpec)

    # ---------------------------------------------------------------- whole run

    def run(self, paths: list[Path]) -> list[ModelResult]:
        self.check_publish_target()  # a bad target or missing token: exit 2 now, not after the audit
        out_root = self.options.out
        targets: list[tuple[Path, str]] = []
        for root in paths:
            dirs = discover(root, exclude=out_root)
            targets.extend(zip(dirs, unique_names(dirs, root), strict=False))
        names = [name for _, name in targets]
        if len(set(names)) != len(names):
            targets = [(d, f"{n}-{i + 1}") for i, (d, n) in enumerate(targets)]
        staging = new_staging(out_root)
        results: list[ModelResult] = []
        try:
            executor = self._executor(len(targets))
            if executor is not None:
                results = self._run_on(executor, targets, staging)
            for index, (model_dir, name) in enumerate(targets if executor is None else [], start=1):
                prefix = f"[{index}/{len(targets)}] {name}" if len(targets) > 1 else name
                results.append(self._audit_or_error(model_dir, name, staging, prefix))
            audits = [r.audit for r in results if r.audit is not None]
            if audits:
                self._render_index(audits, staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return results

    # ---------------------------------------------------------------- several at once

    def _executor(self, count: int) -> Executor | None:
        """The executor for this run, or None for one audit after another in this process
        (``--jobs 1``, a single model, or a plugin that cannot be sent to another process)."""
        from auditkit.executors import LOCAL, plugin_spec

        spec = self.options.executor or LOCAL
        jobs = self.options.jobs if self.options.jobs is not None else _cores()
        if jobs < 1:
            raise UsageError(f"--jobs {jobs}: give at least 1 (1 audits one model after another in this process)")
        if spec == LOCAL and (jobs == 1 or count <= 1):
            return None
        try:
            self._plugins = plugin_spec(self.pm)
        except ValueError as exc:
            if spec != LOCAL:
                raise UsageError(f"--executor {spec}: {exc}; load it with -p MODULE instead") from None
            self.progress(f"auditing one model after another in this process: {exc}")
            return None
        find = Hook(self.pm.hook.auditkit_executor)
        executor = find(spec=spec, jobs=min(jobs, max(count, 1)), progress=self.progress)
        if executor is None:
            unavailable = [
                f"plugin {i.name!r} is {i.status}: {i.error}"
                for i in self.pm.infos.values()
                if i.status != "loaded" and i.error and "auditkit_executor" not in i.hooks
            ]
            hint = f" ({'; '.join(unavailable)})" if unavailable else ""
            raise UsageError(
                f"--executor {spec}: no executor plugin knows this; built in: local, dask://HOST:PORT{hint}"
            )
        return executor

    def _run_on(self, executor: Executor, targets: list[tuple[Path, str]], staging: Path) -> list[ModelResult]:
        """One :func:`~auditkit.executors.audit_job` per model; each outcome comes back here,
        in the order of ``targets``, whatever happened to its worker."""
        from auditkit.executors import JobOptions, audit_job, lost

        local = executor.shares_files  # the same machine: the jobs see this process's environment
        options = JobOptions(
            self.options,
            self._plugins,
            os.getcwd(),
            return_files=not local,
            environ=dict(os.environ) if local else None,
        )
        results: list[ModelResult] = []
        try:
            futures = []
            for index, (model_dir, name) in enumerate(targets, start=1):
                prefix = f"[{index}/{len(targets)}] {name}"
                futures.append((prefix, executor.submit(audit_job, model_dir, name, options, prefix)))
            for (model_dir, name), (prefix, future) in zip(targets, futures, strict=True):
                try:
                    outcome = future.result()
                except Exception as exc:  # the worker was lost for good: the model is reported, not dropped
                    outcome = lost(name, model_dir, exc)
                result = self._take_outcome(outcome, staging)
                where = f" on {outcome.worker}" if outcome.worker else ""
                verdict = "error" if result.error or result.audit is None else result.audit.verdict
                self.progress(f"{prefix}: done{where}: {verdict}")
                results.append(result)
        except BaseException:
            executor.shutdown(cancel=True)
            raise
        executor.shutdown()
        return results

    def _take_outcome(self, outcome: Any, staging: Path) -> ModelResult:
        """A finished job's ModelResult; reports that came back as bytes are committed here
        as this process commits its own (staging, then a rename under the output lock)."""
        from auditkit.executors import result_of

        result = result_of(outcome)
        if result.audit is not None:
            result.audit.hook = HookRelay(self.pm)  # the index finds the plugins' templates through it
        if not outcome.payload:
            return result
        name = outcome.name
        model_stage = staging / name
        try:
            staged = []
            for relative, data in outcome.payload.items():
                path = model_stage / relative
                if not within(path, model_stage):
                    continue  # a name leading out of the model's folder is never written
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                staged.append(path)
            with out_lock(self.options.out):
                result.files = commit(staged, model_stage, self.options.out / name)
            if self.options.publish and result.audit is not None and not result.error:
                skip = list(result.audit.config.section("run").get("disable", []))
                result.published = self._publish(result.audit, result.files, skip)
        except UsageError as exc:
            result.error, result.exit_code = str(exc), ExitCode.USAGE_ERROR
        except PublishError as exc:  # as _audit_or_error: the reports are written and stay
            result.error = str(exc)
            if result.exit_code in (ExitCode.OK, ExitCode.POLICY_FAILED):
                result.exit_code = ExitCode.PUBLISH_FAILED
        except OSError as exc:
            if not disk_full(exc):
                raise
            result.error, result.exit_code = disk_full_message(exc, self.options.out / name), ExitCode.USAGE_ERROR
        return result

    def _audit_or_error(self, model_dir: Path, name: str, staging: Path, prefix: str) -> ModelResult:
        result = ModelResult(name=name, path=model_dir)
        try:
            self.audit_model(model_dir, name, staging, result, prefix)
        except UsageError as exc:
            result.error = str(exc)
            result.traceback = traceback.format_exc()
            result.exit_code = ExitCode.USAGE_ERROR
        except (PluginExit, HandleError) as exc:  # a plugin's sys.exit() in a loader or publisher; a bad handle
            result.error, result.traceback, result.exit_code = str(exc), traceback.format_exc(), ExitCode.PLUGIN_ERROR
        except PublishError as exc:  # the reports are written and stay; the ticket did not take them
            result.error, result.traceback = str(exc), traceback.format_exc()
            if result.exit_code in (ExitCode.OK, ExitCode.POLICY_FAILED):
                result.exit_code = ExitCode.PUBLISH_FAILED
        except OSError as exc:
            result.traceback = traceback.format_exc()
            if disk_full(exc):
                result.error = disk_full_message(exc, self.options.out / name)
                result.exit_code = ExitCode.USAGE_ERROR
            else:
                result.error = f"internal error: {type(exc).__name__}: {exc}"
                result.exit_code = ExitCode.PLUGIN_ERROR
        except Exception as exc:  # a failure outside any plugin hook: report it, go on
            result.error = f"internal error: {type(exc).__name__}: {exc}"
            result.traceback = traceback.format_exc()
            result.exit_code = ExitCode.PLUGIN_ERROR
        return result

    # ---------------------------------------------------------------- one model

    def audit_model(self, model_dir: Path, name: str, staging: Path, result: ModelResult, prefix: str) -> None:
        say = lambda message: self.progress(f"{prefix}: {message}")  # noqa: E731
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        refuse_escaping_symlinks(model_dir)  # whichever plugin reads which file, none leads out
        config = self.load_config(model_dir)
        skip = list(config.section("run")["disable"])
        say("loading model")
        handle = self._load_model(model_dir, config, skip)
        info = handle.info
        info.name = name
        logit_cache = self._attach_logit_cache(config, handle)
        timings["load_model"] = _lap(clock)

        say("loading evaluation data")
        clock = time.perf_counter()
        load_data = self._hook("auditkit_load_data", skip)
        data = load_eval_data(load_data, model_dir, config, list(info.labels), info.task)
        if not info.labels and data.y_true is not None:
            info.labels = sorted({str(v) for v in data.y_true})
        timings["load_data"] = _lap(clock)

        audit = Audit(
            model=info,
            config=config,
            model_dir=str(model_dir),
            out_dir=str(self.options.out / name),
            report_id=value_sha256([info.sha256, data.info.sha256, config.to_json(), __version__])[:12],
            dataset=data.info,
            frame=data.frame,
            y_true=data.y_true,
            token_true=data.token_true,
            handle=handle,
            plugins=[p for p in self.pm.active() if p.name not in skip],
            created=_created(),
            timings=timings,
            hook=HookRelay(self.pm, skip),  # a plugin calling a hook gets the same isolation
            cache_dir=str(results_dir(self.options.out)) if self._use_cache(config, handle) else None,
        )
        result.audit = audit
        audit.findings.extend(self._plugin_load_findings())
        vendor_source = f"{model_dir.name}/{CONFIG_FILE}"
        audit.findings.extend(vendor_findings(config.vendor_settings, vendor_source))
        if any(setting.applied for setting in config.vendor_settings):
            audit.verdict_notes.append("tolerances set by the model dir")
        for column, count in data.info.missing_sensitive.items():
            audit.findings.append(
                Finding(
                    "warn",
                    "missing-sensitive-value",
                    f"{count} of {data.info.rows} rows have no value in sensitive column {column!r}; "
                    "they are left out of that feature's groups",
                )
            )
        if data.info.missing_text:
            audit.findings.append(
                Finding(
                    "warn",
                    "missing-text",
                    f"{data.info.missing_text} of {data.info.rows} rows of {Path(data.info.path).name} have no text in "
                    f"column {data.info.text!r} (first at row {data.info.first_missing_text}); the model was asked "
                    "about an empty text for them: fill or drop those rows",
                )
            )

        timeout = float(config.section("run")["timeout"])
        formats = self.options.formats or list(config.section("run")["formats"])
        audit.formats = list(formats)  # known before assess: a plugin may skip what no report shows

        clock = time.perf_counter()
        audit.predictions = self._predict(audit, handle, say)
        timings["predict"] = _lap(clock)
        # of which model calls; the rest is a deferred model load and the prediction cache
        spent = timings_of(handle)
        if spent is not None:
            timings["predict_inference"] = round(spent.wall_seconds, 4)

        for phase, hook in (("assess", "auditkit_assess"), ("value", "auditkit_value")):
            clock = time.perf_counter()
            starting = lambda plugin, phase=phase: say(f"{phase}: {plugin}")  # noqa: E731
            for outcome in self._hook(hook, skip).outcomes({"audit": audit}, timeout, starting):
                self._collect(audit, outcome, hook)
                timings[f"{phase}.{outcome.plugin}"] = outcome.seconds
            timings[phase] = _lap(clock)
        for outcome in self._hook("auditkit_policy", skip).outcomes({"audit": audit}, timeout):
            self._collect_findings(audit, outcome)
        if logit_cache is not None:
            logit_cache.save()
        spent = timings_of(handle)
        if spent is not None:
            timings["inference"] = round(spent.wall_seconds, 4)  # every model call, in any phase
            timings["inference_cpu"] = round(spent.cpu_seconds, 4)  # this process's CPU meanwhile

        # One verdict in every report: fixed here, after policy and before the first renderer.
        # A renderer's failure goes to audit.render_errors (audit.json, stderr, exit code 3), never
        # into the findings: the reports written before it cannot be corrected, so a verdict changed
        # afterwards would make them disagree, and the verdict judges the model, not this run's files.
        audit.finalize()
        clock = time.perf_counter()
        say("rendering " + ", ".join(formats))
        model_stage = staging / name
        model_stage.mkdir(parents=True, exist_ok=True)
        staged: list[Path] = []
        render = {"audit": audit, "out_dir": model_stage, "formats": formats}
        for outcome in self._hook("auditkit_render", skip).outcomes(render, timeout):
            if disk_full(outcome.exception):  # commit nothing: the previous set of reports stays whole
                message = disk_full_message(outcome.exception, self.options.out / name, outcome.plugin)  # type: ignore[arg-type]
                raise UsageError(message)
            for path in self._collect_paths(audit, outcome, "auditkit_render", model_stage):
                staged.append(path)
                audit.files.append(str(path))
        timings["render"] = _lap(clock)
        with out_lock(self.options.out):  # another run on this folder commits before or after, not between
            result.files = commit(staged, model_stage, self.options.out / name)
        result.exit_code = self.exit_code(audit, config)
        if any(f.severity == "error" for f in audit.render_errors) and result.exit_code != ExitCode.USAGE_ERROR:
            result.exit_code = ExitCode.PLUGIN_ERROR  # a report is missing or incomplete
        if self.options.publish:
            result.published = self._publish(audit, result.files, skip)

    # ---------------------------------------------------------------- phases

    def schemas(self) -> dict[str, ConfigSection]:
        if self._schemas is None:
            found = self._hook("auditkit_config_schema").results()
            self._schemas = collect_schemas((result for _, result in found), (plugin for plugin, _ in found))
            from auditkit.coreplugin import bind_formats, declared_formats

            # [run] formats accepts, and by default writes, what the enabled renderers declare
            bind_formats(self._schemas, declared_formats(self.pm.hook))
        return self._schemas

    def load_config(self, model_dir: Path) -> Config:
        """Defaults, then the model dir's file (the vendor's unless the reviewer approved it),
        then the reviewer's --config, flags and --policy (docs/security.md, "Who sets what")."""
        layers = []
        own = model_dir / CONFIG_FILE
        if own.is_file():
            inside(model_dir, CONFIG_FILE)  # a symlink leading out of the dir is refused
            name = f"{model_dir.name}/{CONFIG_FILE}"
            if is_approved(own):
                layers.append(Layer(f"{name} (approved)", read_toml(own), REVIEWER))
            else:
                layers.append(Layer(name, read_toml(own), MODEL_DIR))
        if self.options.config_file:
            path = self.options.config_file
            layers.append(Layer(f"--config {show_path(path)}", read_toml(path), REVIEWER))
        if self.options.settings:
            layers.append(Layer("command line", self.options.settings, FLAG))
        if self.options.policy_file:
            path = self.options.policy_file
            layers.append(Layer(f"--policy {show_path(path)}", read_toml(path), POLICY))
        not_loaded = [i.name for i in self.pm.infos.values() if i.status != "loaded"]
        return build_config(self.schemas(), layers, ignore_sections=not_loaded, model_dir=model_dir)

    def _plugin_load_findings(self) -> list[Finding]:
        """A plugin that failed to load leaves the audit incomplete: say which and why."""
        out = []
        for info in self.pm.infos.values():
            if info.status == "error":
                out.append(
                    Finding(
                        "error",
                        "plugin-load-error",
                        f"plugin {info.name!r} ({info.source}) could not be loaded: {info.error}",
                        plugin=info.name,
                    )
                )
            elif info.status == "unavailable":  # an extra not installed is the reviewer's choice, not a risk
                out.append(
                    Finding(
                        "info",
                        "plugin-unavailable",
                        f"plugin {info.name!r} is unavailable (an optional dependency is not installed): {info.error}",
                        plugin=info.name,
                    )
                )
        return out

    def _hook(self, hook: str, skip: list[str] | tuple[str, ...] = ()) -> Hook:
        """Every hook call goes through :class:`~auditkit.isolation.Hook`: one implementation
        at a time, a plugin's exception or sys.exit() naming the plugin, never ending the run."""
        return Hook(getattr(self.pm.hook, hook), hook, skip)

    def _load_model(self, model_dir: Path, config: Config, skip: list[str]) -> ModelHandle:
        """The first loader's handle, checked against :class:`auditkit.ModelHandle`. Loaders get
        the hook relay so that they read files through the hooks, as the user enabled them."""
        kwargs = {"model_dir": model_dir, "config": config, "hook": HookRelay(self.pm, skip)}
        try:
            found = self._hook("auditkit_load_model", skip).results(**kwargs)
        except (UsageError, PluginExit):
            raise
        except Exception as exc:
            raise ModelDirError(f"{model_dir}: the model could not be loaded: {type(exc).__name__}: {exc}") from exc
        if not found:
            # a core install has no transformers loader: say which extra would recognise the dir
            missing = "".join(
                f"; plugin {i.name!r} is unavailable: {i.error}"
                for i in self.pm.infos.values()
                if i.status == "unavailable"
            )
            raise ModelDirError(
                f"{model_dir}: no loader recognises this directory; expected config.json with a "
                "…ForSequenceClassification or …ForTokenClassification architecture and safetensors "
                f"weights, or an {CONFIG_FILE} whose [predictions] names a scores file{missing}"
            )
        loader, handle = found[0]
        check_handle(handle, loader)  # a HandleError names the loader (exit 3)
        return handle

    def _use_cache(self, config: Config, handle: ModelHandle) -> bool:
        use_cache = self.options.use_cache
        if use_cache is None:
            use_cache = bool(config.section("run")["cache"])
        model_dir = handle.info.path  # no cache inside the delivery
        return bool(use_cache and caches_of(handle) is not None and cache.usable(self.options.out, model_dir))

    def _attach_logit_cache(self, config: Config, handle: ModelHandle) -> LogitCache | None:
        """A handle that keeps the logits of every text it saw gets them from the last run."""
        caches = caches_of(handle)
        if caches is None or caches.logits is None or not self._use_cache(config, handle):
            return None
        caches.logits.back_with(logit_cache_file(self.options.out, str(handle.cache_key())))
        return caches.logits

    def _predict(self, audit: Audit, handle: ModelHandle, say: Callable[[str], None]) -> Predictions:
        config = audit.config
        use_cache = self._use_cache(config, handle)
        key = cache.cache_key(
            {
                "model": str(handle.cache_key()),
                "data": audit.dataset.sha256 if audit.dataset else None,
                "data_config": config.section("data"),
                "model_config": config.section("model"),
                "predictions_config": config.section("predictions"),
            }
        )
        path = cache.cache_file(self.options.out, key)
        if use_cache:
            cached = cache.load(path)
            if cached is not None and len(cached.labels) == len(audit.frame):
                say(f"predictions from cache ({len(cached.labels)} rows)")
                return cached
        started = time.perf_counter()
        if use_cache:  # chunk by chunk, each saved, so an interrupted run resumes here
            done = cache.saved_rows(path, len(audit.frame))
            if done:
                say(f"resuming: {done} of {len(audit.frame)} rows already predicted (cache)")
            say(f"predicting {len(audit.frame) - done} rows")
            predictions, _ = cache.predict_in_chunks(lambda part: handle.predict(part, config), audit.frame, path)
        else:
            say(f"predicting {len(audit.frame)} rows")
            predictions = handle.predict(audit.frame, config)
        predictions.seconds = time.perf_counter() - started
        if len(predictions.labels) != len(audit.frame):
            raise ModelDirError(
                f"{audit.model_dir}: the loader returned {len(predictions.labels)} predictions "
                f"for {len(audit.frame)} rows"
            )
        return predictions

    def _collect(self, audit: Audit, outcome: CallOutcome, hook: str) -> None:
        if not outcome.ok:
            audit.findings.append(outcome.finding)  # type: ignore[arg-type]
            return
        result = outcome.result
        if result is None:
            return
        sections = result if isinstance(result, list) else [result]
        for section in sections:
            if not isinstance(section, Section):
                audit.findings.append(
                    _wrong_type(outcome.plugin, hook, section, "a Section, a list of Sections or None")
                )
                continue
            problem = section_problem(section)
            if problem:
                audit.findings.append(
                    Finding(
                        "error",
                        "plugin-bad-section",
                        f"plugin {outcome.plugin!r} returned section {section.name!r} from {hook}, left out: {problem}",
                        plugin=outcome.plugin,
                    )
                )
                continue
            if section.name in audit.sections:
                audit.findings.append(
                    Finding(
                        "error",
                        "duplicate-section",
                        f"plugin {outcome.plugin!r} returned section {section.name!r}, which "
                        f"plugin {audit.sections[section.name].plugin!r} already returned; the second is left out",
                        plugin=outcome.plugin,
                    )
                )
                continue
            section.plugin = section.plugin or outcome.plugin
            for finding in section.findings:
                finding.section = finding.section or section.name
                finding.plugin = finding.plugin or section.plugin
            audit.sections[section.name] = section

    def _collect_findings(self, audit: Audit, outcome: CallOutcome) -> None:
        if not outcome.ok:
            audit.findings.append(outcome.finding)  # type: ignore[arg-type]
            return
        for finding in outcome.result or []:
            if isinstance(finding, Finding):
                finding.plugin = finding.plugin or outcome.plugin
                audit.findings.append(finding)
            else:
                audit.findings.append(_wrong_type(outcome.plugin, "auditkit_policy", finding, "a list of Findings"))

    def _collect_paths(self, audit: Audit, outcome: CallOutcome, hook: str, stage: Path) -> list[Path]:
        if not outcome.ok:  # a render problem, not a finding: the verdict is final (Audit.finalize)
            audit.render_errors.append(outcome.finding)  # type: ignore[arg-type]
            return []
        paths = []
        for item in outcome.result or []:
            # only files written into the staging folder are moved into place: a path
            # elsewhere (a user's file) must never be renamed into the reports
            if isinstance(item, (str, os.PathLike)) and Path(item).is_file() and within(Path(item), stage):
                paths.append(Path(item))
            else:
                expected = f"paths of files it wrote in {stage}"
                audit.render_errors.append(_wrong_type(outcome.plugin, hook, item, expected))
        return paths

    def _render_index(self, audits: list[Audit], staging: Path) -> None:
        formats = self.options.formats or list(audits[0].config.section("run")["formats"])
        index_stage = staging / ".index"
        index_stage.mkdir(parents=True, exist_ok=True)
        staged: list[Path] = []
        # every model folder under --out, not only this run's: earlier ones read back from audit.json
        from auditkit.index_history import earlier_audits

        everyone = [*audits, *earlier_audits(self.options.out, audits)]
        render = {"audits": everyone, "out_dir": index_stage, "formats": formats}
        for outcome in self._hook("auditkit_render_index").outcomes(render):
            if outcome.ok:
                staged.extend(Path(p) for p in outcome.result or [] if Path(p).is_file())
            else:
                self.progress(f"index: {outcome.finding.message}")  # type: ignore[union-attr]
        with out_lock(self.options.out):
            commit(staged, index_stage, self.options.out)

    def check_publish_target(self) -> None:
        """``--publish`` checked before any audit: its syntax, the credentials in the environment, a
        writable folder (publishers called with ``audit=None, files=[]``; UsageError is exit 2)."""
        target = self.options.publish
        if target and self._hook("auditkit_publish")(audit=None, files=[], target=target) is None:
            raise UsageError(
                f"--publish {target}: no publisher knows this target; try dir:PATH, github:OWNER/REPO#N, "
                "gitlab:GROUP/PROJECT#N, jira:KEY-123 or roundup:issueN"
            )

    def _publish(self, audit: Audit, files: list[Path], skip: list[str]) -> str:
        target = self.options.publish or ""
        published = self._hook("auditkit_publish", skip)(audit=audit, files=files, target=target)
        if published is None:
            raise UsageError(f"--publish {target}: no publisher knows this target; try dir:PATH")
        return str(published)

    def exit_code(self, audit: Audit, config: Config) -> ExitCode:
        fail_on = self.options.fail_on or config.section("run")["fail_on"]
        verdict = audit.verdict
        if any(f.code == "usage-error" for f in audit.all_findings()):
            return ExitCode.USAGE_ERROR
        if verdict == "error":
            return ExitCode.PLUGIN_ERROR
        if severity_rank(verdict) >= severity_rank(fail_on):
            return ExitCode.POLICY_FAILED
        return ExitCode.OK


def _wrong_type(plugin: str, hook: str, value: Any, expected: str) -> Finding:
    return Finding(
        "error",
        "plugin-wrong-type",
        f"plugin {plugin!r} returned {type(value).__name__} from {hook}; expected {expected}",
        plugin=plugin,
    )


def _cores() -> int:
    """The cores this process may use (its CPU affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 4)


def _created() -> str:
    """Now, or SOURCE_DATE_EPOCH when set, so that two runs can be byte-identical."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        moment = dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
    else:
        moment = dt.datetime.now(tz=dt.timezone.utc).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def plugin_versions(infos: list[PluginInfo]) -> list[dict[str, str]]:
    return [{"name": i.name, "version": i.version} for i in infos]
