"""The host's own (essential) plugin: the ``[data]`` and ``[run]`` config sections.

The host knows no report format by itself: ``[run] formats`` and ``--format`` accept what
the enabled renderers declare through ``auditkit_report_formats`` (:func:`declared_formats`),
bound into the schema once the plugins are known (:func:`bind_formats`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pluggy

from auditkit.config import ConfigSection, Option
from auditkit.errors import UsageError

hookimpl = pluggy.HookimplMarker("auditkit")

FORMAT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _str_or_int(value: Any) -> None:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError("a label: a string or an integer")


def _not_empty(value: list[str]) -> None:
    if not value:
        raise ValueError("at least one format (an audit that writes no report tells nobody anything)")


def declared_formats(hook: Any) -> list[str]:
    """Every format the enabled plugins' ``auditkit_report_formats`` declare, sorted by name.

    ``hook`` is ``pm.hook`` or an audit's relay. A name that is not a short lower-case word
    is the plugin's mistake, refused in one line rather than offered to the user.
    """
    from auditkit.isolation import Hook

    found: set[str] = set()
    for result in Hook(hook.auditkit_report_formats, "auditkit_report_formats")():
        items = [result] if isinstance(result, str) else result
        for item in items if isinstance(items, (list, tuple)) else [items]:
            if not isinstance(item, str) or not FORMAT_NAME.fullmatch(item):
                raise UsageError(
                    f"a plugin's auditkit_report_formats declared {str(item)[:40]!r}: a format is a short "
                    "lower-case name such as 'html'; fix the plugin or disable it with -p no:NAME"
                )
            found.add(item)
    return sorted(found)


def formats_option(formats: Sequence[str] | None = None) -> Option:
    """``[run] formats``: some of the declared ``formats``, all of them by default. Unbound
    (``None``: the plugins are not known yet, as in a schema built by hand) any name passes."""
    return Option(
        "formats",
        "list[str]",
        list(formats or ()),
        "report formats to write (default: every format the enabled renderers declare)",
        choices=tuple(formats) if formats is not None else None,
        validate=_not_empty,
        weaker="fewer",
    )


def bind_formats(schemas: dict[str, ConfigSection], formats: Sequence[str]) -> None:
    """Put the declared ``formats`` into the ``[run] formats`` option of collected ``schemas``."""
    run = schemas.get("run")
    if run is None:
        return
    run.options = [formats_option(formats) if o.name == "formats" else o for o in run.options]


def parse_formats(value: str, formats: Sequence[str]) -> list[str]:
    """``--format html,txt`` → ``["html", "txt"]``, each one of the declared ``formats``."""
    chosen = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in formats]
    if unknown or not chosen:
        known = ", ".join(formats) or "none: every renderer is disabled"
        raise UsageError(f"--format {value}: unknown format {', '.join(unknown) or '(none)'}; choose from {known}")
    return chosen


@hookimpl
def auditkit_config_schema() -> list[ConfigSection]:
    data = ConfigSection(
        "data",
        [
            Option(
                "path",
                "str",
                "",
                "evaluation data file, relative to the model dir (CSV, Parquet or JSONL)",
                path=True,
            ),
            Option(
                "format",
                "str",
                "auto",
                "file format; auto goes by the file extension",
                choices=("auto", "csv", "parquet", "jsonl"),
            ),
            Option(
                "text", "str", "text", "column with the input text (token tasks: words, space-separated or a JSON list)"
            ),
            Option("label", "str", "label", "column with the true label (token tasks: one tag per word)"),
            Option("sensitive", "list[str]", [], "columns with sensitive features; fairness groups come from these"),
            Option(
                "positive",
                "any",
                "",
                "the positive label of a binary task (empty: the model's second label)",
                validate=_str_or_int,
            ),
            Option(
                "max_rows", "int", 0, "audit a seeded random sample of at most this many rows (0: all rows)", minimum=0
            ),
            Option("seed", "int", 0, "seed for sampling rows", minimum=0, maximum=2**32 - 1),
        ],
        help="Evaluation data: which file, and which column plays which role.",
    )
    run = ConfigSection(
        "run",
        [
            Option("disable", "list[str]", [], "plugins to leave out for this model, like -p no:NAME", weaker="more"),
            formats_option(),
            Option(
                "fail_on",
                "str",
                "fail",
                "lowest verdict that makes auditkit exit with 1",
                choices=("warn", "fail"),
                weaker="later",
            ),
            Option(
                "timeout",
                "float",
                0.0,
                "seconds one plugin hook may run before it is recorded as an error (0: no limit)",
                minimum=0,
                maximum=7 * 24 * 3600,
            ),
            Option("cache", "bool", True, "reuse predictions cached under the output folder"),
            Option(
                "trusted",
                "bool",
                False,
                "accept the model dir's own auditkit.toml as written: paths outside the dir and weaker settings "
                "(the verdict then says so); only your --config or --set can turn it on",
                weaker="any",
            ),
        ],
        help="How the audit runs.",
    )
    return [data, run]
