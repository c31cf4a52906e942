import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from kdedge.metrics import agreement, classification_metrics


def test_classification_metrics_binary_known_answer():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.35, 0.65], [0.2, 0.8]])
    m = classification_metrics(y, proba)
    assert m["accuracy"] == 0.75
    assert m["roc_auc"] == 1.0  # every positive scores above every negative
    assert m["pr_auc"] == 1.0
    # class 0: 1 predicted, 1 right; class 1: 3 predicted, 2 right; weighted by support 2 and 2
    assert m["precision"] == pytest.approx((1.0 * 2 + (2 / 3) * 2) / 4)
    assert m["recall"] == pytest.approx(0.75)  # weighted recall equals accuracy
    assert m["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.4) + math.log(0.65)
                                            + math.log(0.8)) / 4)


def test_classification_metrics_binary_auc_is_that_of_class_one():
    """Positives score lower on class 1 than negatives: AUC 0, not the 1 that class 0 gives."""
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]])
    m = classification_metrics(y, proba)
    assert m["roc_auc"] == 0.0
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, proba[:, 1]))


def test_classification_metrics_multiclass_macro_ovr_known_answer():
    y = np.array([0, 1, 2, 2])
    proba = np.eye(3)[[0, 1, 2, 1]] * 0.8 + 0.2 / 3
    m = classification_metrics(y, proba)
    assert m["accuracy"] == 0.75
    # One-vs-rest AUC by pairs (ties count 1/2): class 0 → 1; class 1 → 2.5/3; class 2 → 3/4.
    assert m["roc_auc"] == pytest.approx((1 + 2.5 / 3 + 3 / 4) / 3)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr",
                                                       average="macro"))
    # Average precision: class 0 → 1; class 1 (its top score ties a negative) → 1/2;
    # class 2 → 1·1/2 + 1/2·1/2 = 3/4.
    assert m["pr_auc"] == pytest.approx((1 + 0.5 + 0.75) / 3)


def test_classification_metrics_missing_class_gives_none():
    m = classification_metrics(np.array([0, 0]), np.array([[0.7, 0.3], [0.6, 0.4]]))
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["accuracy"] == 1.0


def test_classification_metrics_log_loss_of_a_zero_probability_is_finite():
    m = classification_metrics(np.array([0, 1]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert m["log_loss"] == pytest.approx(-math.log(1e-15) / 2)  # clipped at 1e-15


def test_agreement():
    assert agreement([0, 1, 1, 2], [0, 1, 2, 2]) == 0.75
