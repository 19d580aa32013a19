"""The ``auditkit`` command line: run, init, plugins, hooks, and the plugins' commands.

Start-up stays light: only argparse, pluggy and the plugin modules (which import their
heavy libraries inside hook bodies) load before a command runs.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from auditkit._version import __version__
from auditkit.errors import ExitCode, UsageError

EPILOG = (
    "exit codes: 0 pass (or warn), 1 a policy failed, 2 usage or input error, 3 a plugin error, "
    "4 publishing failed (the reports are kept)"
)


def console() -> None:
    """The ``auditkit`` console script: :func:`main`, then a normal exit with its code.

    A normal exit, so that plugins' ``atexit`` handlers run, their worker processes are
    reaped and their files closed: a plugin host must not skip its plugins' teardown
    (``os._exit``) to save the interpreter's own. That teardown is not free: after torch,
    transformers, weasyprint and pandas are imported it takes most of a second on a quiet
    machine (seconds on a loaded one), paid once the reports are already committed.
    """
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    """The command line without the process: returns the exit code (tests call it)."""
    from auditkit.isolation import PluginExit

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        disabled, modules, argv = split_plugin_args(argv)
        from auditkit.manager import get_plugin_manager

        pm = get_plugin_manager(disabled=disabled, extra_plugins=_import_modules(modules))
        parser = build_parser(pm)
        args = parser.parse_args(argv)
        args.plugin_manager = pm
        if not hasattr(args, "func"):
            parser.print_help()
            return ExitCode.USAGE_ERROR
        _terminate_as_interrupt()
        return int(args.func(args))
    except UsageError as exc:
        from auditkit.terminal import one_line

        print(f"auditkit: error: {one_line(exc)}", file=sys.stderr)
        if debug:
            from auditkit.terminal import sanitize

            print(sanitize(traceback.format_exc()), file=sys.stderr, end="")
        return ExitCode.USAGE_ERROR
    except PluginExit as exc:  # a plugin tried to end the process while the commands were built
        print(f"auditkit: error: {exc}", file=sys.stderr)
        return ExitCode.PLUGIN_ERROR
    except KeyboardInterrupt:
        print("auditkit: interrupted; reports already written are intact", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `auditkit hooks | head`: the reader left, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except OSError as exc:  # a full disk before any audit began (the staging folder)
        from auditkit.outputs import disk_full

        if not disk_full(exc):
            raise
        from auditkit.terminal import one_line

        message = f"no space left on device ({exc.filename}); free space and run again"
        print(f"auditkit: error: {one_line(message)}", file=sys.stderr)
        return ExitCode.USAGE_ERROR


def split_plugin_args(argv: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Take ``-p no:NAME`` / ``-p module`` out of argv (anywhere), as pytest does."""
    disabled: list[str] = []
    modules: list[str] = []
    rest: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg == "-p":
            value = next(items, None)
            if value is None:
                raise UsageError("-p needs a value: -p no:NAME disables a plugin, -p MODULE loads one")
        elif arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
            value = arg[2:].lstrip("=")
        else:
            rest.append(arg)
            continue
        if value.startswith("no:"):
            disabled.append(value[3:])
        else:
            modules.append(value)
    return disabled, modules, rest


def _import_modules(names: list[str]) -> list[tuple[str, Any]]:
    import importlib

    out = []
    for name in names:
        try:
            out.append((name, importlib.import_module(name)))
        except ImportError as exc:
            raise UsageError(f"-p {name}: cannot import plugin module ({exc})") from None
    return out


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so staging folders are removed and nothing is half-written."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (in-process test runs)
        pass


# ------------------------------------------------------------------------------ parser


def build_parser(pm: Any) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auditkit",
        description="Audit fine-tuned models for fairness, privacy and business value.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"auditkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-p", dest="_p", metavar="no:NAME", help="disable a plugin (repeatable), or load MODULE")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_run(sub)
    _add_init(sub)
    _add_trust(sub)
    _add_plugins(sub)
    _add_hooks(sub)
    _add_card(sub)
    _add_publish(sub)
    from auditkit.isolation import Hook  # a plugin's sys.exit() here must not end every command

    Hook(pm.hook.auditkit_add_commands, "auditkit_add_commands")(subparsers=sub)
    return parser


def _add_run(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="audit one model dir, or every model dir below a folder",
        description="Audit one model dir, or every model dir below a folder.",
        epilog=EPILOG,
    )
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a model dir, or a folder of them")
    run.add_argument(
        "--out", type=Path, default=Path("auditkit-reports"), help="report folder (default: ./auditkit-reports)"
    )
    run.add_argument(
        "--format",
        dest="formats",
        help="comma-separated report formats, e.g. html,json (default: every format the enabled renderers declare)",
    )
    run.add_argument("--fail-on", choices=("warn", "fail"), help="lowest verdict that exits with 1 (default: fail)")
    run.add_argument(
        "--config",
        type=Path,
        help="your TOML file: its values replace the model dir's auditkit.toml for every key it sets",
    )
    run.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="your final word (TOML): nothing else, and no model dir, changes what it sets or loosens what it guards",
    )
    run.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config value (TOML syntax), e.g. --set fairness.min_group_size=50",
    )
    run.add_argument("--reference", action="append", default=[], metavar="FEATURE=GROUP",
                     help="fairness reference group of a sensitive feature (repeatable), e.g. race=Caucasian")
    run.add_argument(
        "--publish",
        metavar="TARGET",
        help="attach the reports to a ticket: dir:PATH, github:OWNER/REPO#N, gitlab:GROUP/PROJECT#N (!N for an MR), "
        "jira:KEY-123 or roundup:issueN; checked before the audit, credentials from the environment",
    )
    run.add_argument("--no-cache", action="store_true",
                     help="predict (and recompute cached results) again even when the caches hold them")
    run.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="audit up to N models at once in worker processes (default: one per core; 1: one after another)",
    )
    run.add_argument(
        "--executor",
        metavar="SPEC",
        help="where the audits run: local (default, a process pool), dask://HOST:PORT (an existing Dask "
        'cluster, needs "auditkit[dask]"), or a scheme an executor plugin knows',
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    run.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary (each model's verdict, exit code, report folder and files) instead of the table",
    )
    run.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    run.add_argument("-p", dest="_p", metavar="no:NAME", help="disable a plugin (repeatable)")
    run.set_defaults(func=cmd_run)


def _add_init(sub: Any) -> None:
    init = sub.add_parser(
        "init",
        help="write a starting auditkit.toml for a model dir",
        description="Write a starting auditkit.toml (every section, defaults, a comment per key).",
    )
    init.add_argument("model_dir", type=Path, help="the model dir (created in predictions mode)")
    init.add_argument("--data", help="evaluation data file (CSV, Parquet or JSONL)")
    init.add_argument("--text", help="text column (guessed when left out)")
    init.add_argument("--label", help="true-label column (guessed when left out)")
    init.add_argument("--sensitive", help="comma-separated sensitive columns (guessed when left out)")
    init.add_argument("--positive", help="the positive label of a binary task")
    init.add_argument("--predictions", help="predictions mode: a file with the scores to audit (may hold the data too)")
    init.add_argument("--score", help="predictions mode: the score column")
    init.add_argument("--threshold", type=float, help="predictions mode: positive when score >= threshold")
    init.add_argument("--predicted-label", help="predictions mode: a predicted-label column instead of a score")
    init.add_argument("--reference", action="append", default=[], metavar="FEATURE=GROUP",
                      help="fairness reference group of a sensitive feature (repeatable), e.g. race=Caucasian")
    init.add_argument("--force", action="store_true", help="replace an existing auditkit.toml")
    init.set_defaults(func=cmd_init)


def _add_trust(sub: Any) -> None:
    trust = sub.add_parser(
        "trust",
        help="approve a model dir's auditkit.toml you have read, so it counts as your own",
        description=(
            "A model dir's auditkit.toml is the vendor's: it may not name files outside the dir nor weaken the "
            "audit. Approve it once you have read it; any later change to the file withdraws the approval."
        ),
    )
    trust.add_argument("model_dirs", nargs="+", type=Path, metavar="MODEL_DIR")
    trust.add_argument("--revoke", action="store_true", help="withdraw the approval instead")
    trust.set_defaults(func=cmd_trust)


def _add_plugins(sub: Any) -> None:
    plugins = sub.add_parser("plugins", help="list plugins: name, version, source, hooks")
    plugins.add_argument("--json", action="store_true", help="a JSON list of objects")
    plugins.set_defaults(func=cmd_plugins)


def _add_card(sub: Any) -> None:
    card = sub.add_parser(
        "card",
        help="write an audit's results into the model's README.md (model-index eval results)",
        description=(
            "Write the results of OUT/<model>/audit.json into MODEL_DIR/README.md's model-card metadata "
            "(model-index eval results and an auditkit key), as the Hub reads them; the rest of the card is kept."
        ),
    )
    card.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    card.add_argument("report_dir", type=Path, metavar="OUT/MODEL", help="the model's report folder (holds audit.json)")
    card.set_defaults(func=cmd_card)


def _add_hooks(sub: Any) -> None:
    hooks = sub.add_parser("hooks", help="print the hook reference for plugin authors")
    hooks.add_argument("--format", choices=("text", "markdown"), default="text")
    hooks.set_defaults(func=cmd_hooks)


# ------------------------------------------------------------------------------ commands


def cmd_run(args: argparse.Namespace) -> int:
    from auditkit.runner import Runner, RunOptions, overall_exit_code
    from auditkit.summary_table import print_closing_table
    from auditkit.terminal import Progress, one_line, sanitize

    options = RunOptions(
        out=args.out,
        formats=_formats(args.formats, args.plugin_manager),
        fail_on=args.fail_on,
        config_file=args.config,
        policy_file=args.policy,
        settings=with_fail_on(with_reference(parse_settings(args.settings), args.reference), args.fail_on),
        publish=args.publish,
        use_cache=False if args.no_cache else None,
        quiet=args.quiet,
        jobs=args.jobs,
        executor=args.executor,
    )
    for flag, path in (("--config", args.config), ("--policy", args.policy)):
        if path and not path.is_file():
            raise UsageError(f"{flag} {path}: no such file")
    with Progress(quiet=args.quiet) as progress:  # its heartbeat (not on a terminal) ends with the work
        results = Runner(args.plugin_manager, options, progress=progress).run(args.paths)
    for result in results:
        if result.error:
            print(f"auditkit: error: {result.name}: {one_line(result.error)}", file=sys.stderr)
            if args.debug and result.traceback:
                print(sanitize(result.traceback), file=sys.stderr)
        if result.audit is not None:
            for finding in [*result.audit.all_findings(), *result.audit.render_errors]:
                if finding.severity == "error":
                    print(f"auditkit: error: {result.name}: {one_line(finding.message, 400)}", file=sys.stderr)
                    if args.debug and finding.traceback:
                        print(sanitize(finding.traceback), file=sys.stderr)
    code = overall_exit_code(results)
    if args.json:  # stdout is the summary alone, so `auditkit run --json … | jq` works; progress stays on stderr
        from auditkit.run_summary import run_summary

        print(json.dumps(run_summary(results, args.out, code), indent=2))  # ASCII: no raw bidi controls
    else:
        print_closing_table(results, args.out)
    return code


def cmd_init(args: argparse.Namespace) -> int:
    from auditkit.init_cmd import InitRequest, init_model_dir, parse_reference
    from auditkit.runner import Runner, RunOptions
    from auditkit.terminal import one_line

    pm = args.plugin_manager
    request = InitRequest(
        model_dir=args.model_dir,
        data=args.data,
        text=args.text,
        label=args.label,
        sensitive=[c.strip() for c in args.sensitive.split(",") if c.strip()] if args.sensitive else None,
        positive=args.positive,
        predictions=args.predictions,
        score=args.score,
        threshold=args.threshold,
        predicted_label=args.predicted_label,
        reference=parse_reference(args.reference),
        force=args.force,
    )
    schemas = Runner(pm, RunOptions()).schemas()
    from auditkit.isolation import Hook

    result = init_model_dir(request, schemas, Hook(pm.hook.auditkit_load_data))  # one reader at a time, isolated
    from auditkit.trust_store import approve

    approve(result.path)  # the reviewer wrote it: its paths may lead out of the dir
    for note in result.notes:
        print(f"auditkit: {one_line(note)}", file=sys.stderr)  # notes quote column names from the data
    print(f"wrote {one_line(result.path)}")
    return ExitCode.OK


def cmd_trust(args: argparse.Namespace) -> int:
    from auditkit.config import CONFIG_FILE, read_toml
    from auditkit.terminal import one_line
    from auditkit.trust_store import approve, revoke

    for model_dir in args.model_dirs:
        path = model_dir / CONFIG_FILE
        if not path.is_file() or path.is_symlink():
            raise UsageError(f"{path}: no such file (a symlink is never approved); nothing to trust")
        if args.revoke:
            revoke(path)
            print(f"withdrew the approval of {one_line(path)}")
            continue
        read_toml(path)  # only a file that parses can be approved
        approve(path)
        print(f"approved {one_line(path)}: its present content counts as your own config")
    return ExitCode.OK


def cmd_plugins(args: argparse.Namespace) -> int:
    from auditkit.terminal import format_table

    infos = list(args.plugin_manager.infos.values())
    if args.json:
        print(json.dumps([i.to_json() for i in infos], indent=2))
        return ExitCode.OK
    rows = [
        [
            i.name,
            i.version,
            i.source,
            i.status if not i.error else f"{i.status}: {i.error}",
            ", ".join(h.removeprefix("auditkit_") for h in i.hooks),
        ]
        for i in infos
    ]
    print(format_table(["name", "version", "source", "status", "hooks"], rows))
    return ExitCode.OK


def cmd_card(args: argparse.Namespace) -> int:
    from auditkit.card_cmd import write_card
    from auditkit.terminal import one_line

    result = write_card(args.model_dir, args.report_dir)
    print(f"wrote {one_line(result.path)}: {result.results} eval results, verdict {result.verdict}")
    return ExitCode.OK


def cmd_hooks(args: argparse.Namespace) -> int:
    from auditkit.hookref import hook_reference

    print(hook_reference(markdown=args.format == "markdown"))
    return ExitCode.OK


def _add_publish(sub: Any) -> None:
    publish = sub.add_parser(
        "publish",
        help="attach written reports (OUT/<model>) to review tickets",
        description="Attach the reports auditkit run wrote in OUT/<model> to review tickets: one comment per "
        "model, updated in place on a re-run, and each file sent once. Credentials come from environment "
        "variables only (GITHUB_TOKEN, GITLAB_TOKEN, JIRA_*, ROUNDUP_*).",
        epilog=EPILOG,
    )
    publish.add_argument("report_dir", type=Path, metavar="OUT/MODEL", help="a model's report folder")
    publish.add_argument(
        "--to",
        dest="targets",
        action="append",
        required=True,
        metavar="TARGET",
        help="dir:PATH, github:OWNER/REPO#N, gitlab:GROUP/PROJECT#N (!N for an MR), jira:KEY-123 or "
        "roundup:issueN (repeatable)",
    )
    publish.add_argument("--dry-run", action="store_true", help="print what would be sent, and send nothing")
    publish.set_defaults(func=cmd_publish)


def cmd_publish(args: argparse.Namespace) -> int:
    """Every target is checked before anything is sent; one failing target does not stop the others."""
    from auditkit.errors import PublishError
    from auditkit.plugins.publish.bundle import dry_run_mode, report_files
    from auditkit.terminal import one_line, sanitize

    files = report_files(args.report_dir)
    from auditkit.isolation import Hook

    publish = Hook(args.plugin_manager.hook.auditkit_publish)  # a publisher's sys.exit() is a plugin error
    for target in args.targets:
        if publish(audit=None, files=[], target=target) is None:
            raise UsageError(f"--to {target}: no publisher knows this target; try dir:PATH, github:OWNER/REPO#N, "
                             "gitlab:GROUP/PROJECT#N, jira:KEY-123 or roundup:issueN")
    code = ExitCode.OK
    for target in args.targets:
        try:
            with dry_run_mode(args.dry_run):
                published = publish(audit=None, files=files, target=target)
        except PublishError as exc:
            print(f"auditkit: error: {one_line(exc)}", file=sys.stderr)
            code = ExitCode.PUBLISH_FAILED
            continue
        if args.dry_run:
            print(sanitize(published))
        else:
            print(f"published {one_line(args.report_dir.name)} to {one_line(published)}")
    return code


# ------------------------------------------------------------------------------ helpers


def _jobs(value: str) -> int:
    """``--jobs N``: a whole number of at least 1, else one line and exit 2."""
    if not value.strip().isdigit() or int(value) < 1:
        raise UsageError(f"--jobs {value}: give a whole number of at least 1, e.g. --jobs 4 (1: one model at a time)")
    return int(value)


def _formats(value: str | None, pm: Any) -> list[str] | None:
    """``--format``: some of the formats the enabled renderers declare (none given: ``None``)."""
    if value is None:
        return None
    from auditkit.coreplugin import declared_formats, parse_formats

    return parse_formats(value, declared_formats(pm.hook))


def with_reference(settings: dict[str, Any], items: list[str]) -> dict[str, Any]:
    """``--reference feature=group`` → ``fairness.reference_groups`` (over any ``--set`` of it)."""
    from auditkit.init_cmd import parse_reference

    if items:
        fairness = settings.setdefault("fairness", {})
        fairness["reference_groups"] = {**fairness.get("reference_groups", {}), **parse_reference(items)}
    return settings


def with_fail_on(settings: dict[str, Any], fail_on: str | None) -> dict[str, Any]:
    """``--fail-on`` is the flag form of ``[run] fail_on``: every plugin that reads the setting
    (the JUnit renderer, the closing table) sees what the exit code uses."""
    if fail_on:
        settings.setdefault("run", {})["fail_on"] = fail_on
    return settings


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``--set section.key=value`` (TOML value syntax; bare words are strings) → nested dict."""
    from auditkit.config import tomllib

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise UsageError(f"--set {item}: expected SECTION.KEY=VALUE, e.g. --set fairness.min_group_size=50")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        *path, leaf = key.strip().split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
