"""Classification metrics from predicted probabilities (scikit-learn does the arithmetic)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray) -> dict:
    """accuracy; weighted precision/recall/f1; roc_auc and pr_auc; log_loss.

    roc_auc and pr_auc (average precision) are those of the positive class (index 1) for binary
    data and the macro one-vs-rest average for multi-class data; None where undefined (a class
    missing from `y_true`).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n_classes = probabilities.shape[1]
    y_pred = probabilities.argmax(axis=1)
    labels = np.arange(n_classes)
    out = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, labels=labels, average="weighted",
                                               zero_division=0)),
        "recall": float(skm.recall_score(y_true, y_pred, labels=labels, average="weighted",
                                         zero_division=0)),
        "f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "log_loss": float(skm.log_loss(y_true, np.clip(probabilities, 1e-15, 1.0), labels=labels)),
    }
    present = np.unique(y_true)
    if len(present) < n_classes:
        out["roc_auc"] = out["pr_auc"] = None
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if n_classes == 2:
            out["roc_auc"] = float(skm.roc_auc_score(y_true, probabilities[:, 1]))
            out["pr_auc"] = float(skm.average_precision_score(y_true, probabilities[:, 1]))
        else:
            onehot = label_binarize(y_true, classes=labels)
            out["roc_auc"] = float(skm.roc_auc_score(onehot, probabilities, average="macro"))
            out["pr_auc"] = float(skm.average_precision_score(onehot, probabilities, average="macro"))
    return out


def agreement(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """Fraction of rows on which two models predict the same class."""
    return float(np.mean(np.asarray(labels_a) == np.asarray(labels_b)))
