"""Fuzzing the config loader and the data loader: every failure is a one-line UsageError (exit 2).

The functions the runner calls are driven directly (fast, hundreds of examples), then a
smaller sample goes through the real CLI to check the exit code, the single line and
that no traceback is printed.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditkit.data import EvalData, load_eval_data
from auditkit.errors import UsageError
from auditkit.manager import get_plugin_manager
from auditkit.runner import Runner, RunOptions
from auditkit.terminal import one_line
from auditkit.testing import run_cli

# no example database: nothing is written into the checkout, each run explores afresh
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)

KNOWN = {
    "data": ["path", "format", "text", "label", "sensitive", "positive", "max_rows", "seed"],
    "run": ["disable", "formats", "fail_on", "timeout", "cache"],
    "predictions": ["file", "score", "threshold", "label", "id"],
    "model": ["batch_size", "max_length", "threads", "base_model"],
}
COLUMNS = ["text", "label", "group", "score", "missing"]


# ------------------------------------------------------------------ TOML from random data


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (int, dt.date, dt.datetime)):
        return str(value).replace(" ", "T") if isinstance(value, dt.datetime) else str(value)
    if isinstance(value, str):
        return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_scalar(k)} = {_toml_scalar(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def _toml(doc: dict[str, Any]) -> str:
    lines = []
    for section, body in doc.items():
        if not isinstance(body, dict):
            lines.insert(0, f"{_toml_scalar(section)} = {_toml_scalar(body)}")
            continue
        lines.append(f"[{_toml_scalar(section)}]")
        lines.extend(f"{_toml_scalar(k)} = {_toml_scalar(v)}" for k, v in body.items())
    return "\n".join(lines) + "\n"


scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-3, max_value=30),  # near the edges of counts, seeds and sizes
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from([*COLUMNS, "eval.csv", "../eval.csv", "/dev/zero", "csv", "auto", "html", "warn", "fail"]),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 1, 1)),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
sections = st.dictionaries(
    st.one_of(st.sampled_from(sorted(KNOWN)), st.text(max_size=8)),
    st.one_of(
        st.dictionaries(
            st.one_of(st.sampled_from(sorted({k for keys in KNOWN.values() for k in keys})), st.text(max_size=8)),
            values,
            max_size=6,
        ),
        scalars,
    ),
    max_size=4,
)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner(get_plugin_manager(), RunOptions())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A dir with a small valid eval.csv; each example writes its own auditkit.toml."""
    path = tmp_path_factory.mktemp("fuzz") / "model"
    path.mkdir()
    pd.DataFrame(
        {
            "text": ["good day", "bad day", "nice", "awful"] * 5,
            "label": [1, 0, 1, 0] * 5,
            "group": ["a", "b", "c", "a"] * 5,
            "score": [0.9, 0.2, 0.7, 0.1] * 5,
        }
    ).to_csv(path / "eval.csv", index=False)
    return path


def _load(runner: Runner, model_dir: Path, labels: list[str], task: str) -> EvalData | None:
    """What the runner does with a config before any plugin runs: build it, read the data."""
    config = runner.load_config(model_dir)
    assert float(config.section("run")["timeout"]) >= 0  # the runner uses it as a number
    load_data = runner.pm.hook.auditkit_load_data
    return load_eval_data(load_data, model_dir, config, labels, task)


def _only_usage_errors(call) -> None:
    """Success, or a UsageError with a message (the CLI prints it as one sanitised line)."""
    try:
        call()
    except UsageError as exc:
        assert one_line(exc), "an empty error message"


# ------------------------------------------------------------------ the config loader


@FUZZ
@given(doc=sections, task=st.sampled_from(["sequence-classification", "scores"]))
def test_fuzz_structured_config(runner: Runner, data_dir: Path, doc: dict[str, Any], task: str) -> None:
    (data_dir / "auditkit.toml").write_text(_toml(doc), encoding="utf-8")
    labels = ["negative", "positive"] if task != "scores" else []
    _only_usage_errors(lambda: _load(runner, data_dir, labels, task))


# [data] and [run] with plausible keys, mostly valid values, so that combinations deep in
# the loader (a sample of max_rows rows drawn with seed) are reached, not only the first check
def _mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(valid, valid, valid, scalars)


data_section = st.fixed_dictionaries(
    {
        "path": st.sampled_from(["eval.csv", "eval.csv", "eval.csv", "missing.csv", "", "/dev/null"]),
        "max_rows": _mostly(st.integers(-2, 25)),
        "seed": _mostly(st.integers(-(2**40), 2**40)),
    },
    optional={
        "format": _mostly(st.sampled_from(["auto", "csv", "jsonl", "parquet"])),
        "text": _mostly(st.sampled_from(COLUMNS)),
        "label": _mostly(st.sampled_from(COLUMNS)),
        "sensitive": _mostly(st.lists(st.sampled_from(COLUMNS), max_size=3)),
        "positive": _mostly(st.sampled_from([0, 1, "0", "1", "positive", "", 7, -1])),
    },
)
run_section = st.fixed_dictionaries(
    {},
    optional={
        "timeout": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5), scalars),
        "formats": st.one_of(st.lists(st.sampled_from(["json", "html", "pdf", "md", "docx"]), max_size=3), values),
        "fail_on": st.one_of(st.sampled_from(["warn", "fail", "error"]), scalars),
        "disable": st.one_of(st.lists(st.sampled_from(["policy", "core", "nope"]), max_size=2), values),
        "cache": values,
    },
)


@FUZZ
@example(section={"data": {"path": "eval.csv", "max_rows": 3, "seed": -5}}, task="scores")  # numpy refused it
@example(section={"data": {"path": "eval.csv", "max_rows": 3, "seed": 2**40}}, task="scores")
@given(
    section=st.one_of(data_section.map(lambda d: {"data": d}), run_section.map(lambda r: {"run": r})),
    task=st.sampled_from(["sequence-classification", "scores"]),
)
def test_fuzz_data_and_run_sections(runner: Runner, data_dir: Path, section, task: str) -> None:
    doc = {"data": {"path": "eval.csv"}, **section}
    (data_dir / "auditkit.toml").write_text(_toml(doc), encoding="utf-8")
    labels = ["negative", "positive"] if task != "scores" else []
    _only_usage_errors(lambda: _load(runner, data_dir, labels, task))


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_fuzz_config_text(runner: Runner, data_dir: Path, text: str) -> None:
    (data_dir / "auditkit.toml").write_bytes(text.encode("utf-8", errors="surrogatepass"))
    _only_usage_errors(lambda: _load(runner, data_dir, ["negative", "positive"], "sequence-classification"))


@FUZZ
@given(items=st.lists(st.text(max_size=30), max_size=4))
def test_fuzz_set_flags(runner: Runner, data_dir: Path, items: list[str]) -> None:
    from auditkit.cli import parse_settings

    (data_dir / "auditkit.toml").write_text('[data]\npath = "eval.csv"\n')

    def call() -> None:
        runner.options.settings = parse_settings(items)
        try:
            _load(runner, data_dir, ["negative", "positive"], "sequence-classification")
        finally:
            runner.options.settings = {}

    _only_usage_errors(call)


# ------------------------------------------------------------------ the data loader

cells = st.one_of(
    st.text(alphabet=string.printable + "éü“”\u202e\x00", max_size=12),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1", "0", "1.0", "positive", '"', '""', "\n", "\r\n", ","]),
    st.integers(-5, 5).map(str),
)


@st.composite
def csv_bytes(draw) -> bytes:
    header = draw(st.lists(st.sampled_from([*COLUMNS, "", "label", "text"]), min_size=1, max_size=5))
    rows = draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header)), max_size=8))
    frame = pd.DataFrame(rows, columns=header) if rows else pd.DataFrame(columns=header)
    text = frame.to_csv(index=False)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):  # damage: cut it, or splice raw bytes in
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=16)) + data[cut:]
    return data


@FUZZ
@given(
    data=st.one_of(csv_bytes(), st.binary(max_size=300)),
    suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet", ".txt"]),
    task=st.sampled_from(["sequence-classification", "token-classification", "scores"]),
    sensitive=st.lists(st.sampled_from(COLUMNS), max_size=2),
    max_rows=st.integers(0, 3),
)
def test_fuzz_data_loader(runner, data_dir, data: bytes, suffix: str, task: str, sensitive, max_rows: int) -> None:
    name = f"fuzz{suffix}"
    (data_dir / name).write_bytes(data)
    (data_dir / "auditkit.toml").write_text(
        f'[data]\npath = "{name}"\ntext = "text"\nlabel = "label"\nsensitive = {_toml_scalar(sensitive)}\n'
        f"max_rows = {max_rows}\n"
    )
    labels = {"sequence-classification": ["negative", "positive"], "token-classification": ["O", "B"]}.get(task, [])
    _only_usage_errors(lambda: _load(runner, data_dir, labels, task))


# ------------------------------------------------------------------ through the real CLI


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(doc=sections)
def test_fuzzed_config_through_the_cli(tmp_path_factory, doc: dict[str, Any]) -> None:
    """Predictions mode (no model to load), so each example costs a fraction of a second."""
    model_dir = tmp_path_factory.mktemp("cli") / "vendor"
    model_dir.mkdir()
    pd.DataFrame({"score": [0.1, 0.8, 0.6], "label": [0, 1, 1], "group": ["a", "b", "a"]}).to_csv(
        model_dir / "eval.csv", index=False
    )
    doc = {**doc, "predictions": {"file": "eval.csv", "score": "score"}} if "predictions" not in doc else doc
    (model_dir / "auditkit.toml").write_text(_toml(doc), encoding="utf-8")
    out = model_dir.parent / "out"
    result = run_cli(["run", model_dir, "--out", out, "--format", "json", "-q"])
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("auditkit: error:")]
        assert errors and all("\n" not in e for e in errors), result.stderr
    else:
        assert result.exit_code in (0, 1), result.stderr


# ------------------------------------------------------------------ what the fuzzing found


@pytest.mark.parametrize("limit", ["nan", "inf", "-inf"])
def test_non_finite_policy_limit_refused(runner: Runner, data_dir: Path, limit: str) -> None:
    """TOML allows nan: as a policy limit every comparison with it is False, so it would pass silently."""
    (data_dir / "auditkit.toml").write_text(f'[data]\npath = "eval.csv"\n[policy]\nfail_below = {{"x.y" = {limit}}}\n')
    with pytest.raises(UsageError, match=r"\[policy\] fail_below .* expected a table of numbers"):
        runner.load_config(data_dir)


def test_predictions_not_a_table(runner: Runner, tmp_path: Path) -> None:
    """`predictions = false` beside no config.json: discovery used to crash with AttributeError."""
    (tmp_path / "auditkit.toml").write_text("predictions = false\n")
    result = run_cli(["run", tmp_path, "--out", tmp_path / "out"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "[predictions] must be a table" in result.stderr
