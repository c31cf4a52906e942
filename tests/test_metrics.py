import numpy as np
import pytest

from kdedge.metrics import agreement, classification_metrics


def test_classification_metrics_binary_known_answer():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.35, 0.65], [0.2, 0.8]])
    m = classification_metrics(y, proba)
    assert m["accuracy"] == 0.75
    assert m["roc_auc"] == 1.0  # every positive scores above every negative
    assert m["pr_auc"] == 1.0
    assert m["precision"] == pytest.approx((1.0 * 2 + (2 / 3) * 2) / 4)


def test_classification_metrics_multiclass_macro_ovr():
    y = np.array([0, 1, 2, 2])
    proba = np.eye(3)[[0, 1, 2, 1]] * 0.8 + 0.2 / 3
    m = classification_metrics(y, proba)
    assert m["accuracy"] == 0.75 and 0 < m["roc_auc"] <= 1 and 0 < m["pr_auc"] <= 1


def test_classification_metrics_missing_class_gives_none():
    m = classification_metrics(np.array([0, 0]), np.array([[0.7, 0.3], [0.6, 0.4]]))
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["accuracy"] == 1.0


def test_agreement():
    assert agreement([0, 1, 1, 2], [0, 1, 2, 2]) == 0.75
