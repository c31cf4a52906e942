import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from kdedge.contract import ClassificationMetrics, ClassScore, ModelMetrics
from kdedge.metrics import agreement, classification_metrics, extend
from kdedge.verdicts import bootstrap_weights, paired_recall

BINARY = ["0", "1"]


def test_classification_metrics_binary_known_answer():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.35, 0.65], [0.2, 0.8]])
    m = classification_metrics(y, proba, class_names=BINARY, positive=1)
    assert isinstance(m, ClassificationMetrics)
    assert m.accuracy == 0.75
    assert m.roc_auc == 1.0  # every positive scores above every negative
    assert m.pr_auc == 1.0
    # class 0: 1 predicted, 1 right; class 1: 3 predicted, 2 right; weighted by support 2 and 2
    assert m.precision_weighted == pytest.approx((1.0 * 2 + (2 / 3) * 2) / 4)
    assert m.recall_weighted == pytest.approx(0.75)  # weighted recall equals accuracy
    assert m.balanced_accuracy == pytest.approx((1 / 2 + 2 / 2) / 2)  # mean of the recalls
    f1_zero, f1_one = 2 * 1 * 0.5 / 1.5, 2 * (2 / 3) * 1 / (5 / 3)
    assert m.f1_macro == pytest.approx((f1_zero + f1_one) / 2)
    assert m.f1_weighted == pytest.approx((f1_zero + f1_one) / 2)  # equal supports
    assert m.per_class == [ClassScore("0", 1.0, 0.5, pytest.approx(f1_zero), 2),
                           ClassScore("1", pytest.approx(2 / 3), 1.0, pytest.approx(f1_one), 2)]
    assert m.confusion_matrix == [[1, 1], [0, 2]]
    assert m.predicted_classes == 2 and m.positive == m.per_class[1]
    assert m.log_loss == pytest.approx(-(math.log(0.9) + math.log(0.4) + math.log(0.65)
                                         + math.log(0.8)) / 4)


def test_classification_metrics_binary_areas_are_those_of_the_positive_class():
    """The positive class is index 0 here: its AUCs, not those of the label that sorts second."""
    y = np.array([0, 0, 0, 1, 1, 1, 1, 1])  # class 0 ("fault") is the minority
    proba1 = np.array([0.2, 0.6, 0.3, 0.7, 0.4, 0.9, 0.8, 0.75])
    proba = np.c_[1 - proba1, proba1]
    m = classification_metrics(y, proba, class_names=["fault", "ok"], positive=0)
    assert m.positive.name == "fault" and m.positive.support == 3
    assert m.roc_auc == pytest.approx(roc_auc_score(y == 0, proba[:, 0]))
    assert m.pr_auc == pytest.approx(average_precision_score(y == 0, proba[:, 0]))
    ok = classification_metrics(y, proba, class_names=["fault", "ok"], positive=1)
    assert m.pr_auc != pytest.approx(ok.pr_auc)  # the choice matters for PR-AUC …
    assert m.roc_auc == pytest.approx(ok.roc_auc)  # … not for binary ROC-AUC
    assert ok.positive.name == "ok"


def test_classification_metrics_multiclass_macro_ovr_known_answer():
    y = np.array([0, 1, 2, 2])
    proba = np.eye(3)[[0, 1, 2, 1]] * 0.8 + 0.2 / 3
    m = classification_metrics(y, proba, class_names=["a", "b", "c"], positive=None)
    assert m.accuracy == 0.75 and m.positive is None
    # One-vs-rest AUC by pairs (ties count 1/2): class 0 → 1; class 1 → 2.5/3; class 2 → 3/4.
    assert m.roc_auc == pytest.approx((1 + 2.5 / 3 + 3 / 4) / 3)
    assert m.roc_auc == pytest.approx(roc_auc_score(y, proba, multi_class="ovr",
                                                    average="macro"))
    # Average precision: class 0 → 1; class 1 (its top score ties a negative) → 1/2;
    # class 2 → 1·1/2 + 1/2·1/2 = 3/4.
    assert m.pr_auc == pytest.approx((1 + 0.5 + 0.75) / 3)
    assert m.balanced_accuracy == pytest.approx((1 + 1 + 0.5) / 3)
    assert m.confusion_matrix == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert [c.support for c in m.per_class] == [1, 1, 2]


def test_classification_metrics_imbalanced_majority_only_predictor():
    """3% positives, a model that always predicts the majority class: accuracy looks fine, the
    figures that matter say it found nothing, and the paired recall verdict is a loss against
    a model that finds positives."""
    y = np.r_[np.zeros(970, dtype=int), np.ones(30, dtype=int)]
    lazy = np.tile([0.9, 0.1], (1000, 1))
    finder = lazy.copy()
    finder[970:995] = [0.2, 0.8]  # finds 25 of the 30 positives
    m = classification_metrics(y, lazy, class_names=["ok", "fault"], positive=1)
    assert m.accuracy == 0.97 and m.predicted_classes == 1
    assert m.positive.recall == 0.0 and m.positive.precision == 0.0  # zero_division=0
    assert m.balanced_accuracy == 0.5
    assert m.confusion_matrix == [[970, 0], [30, 0]]
    verdict = paired_recall(y, finder.argmax(1), lazy.argmax(1), 1, a="finder", b="lazy",
                            weights=bootstrap_weights(1000, seed=0))
    assert (verdict.value_a, verdict.value_b) == (25 / 30, 0.0)
    assert verdict.verdict == "b_worse" and verdict.only_a == 25 and verdict.only_b == 0


def test_classification_metrics_missing_class_gives_none():
    m = classification_metrics(np.array([0, 0]), np.array([[0.7, 0.3], [0.6, 0.4]]),
                               class_names=BINARY, positive=1)
    assert m.roc_auc is None and m.pr_auc is None and m.accuracy == 1.0
    assert m.positive == ClassScore("1", 0.0, 0.0, 0.0, 0)


def test_classification_metrics_log_loss_of_a_zero_probability_is_finite():
    m = classification_metrics(np.array([0, 1]), np.array([[1.0, 0.0], [1.0, 0.0]]),
                               class_names=BINARY, positive=1)
    assert m.log_loss == pytest.approx(-math.log(1e-15) / 2)  # clipped at 1e-15


@pytest.mark.parametrize("class_names, positive, message", [
    (BINARY, None, "binary data needs positive = 0 or 1"),
    (BINARY, 2, "binary data needs positive = 0 or 1"),
    (["a", "b", "c"], 1, "positive must be None for 3 classes"),
    (["a", "b", "c"], None, r"probabilities has shape \(2, 2\), expected \[rows, 3\]"),
])
def test_classification_metrics_refuses_an_inconsistent_positive(class_names, positive, message):
    proba = np.array([[0.7, 0.3], [0.2, 0.8]])
    if positive is not None and len(class_names) == 3:
        proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1]])
    with pytest.raises(ValueError, match=message):
        classification_metrics(np.array([0, 1]), proba, class_names=class_names,
                               positive=positive)


def test_extend_keeps_every_metric_and_adds_the_record_fields():
    m = classification_metrics(np.array([0, 1]), np.array([[0.7, 0.3], [0.2, 0.8]]),
                               class_names=BINARY, positive=1)
    model = extend(m, ModelMetrics, params=1, macs=2, flops=4, macs_unfolded=3, weight_bytes=4,
                   n_features=1, best_epoch=0)
    assert isinstance(model, ModelMetrics) and model.accuracy == 1.0 and model.macs == 2
    assert ClassificationMetrics.from_json(m.to_json()) == m


def test_agreement():
    assert agreement([0, 1, 1, 2], [0, 1, 2, 2]) == 0.75
