"""Training data checks, reweighing and the evaluation measures (no model needed: fast)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.training import auditkit_add_commands
from auditkit.plugins.assess.training.dataprep import reweigh
from auditkit.plugins.assess.training.metrics import bio_entities, classification_report, entity_report

from auditkit.errors import UsageError


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="auditkit")
    auditkit_add_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_reweighing_matches_hand_computed_weights() -> None:
    # 4 rows: P(a) = 3/4, P(b) = 1/4, P(y=1) = P(y=0) = 1/2
    # w(a,1) = (3/4 · 1/2) / (2/4) = 3/4;  w(a,0) = (3/4 · 1/2) / (1/4) = 3/2;
    # w(b,0) = (1/4 · 1/2) / (1/4) = 1/2
    groups = pd.Series(["a", "a", "a", "b"])
    labels = pd.Series([1, 1, 0, 0])
    weights, info = reweigh(groups, labels)
    assert weights == pytest.approx([0.75, 0.75, 1.5, 0.5])
    cells = {(c["group"], c["label"]): (c["count"], c["weight"]) for c in info["cells"]}
    assert cells == {("a", "1"): (2, 0.75), ("a", "0"): (1, 1.5), ("b", "0"): (1, 0.5)}
    # the point of the weights: within group a the weighted label shares are now equal
    a = groups == "a"
    assert weights[a & (labels == 1)].sum() == pytest.approx(weights[a & (labels == 0)].sum())


def test_reweighing_is_one_when_label_and_group_are_independent() -> None:
    groups = pd.Series(["x", "x", "y", "y"])
    labels = pd.Series([0, 1, 0, 1])
    weights, _ = reweigh(groups, labels)
    assert weights == pytest.approx(np.ones(4))


def test_classification_report_agrees_with_sklearn() -> None:
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    true = ["a", "a", "b", "b", "c", "c", "c"]
    pred = ["a", "b", "b", "b", "c", "a", "c"]
    report = classification_report(true, pred, ["a", "b", "c"])
    assert report.accuracy == pytest.approx(accuracy_score(true, pred))
    assert report.macro_f1 == pytest.approx(f1_score(true, pred, average="macro"))
    assert report.confusion == confusion_matrix(true, pred, labels=["a", "b", "c"]).tolist()
    b = next(r for r in report.rows if r["class"] == "b")
    # b: predicted 3 times, 2 right; 2 true b, both found
    assert (b["precision"], b["recall"], b["support"]) == (pytest.approx(2 / 3), 1.0, 2)


def test_bio_entities_follow_conlleval_rules() -> None:
    tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-PER", "O"]
    # an I- after O starts an entity; a type change ends one
    assert bio_entities(tags) == [("PER", 0, 1), ("LOC", 3, 4), ("LOC", 5, 5), ("PER", 6, 6)]


def test_entity_report_hand_example() -> None:
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["O", "B-ORG", "B-PER"]]
    # true: PER(0-1) LOC(3) ORG(1); predicted: PER(0) LOC(3) ORG(1) PER(2)
    # exact matches: LOC, ORG → precision 2/4, recall 2/3
    report = entity_report(true, pred)
    assert report.micro == pytest.approx({"precision": 0.5, "recall": 2 / 3, "f1": 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3)})
    per = next(r for r in report.rows if r["class"] == "PER")
    assert (per["precision"], per["recall"], per["support"]) == (0.0, 0.0, 1)
    assert report.accuracy == pytest.approx(5 / 7)


# ---------------------------------------------------------------------------------------
# errors: one line naming the file, the field and the fix; nothing written
# ---------------------------------------------------------------------------------------


@pytest.fixture()
def frame_csv(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "text": [f"text {i}" for i in range(20)],
            "label": [i % 2 for i in range(20)],
            "group": ["a", "b"] * 10,
        }
    )
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    return path


def _expect_error(argv: list[str], *needles: str) -> str:
    with pytest.raises(UsageError) as info:
        run_cli(argv)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


def _tag_args(data: Path, tmp_path: Path, *extra: str) -> list[str]:
    """`auditkit train` on a token-classification CSV (columns tokens, tags)."""
    return ["train", "--data", str(data), "--text", "tokens", "--label", "tags",
            "--task", "token-classification", *extra, "--out", str(tmp_path / "o")]


def test_unknown_base_lists_known_names(frame_csv: Path, tmp_path: Path) -> None:
    _expect_error(
        ["train", "--base", "bert-huge", "--data", str(frame_csv), "--out", str(tmp_path / "o")],
        "--base bert-huge",
        "minilm",
    )
    assert not (tmp_path / "o").exists()


def test_label_with_one_class(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "label": ["x", "x", "x"]}).to_csv(path, index=False)
    _expect_error(
        ["train", "--base", "minilm", "--data", str(path), "--out", str(tmp_path / "o")],
        str(path),
        "--label label",
        "only one class",
    )


def test_missing_column_names_the_columns(frame_csv: Path, tmp_path: Path) -> None:
    _expect_error(
        ["train", "--data", str(frame_csv), "--label", "toxic", "--out", str(tmp_path / "o")],
        str(frame_csv),
        "--label toxic",
        "text, label, group",
    )
    _expect_error(
        [
            "train",
            "--data",
            str(frame_csv),
            "--sensitive",
            "group,race",
            "--out",
            str(tmp_path / "o"),
        ],
        "--sensitive race",
    )


def test_empty_data(tmp_path: Path) -> None:
    header_only = tmp_path / "h.csv"
    header_only.write_text("text,label\n")
    _expect_error(["train", "--data", str(header_only), "--out", str(tmp_path / "o")], "no data rows")
    empty = tmp_path / "e.csv"
    empty.write_text("")
    _expect_error(["train", "--data", str(empty), "--out", str(tmp_path / "o")], "empty")
    _expect_error(["train", "--data", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")], "not found")


def test_dev_split_too_small_for_every_class(tmp_path: Path) -> None:
    path = tmp_path / "rare.csv"
    labels = ["a"] * 10 + ["b"] * 10 + ["c"]
    pd.DataFrame({"text": [f"t {i}" for i in range(21)], "label": labels}).to_csv(path, index=False)
    _expect_error(
        ["train", "--data", str(path), "--out", str(tmp_path / "o")],
        "dev split",
        "class 'c' has 1 row",
        "--dev-fraction",
    )
    small = tmp_path / "small.csv"
    pd.DataFrame({"text": [f"t {i}" for i in range(12)], "label": list("abc") * 4}).to_csv(small, index=False)
    _expect_error(
        ["train", "--data", str(small), "--dev-fraction", "0.1", "--out", str(tmp_path / "o")],
        "cannot hold every class",
    )


def test_dev_file_missing_a_class(frame_csv: Path, tmp_path: Path) -> None:
    dev = tmp_path / "dev.csv"
    pd.DataFrame({"text": ["x", "y"], "label": [0, 0]}).to_csv(dev, index=False)
    _expect_error(
        ["train", "--data", str(frame_csv), "--dev", str(dev), "--out", str(tmp_path / "o")],
        str(dev),
        "holds no 1 rows",
    )


def test_tags_that_do_not_match_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tags.csv"
    rows = [
        {"tokens": json.dumps(["anna", "smiled"]), "tags": json.dumps(["B-PER", "O"])},
        {"tokens": "bob met carol", "tags": "B-PER O"},
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    _expect_error(
        _tag_args(path, tmp_path),
        "data row 2 has 2 tags for 3 words",
        "one tag per word",
    )
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{"tokens": "bob", "tags": "PERSON"}]).to_csv(bad, index=False)
    _expect_error(
        _tag_args(bad, tmp_path),
        "not BIO",
    )


def test_out_must_be_new_or_overwritten(frame_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _expect_error(["train", "--data", str(frame_csv), "--out", str(out)], "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"


def test_reweigh_needs_sequence_task(tmp_path: Path) -> None:
    path = tmp_path / "tags.csv"
    pd.DataFrame([{"tokens": "bob ran", "tags": "B-PER O", "g": "a"}] * 10).to_csv(path, index=False)
    _expect_error(
        _tag_args(path, tmp_path, "--reweigh", "g"),
        "--reweigh g",
    )


def test_shipped_demo_data_fits_the_audit() -> None:
    """Enough rows per identity for fairness (30 of each label), pairs aligned and unseen."""
    from auditkit.plugins.assess.training.demo import (
        MADLIBS_FILE,
        PAIRS_COUNTERFACTUAL,
        PAIRS_ORIGINAL,
        TRAIN_FILE,
        data_dir,
        sources,
    )

    folder = data_dir()
    madlibs = pd.read_csv(folder / MADLIBS_FILE)
    cells = madlibs.groupby(["identity", "label"]).size()
    assert madlibs["identity"].nunique() == 50 and cells.min() >= 30
    original = pd.read_csv(folder / PAIRS_ORIGINAL)
    counterfactual = pd.read_csv(folder / PAIRS_COUNTERFACTUAL)
    assert list(original["rev_id"]) == list(counterfactual["rev_id"])
    assert (original["comment"] != counterfactual["comment"]).all()
    train = pd.read_csv(folder / TRAIN_FILE)
    assert not set(original["comment"]) & set(train["text"])
    assert set(train["label"]) == {"toxic", "non-toxic"}
    assert sum(s["rows"] for s in sources(folder) if s["use"] == "training") == len(train)
    licences = (folder / "SOURCES.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in licences and "Apache-2.0" in licences and "CC BY-SA" in licences
    assert sum(p.stat().st_size for p in folder.iterdir()) < 600_000  # keep the wheel small


def test_demo_data_is_declared_as_package_data() -> None:
    """Every shipped demo file matches a package-data pattern, so the wheel carries it."""
    import fnmatch

    from auditkit.plugins.assess.training.demo import data_dir

    from auditkit.config import tomllib

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    declared = patterns["auditkit.plugins.assess.training"]
    folder = data_dir()
    for path in folder.iterdir():
        name = f"data/{path.name}"
        assert any(fnmatch.fnmatch(name, p) for p in declared), f"{name} is not package data"


def test_demo_replaces_only_its_own_output(tmp_path: Path) -> None:
    from auditkit.plugins.assess.training.demo import TOOL, check_out

    check_out(tmp_path / "new")  # absent: fine
    (tmp_path / "empty").mkdir()
    check_out(tmp_path / "empty")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "training.json").write_text(json.dumps({"tool": TOOL}))
    check_out(earlier)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not an earlier demo model"):
        check_out(theirs)
    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "training.json").write_text(json.dumps({"tool": "auditkit train"}))
    with pytest.raises(UsageError, match="--out"):
        check_out(trained)
