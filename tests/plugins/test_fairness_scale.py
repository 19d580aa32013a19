"""The fairness plugin's large-data shortcuts change no result at small n: the what-if's fitting
sample, charts left undrawn when no report shows them, the overall AUC from the DeLong pass,
dense aggregation matrices and radix-sorted group codes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from auditkit.plugins.assess.fairness import engine, mitigation
from auditkit.plugins.assess.fairness.delong_groups import group_delong
from auditkit.plugins.assess.fairness.groups import Grouping
from fairnessaudit import assess, fairness_audit

from auditkit.audit import Audit
from auditkit.charts import drawn_for
from auditkit.classification_scores import roc_auc_score
from auditkit.errors import ConfigError

LABELS = ["neg", "pos"]


def make_audit(frame: pd.DataFrame, y: Any, yhat: Any, scores: Any, config: dict[str, Any]) -> Audit:
    return fairness_audit(frame, y, yhat, scores, config=config, labels=LABELS)


def biased(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], size=n, p=[0.55, 0.4, 0.05]).astype(object)
    y = (rng.random(n) < 0.4).astype(int)
    scores = np.clip(0.3 * y + 0.55 * rng.random(n) + 0.2 * (g == "b"), 0, 1)
    labels = np.where(y == 1, "pos", "neg")
    return pd.DataFrame({"g": g}), labels, np.where(scores > 0.5, "pos", "neg"), scores



# ------------------------------------------------------------------ the what-if's fitting sample


def test_fit_sample_keeps_rows_that_fit_and_samples_proportionally_by_stratum() -> None:
    rows = np.arange(0, 2000, 2)  # 1,000 rows
    strata = np.repeat([0, 1, 2, 3], [700, 200, 99, 1])
    assert mitigation.fit_sample(rows, strata, 1000, 0) is rows
    assert mitigation.fit_sample(rows, strata, 0, 0) is rows
    picked = mitigation.fit_sample(rows, strata, 100, seed=7)
    assert len(picked) == 100 and len(np.unique(picked)) == 100 and np.isin(picked, rows).all()
    assert (np.diff(picked) > 0).all()
    counts = np.bincount(strata[np.searchsorted(rows, picked)], minlength=4)
    # one row each, then 96 more shared as 699 : 199 : 98 : 0 of 996, i.e. 67.37, 19.18, 9.45, 0:
    # floors 67 + 19 + 9 = 95, and the one left over goes to the largest remainder (9.45)
    share = np.array([699, 199, 98, 0]) * 96 / 996
    assert counts.tolist() == (1 + np.floor(share) + [0, 0, 1, 0]).astype(int).tolist() == [68, 20, 11, 1]
    assert np.array_equal(picked, mitigation.fit_sample(rows, strata, 100, seed=7))  # seeded
    assert not np.array_equal(picked, mitigation.fit_sample(rows, strata, 100, seed=8))


def _grouping(frame: pd.DataFrame) -> Grouping:
    from auditkit.plugins.assess.fairness.groups import encode_feature

    return encode_feature(frame["g"], "g")


def test_the_what_if_is_unchanged_when_the_half_fits_in_max_rows() -> None:
    frame, y, yhat, scores = biased(2000, seed=1)
    yi, yh = (y == "pos").astype(np.int64), (yhat == "pos").astype(np.int64)
    grouping = _grouping(frame)
    constraints = ["demographic_parity", "equalized_odds"]
    whole = mitigation.what_if(scores, yi, yh, grouping, constraints, 0, 0)
    capped = mitigation.what_if(scores, yi, yh, grouping, constraints, 0, 100_000)
    assert whole is not None and capped is not None
    half = int((np.bincount(grouping.codes) // 2).sum())  # each group's first half (rounded down) fits
    assert capped == whole and capped.fit_rows == capped.train_rows == half


def test_at_large_n_the_thresholds_come_from_the_sample(monkeypatch) -> None:
    from auditkit.plugins.assess.fairness import threshold_search

    frame, y, yhat, scores = biased(6000, seed=2)
    yi, yh = (y == "pos").astype(np.int64), (yhat == "pos").astype(np.int64)
    grouping = _grouping(frame)
    fitted: list[np.ndarray] = []
    real_fit = threshold_search.fit

    def spy(scores: Any, *args: Any, **kwargs: Any) -> Any:
        fitted.append(np.asarray(scores).copy())
        return real_fit(scores, *args, **kwargs)

    monkeypatch.setattr(threshold_search, "fit", spy)
    sampled = mitigation.what_if(scores, yi, yh, grouping, ["demographic_parity"], 3, 500)
    whole = mitigation.what_if(scores, yi, yh, grouping, ["demographic_parity"], 3, 0)
    assert sampled is not None and whole is not None
    half = int((np.bincount(grouping.codes) // 2).sum())
    assert sampled.fit_rows == 500 and len(fitted[0]) == 500 and len(fitted[1]) == whole.train_rows == half
    # the halves of the seeded stratified split; the sample from the fitting one, the other measured whole
    rows = np.arange(6000)
    train, test = mitigation.stratified_halves(rows, grouping.codes, 3)
    assert (sampled.train_rows, sampled.test_rows) == (len(train), len(test))
    assert np.isin(fitted[0], scores[train]).all() and not np.isin(scores[test], fitted[0]).all()
    assert sampled.runs[0].accuracy_before == pytest.approx((yi[test] == yh[test]).mean(), abs=1e-15)
    assert sampled.runs[0].thresholds != whole.runs[0].thresholds or sampled.fit_rows != whole.fit_rows


def test_stratified_halves_split_each_group_in_two() -> None:
    rows = np.arange(10, 1010)
    codes = np.repeat([0, 2, 3], [601, 300, 99])  # group 1 has no rows
    train, test = mitigation.stratified_halves(rows, codes, 4)
    assert len(np.intersect1d(train, test)) == 0 and np.array_equal(np.sort(np.r_[train, test]), rows)
    by_code = dict(zip(rows, codes, strict=True))
    assert [sum(by_code[r] == c for r in train) for c in (0, 2, 3)] == [300, 150, 49]
    again, _ = mitigation.stratified_halves(rows, codes, 4)
    other, _ = mitigation.stratified_halves(rows, codes, 5)
    assert np.array_equal(train, again) and not np.array_equal(np.sort(train), np.sort(other))


def test_the_section_names_the_sample_and_the_option_has_a_maximum() -> None:
    frame, y, yhat, scores = biased(4000, seed=3)
    config = {"bootstrap": 0, "auc_bootstrap": 0, "mitigation_max_rows": 1000}
    section = assess(make_audit(frame, y, yhat, scores, config))
    half = sum(n // 2 for n in frame["g"].value_counts())  # each group's fitting half, rounded down
    assert section.data["mitigation"]["fit_rows"] == 1000 and section.data["mitigation"]["train_rows"] == half
    table = next(t for t in section.tables if t.name == "mitigation")
    assert f"a seeded sample of 1,000 of one half's {half:,} rows" in table.note
    default = assess(make_audit(frame, y, yhat, scores, {"bootstrap": 0, "auc_bootstrap": 0}))
    note = next(t for t in default.tables if t.name == "mitigation").note
    assert note.startswith("A what-if: thresholds fitted on one half, measured on the other. Fitted by fairlearn's")
    assert "NumPy port" in note
    with pytest.raises(ConfigError, match=r"mitigation_max_rows"):
        make_audit(frame, y, yhat, scores, {"mitigation_max_rows": 10**8})


# ------------------------------------------------------------------ charts


def test_charts_are_drawn_only_for_formats_that_show_them() -> None:
    assert drawn_for(None) and drawn_for(["json", "html"]) and drawn_for(["pdf"]) and drawn_for(["docx"])
    assert not drawn_for(["json"]) and not drawn_for(["json", "md", "junit"])
    frame, y, yhat, scores = biased(3000, seed=4)
    config = {"bootstrap": 50, "auc_bootstrap": 20}
    shown = make_audit(frame, y, yhat, scores, config)
    shown.formats = ["json", "html"]
    hidden = make_audit(frame, y, yhat, scores, config)
    hidden.formats = ["json", "md"]
    drawn, undrawn = assess(shown), assess(hidden)
    assert drawn.charts and all(c.svg.startswith("<svg") for c in drawn.charts)
    assert undrawn.charts and all(c.svg == "" for c in undrawn.charts)
    assert undrawn.to_json() == drawn.to_json()  # audit.json is the same either way


# ------------------------------------------------------------------ AUCs and aggregation


def test_the_overall_auc_from_the_delong_pass_equals_roc_auc_score() -> None:
    frame, y, yhat, scores = biased(6000, seed=5)
    scores = scores.round(2)  # many ties
    config = {"bootstrap": 0, "auc_interval": "delong", "mitigation": False}
    section = assess(make_audit(frame, y, yhat, scores, config))
    expected = roc_auc_score(y == "pos", scores)
    assert section.data["overall"]["auc"] == pytest.approx(expected, abs=1e-12)


def test_group_delong_is_the_same_with_radix_sorted_codes() -> None:
    rng = np.random.default_rng(6)
    n, size = 3000, 7
    s = np.sort(rng.random(n).round(2))
    pos = rng.random(n) < 0.4
    codes = rng.integers(-1, size, n)
    from auditkit.plugins.assess.fairness.delong import tie_blocks

    lo, hi = tie_blocks(s)
    out = group_delong(s, pos, codes, size, lo, hi)
    for g in range(size):  # each group's own AUC, by the pairwise definition
        mine = codes == g
        p, q = s[mine & pos], s[mine & ~pos]
        auc = ((p[:, None] > q[None, :]) + 0.5 * (p[:, None] == q[None, :])).mean()
        assert out["auc"][0][g] == pytest.approx(auc, abs=1e-12)


def test_a_dense_aggregation_matrix_sums_as_the_sparse_one(monkeypatch) -> None:
    rng = np.random.default_rng(7)
    n = 5000
    frame = pd.DataFrame({"a": rng.choice(list("pqrs"), n), "b": rng.choice(["x", "y", None], n)})
    from auditkit.plugins.assess.fairness.groups import build_groupings

    groupings = build_groupings(frame, ["a", "b"], True, 50, 200)
    y, yhat = rng.integers(0, 2, n), rng.integers(0, 2, n)
    cells = engine.confusion_cells(groupings, y, yhat, 2)
    draws = next(engine.draw_replicates(cells, 30, seed=1))
    dense = [engine.Aggregator(cells, g) for g in groupings]
    assert all(isinstance(a.matrix, np.ndarray) for a in dense)
    monkeypatch.setattr(engine, "_DENSE_MATRIX_LIMIT", 0)
    sparse = [engine.Aggregator(cells, g) for g in groupings]
    assert not any(isinstance(a.matrix, np.ndarray) for a in sparse)
    for d, s, g in zip(dense, sparse, groupings, strict=True):
        assert np.array_equal(d(cells.counts), s(cells.counts)) and np.array_equal(d(draws), s(draws))
        # and by hand: group rows x confusion entry, counted from the rows
        expect = np.zeros((len(g.groups), 4))
        np.add.at(expect, (g.codes[g.codes >= 0], (y * 2 + yhat)[g.codes >= 0]), 1)
        assert np.array_equal(d(cells.counts), expect)


def test_the_what_if_starts_on_the_spare_core_before_the_aucs(monkeypatch) -> None:
    from auditkit.plugins.assess.fairness import assess as assess_module
    from auditkit.plugins.assess.fairness import run as fairness_run

    calls: list[str] = []
    real_start, real_aucs = fairness_run.WhatIfSource.start, assess_module.add_aucs
    monkeypatch.setattr(fairness_run, "cores", lambda: 2)
    monkeypatch.setattr(fairness_run, "_fairlearn_loaded", lambda: False)  # as in `auditkit run`
    started = lambda self, g: calls.append("start") or real_start(self, g)  # noqa: E731
    monkeypatch.setattr(fairness_run.WhatIfSource, "start", started)
    monkeypatch.setattr(assess_module, "add_aucs", lambda *a: calls.append("aucs") or real_aucs(*a))
    frame, y, yhat, scores = biased(2000, seed=8)
    config = {"bootstrap": 0, "mitigation_engine": "fairlearn"}  # fairlearn's class: in the warm process
    there = assess(make_audit(frame, y, yhat, scores, config)).data
    assert calls == ["start", "aucs"]
    monkeypatch.setattr(fairness_run, "cores", lambda: 1)  # fitted here, after the AUCs: the same result
    here = assess(make_audit(frame, y, yhat, scores, config)).data
    assert there["mitigation"] == here["mitigation"] and there["mitigation"]["runs"]
    assert there["groups"] == here["groups"]
