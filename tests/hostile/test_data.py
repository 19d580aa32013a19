"""Evaluation data as it arrives: mixed encodings, BOMs, multi-line cells, broken scores, odd groups.

Each case ends in a correct audit (the values read are checked, not just the exit code)
or one line naming the file, the column and the fix.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from auditkit.testing import MINIMAL_BUILTINS, run_audit

TEXTS = {  # row → text with what breaks naive readers
    0: "café au lait was great",  # UTF-8
    1: "she was naïve and “kind”",  # written as cp1252 below
    2: 'he said "awful", then left',  # quotes and a comma
    3: "line one\nline two",  # an embedded newline
    4: "windows\r\nline end",  # an embedded CRLF
}


def _csv_bytes(frame: pd.DataFrame, cp1252_rows: set[int] = frozenset()) -> bytes:
    """The frame as CSV, each row encoded on its own: UTF-8, or cp1252 for ``cp1252_rows``."""
    header, *rows = frame.to_csv(index=False, lineterminator="\n").split("\n")[:-1]
    lines, row, buffer = [header.encode()], 0, ""
    for physical in rows:  # a quoted cell may span physical lines: regroup by record
        buffer = f"{buffer}\n{physical}" if buffer else physical
        if buffer.count('"') % 2:
            continue
        lines.append(buffer.encode("cp1252" if row in cp1252_rows else "utf-8"))
        buffer, row = "", row + 1
    return b"\n".join(lines) + b"\n"


@pytest.fixture
def text_frame(tiny_model_dir: Path) -> pd.DataFrame:
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    for row, text in TEXTS.items():
        frame.loc[row, "text"] = text
    return frame


def _texts_read(tiny_model_dir: Path, tmp_path: Path) -> list[str]:
    run = run_audit(tiny_model_dir, tmp_path / "out", builtins=MINIMAL_BUILTINS)
    assert run.error is None, run.error
    assert len(run.audit.frame) == 120
    return [run.audit.frame.loc[row, "text"] for row in TEXTS]


def test_mixed_utf8_and_cp1252_rows(tiny_model_dir: Path, tmp_path: Path, text_frame) -> None:
    (tiny_model_dir / "eval.csv").write_bytes(_csv_bytes(text_frame, cp1252_rows={1}))
    with pytest.raises(UnicodeDecodeError):
        (tiny_model_dir / "eval.csv").read_bytes().decode("utf-8")  # really mixed
    assert _texts_read(tiny_model_dir, tmp_path) == list(TEXTS.values())


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_marks(tiny_model_dir: Path, tmp_path: Path, text_frame, encoding: str) -> None:
    text_frame.to_csv(tiny_model_dir / "eval.csv", index=False, encoding=encoding)
    raw = (tiny_model_dir / "eval.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8 if encoding == "utf-8-sig" else (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert _texts_read(tiny_model_dir, tmp_path) == list(TEXTS.values())


def test_bom_on_the_header_of_jsonl(tiny_model_dir: Path, tmp_path: Path, text_frame) -> None:
    text_frame.to_json(tiny_model_dir / "eval.jsonl", orient="records", lines=True, force_ascii=False)
    path = tiny_model_dir / "eval.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', '"eval.jsonl"'))
    assert _texts_read(tiny_model_dir, tmp_path) == list(TEXTS.values())


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "", "high"])
def test_nan_inf_or_text_in_scores(scores_dir, scores_frame, audit_run, bad: str) -> None:
    frame = scores_frame().astype({"score": object})
    frame.loc[41, "score"] = bad
    frame.loc[90, "score"] = bad
    line = audit_run(scores_dir(frame)).usage_error("scores.csv", "'score'", "2 missing, non-numeric or infinite")
    assert "first at row 42" in line and "fix or drop those rows" in line


def test_empty_group_values_are_counted_not_dropped(tiny_model_dir: Path, audit_run) -> None:
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    frame.loc[:9, "group"] = ""
    frame.loc[10:14, "group"] = "   "
    frame.to_csv(tiny_model_dir / "eval.csv", index=False)
    audit = audit_run(tiny_model_dir).audit()
    assert audit["dataset"]["missing_sensitive"] == {"group": 15}
    warning = next(f for f in audit["findings"] if f["code"] == "missing-sensitive-value")
    assert "15 of 120 rows" in warning["message"] and "'group'" in warning["message"]


def test_rows_without_text_are_counted_and_reported(tiny_model_dir: Path, audit_run) -> None:
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    frame["text"] = frame["text"].astype(object)
    frame.loc[[4, 7], "text"] = np.nan
    frame.loc[30, "text"] = "  "
    frame.to_csv(tiny_model_dir / "eval.csv", index=False)
    audit = audit_run(tiny_model_dir).audit()
    assert audit["dataset"]["missing_text"] == 3
    (warning,) = [f for f in audit["findings"] if f["code"] == "missing-text"]
    assert warning["severity"] == "warn"
    for needle in ("3 of 120 rows of eval.csv", "column 'text'", "first at row 5", "fill or drop"):
        assert needle in warning["message"], warning["message"]


def test_sensitive_column_with_no_value_at_all(tiny_model_dir: Path, audit_run) -> None:
    """Counted by the host; the fairness plugin then says, in one line, that it cannot group by it."""
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    frame["gender"] = np.nan
    frame.to_csv(tiny_model_dir / "eval.csv", index=False)
    outcome = audit_run(tiny_model_dir)
    assert outcome.result.exit_code == 2, outcome.result.stderr
    assert "Traceback" not in outcome.result.stderr
    (line,) = outcome.error_lines
    assert "'gender'" in line and "hold no values" in line and "remove them from [data] sensitive" in line
    audit = json.loads((outcome.out / "tox-v3" / "audit.json").read_text())
    assert audit["dataset"]["missing_sensitive"]["gender"] == 120
    (finding,) = [f for f in audit["findings"] if f["code"] == "usage-error"]
    assert finding["plugin"] == "fairness"


def test_category_no_row_has_is_not_a_group(tiny_model_dir: Path, tmp_path: Path) -> None:
    """Parquet keeps a categorical's unused categories; grouped by, they are empty groups."""
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    frame["group"] = pd.Categorical(frame["group"], categories=["a", "b", "c", "never-seen"])
    frame.to_parquet(tiny_model_dir / "eval.parquet")
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', '"eval.parquet"'))
    run = run_audit(tiny_model_dir, tmp_path / "out")
    assert run.error is None, run.error
    assert list(run.audit.frame["group"].cat.categories) == ["a", "b", "c"]
    assert not [f for f in run.audit.all_findings() if f.severity == "error"]


def test_one_class_only(tiny_model_dir: Path, audit_run) -> None:
    """Every row negative: metrics that need both classes must degrade, not crash a plugin."""
    frame = pd.read_csv(tiny_model_dir / "eval.csv")
    frame["label"] = 0
    frame.to_csv(tiny_model_dir / "eval.csv", index=False)
    audit = audit_run(tiny_model_dir).audit()
    assert audit["dataset"]["rows"] == 120


def test_one_class_only_in_predictions_mode(scores_dir, scores_frame, audit_run) -> None:
    """Scores need both label names to know which is positive: one line says so."""
    frame = scores_frame()
    frame["outcome"] = 1
    audit_run(scores_dir(frame)).usage_error("binary label column", "1 labels")


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_zero_rows(tiny_model_dir: Path, audit_run, fmt: str) -> None:
    """(CSV with a header only, or empty, is in tests/auditkit/test_bad_inputs.py.)"""
    empty = pd.read_csv(tiny_model_dir / "eval.csv").head(0)
    path = tiny_model_dir / f"eval.{fmt}"
    if fmt == "parquet":
        empty.to_parquet(path)
    else:
        path.write_text("")
    toml = tiny_model_dir / "auditkit.toml"
    toml.write_text(toml.read_text().replace('"eval.csv"', f'"eval.{fmt}"'))
    audit_run(tiny_model_dir).usage_error(f"eval.{fmt}", "no data rows" if fmt == "parquet" else "empty")
