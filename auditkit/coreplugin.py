"""The host's own (essential) plugin: the ``[data]`` and ``[run]`` config sections."""

from __future__ import annotations

from typing import Any

import pluggy

from auditkit.config import ConfigSection, Option

hookimpl = pluggy.HookimplMarker("auditkit")

FORMATS = ("html", "pdf", "json", "md")


def _str_or_int(value: Any) -> None:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError("a label: a string or an integer")


def _not_empty(value: list[str]) -> None:
    if not value:
        raise ValueError("at least one format (an audit that writes no report tells nobody anything)")


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
            Option(
                "formats",
                "list[str]",
                list(FORMATS),
                "report formats to write",
                choices=FORMATS,
                validate=_not_empty,
                weaker="fewer",
            ),
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
