"""The NumPy classification scores equal scikit-learn's on the inputs audits give them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from auditkit import classification_scores as cs


def _labels(rng: np.random.Generator, n: int, names: list[str]) -> np.ndarray:
    return np.asarray(rng.choice(names, size=n), dtype=object)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_scores_and_averages_equal_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = _labels(rng, 500, ["neg", "pos", "neutral"])
    y_pred = _labels(rng, 500, ["neg", "pos", "other"])  # "other" is never true, "neutral" never predicted
    labels = ["neg", "pos", "neutral", "other"]
    ours = cs.precision_recall_fscore_support(y_true, y_pred, labels)
    theirs = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    for mine, ref in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(cs.confusion_matrix(y_true, y_pred, labels),
                                  skm.confusion_matrix(y_true, y_pred, labels=labels))
    assert cs.accuracy_score(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    with pytest.warns(UserWarning):  # sklearn warns of the label never true, and leaves it out; so do we
        reference = skm.balanced_accuracy_score(y_true, y_pred)
    assert cs.balanced_accuracy_score(y_true, y_pred) == pytest.approx(reference, abs=1e-12)
    for average in ("macro", "weighted"):
        assert cs.f1_score(y_true, y_pred, average) == pytest.approx(
            skm.f1_score(y_true, y_pred, average=average, zero_division=0), abs=1e-12)


def test_confusion_matrix_drops_rows_outside_the_labels() -> None:
    y_true = np.array(["a", "b", "c", "a"], dtype=object)
    y_pred = np.array(["a", "c", "b", "b"], dtype=object)
    assert cs.confusion_matrix(y_true, y_pred, ["a", "b"]).tolist() == [[1, 1], [0, 0]]  # by hand


def test_binary_scores_equal_sklearn_including_zero_division() -> None:
    rng = np.random.default_rng(3)
    y_true = _labels(rng, 300, ["toxic", "ok"])
    y_pred = _labels(rng, 300, ["toxic", "ok"])
    ours = cs.binary_scores(y_true, y_pred, "toxic")
    for name, scorer in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        assert ours[name] == pytest.approx(scorer(y_true, y_pred, pos_label="toxic", zero_division=0), abs=1e-12)
    never = cs.binary_scores(y_true, np.full(300, "ok", dtype=object), "toxic")
    assert never == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_binary_scores_refuse_a_third_label_as_sklearn_does() -> None:
    y_true, y_pred = ["toxic", "ok", "unsure"], ["toxic", "ok", "ok"]
    with pytest.raises(ValueError, match="multiclass"):
        skm.precision_score(y_true, y_pred, pos_label="toxic")
    with pytest.raises(ValueError, match=r"at most two labels.*3"):
        cs.binary_scores(y_true, y_pred, "toxic")


@pytest.mark.parametrize("ties", [False, True])
def test_roc_curve_and_auc_equal_sklearn(ties: bool) -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(2000) < 0.3).astype(int)
    score = rng.normal(size=2000) + y
    if ties:
        score = np.round(score, 1)  # many tied scores, positives and negatives among them
    fpr, tpr, thresholds = cs.roc_curve(y, score)
    ref_fpr, ref_tpr, ref_thr = skm.roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tpr, ref_tpr, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(thresholds, ref_thr)
    assert cs.roc_auc_score(y, score) == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)


def test_roc_auc_by_hand_and_one_class_refused() -> None:
    # positives 0.8 and 0.4; negatives 0.4 and 0.1: pairs (0.8 > 0.4), (0.8 > 0.1), (0.4 = 0.4: half), (0.4 > 0.1)
    assert cs.roc_auc_score([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]) == pytest.approx(3.5 / 4)
    with pytest.raises(ValueError, match="one class"):
        cs.roc_auc_score([1, 1], [0.2, 0.3])
