"""Classification metrics from predicted probabilities (scikit-learn does the arithmetic).

Every averaged figure says which average it is: `*_weighted` (by class support; weighted recall
equals accuracy), `*_macro` (each class counts the same; balanced accuracy is the macro recall).
For binary data one class is the positive class (`kdedge.data.positive_class`): roc_auc, pr_auc
and `positive` are that class's, whatever index it has.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from kdedge.contract import ClassificationMetrics, ClassScore

LOG_LOSS_CLIP = 1e-15  # a probability of exactly 0 on the true class costs -log(1e-15), not inf


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray, *,
                           class_names: list[str], positive: int | None) -> ClassificationMetrics:
    """Quality of `probabilities` [rows, C] against class indices `y_true`; labels are argmax.

    Args:
        class_names: the C class labels (names `per_class` and `positive`).
        positive: binary data: the index of the positive class; None for multi-class data.

    roc_auc and pr_auc (average precision) are those of the positive class for binary data and
    the macro one-vs-rest averages for multi-class data; None where undefined (a class missing
    from `y_true`).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true)
    _check_positive(probabilities, class_names, positive)
    labels = np.arange(len(class_names))
    y_pred = probabilities.argmax(axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    weighted = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                   average="weighted", zero_division=0)
    per_class = [ClassScore(name=name, precision=float(p), recall=float(r), f1=float(f),
                            support=int(s))
                 for name, p, r, f, s in zip(class_names, precision, recall, f1, support)]
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": handled below
        warnings.simplefilter("ignore", UserWarning)
        balanced = skm.balanced_accuracy_score(y_true, y_pred)
    roc_auc, pr_auc = _areas(y_true, probabilities, positive)
    return ClassificationMetrics(
        accuracy=float(skm.accuracy_score(y_true, y_pred)), balanced_accuracy=float(balanced),
        precision_weighted=float(weighted[0]), recall_weighted=float(weighted[1]),
        f1_weighted=float(weighted[2]),
        f1_macro=float(skm.f1_score(y_true, y_pred, labels=labels, average="macro",
                                    zero_division=0)),
        log_loss=float(skm.log_loss(y_true, np.clip(probabilities, LOG_LOSS_CLIP, 1.0),
                                    labels=labels)),
        roc_auc=roc_auc, pr_auc=pr_auc, per_class=per_class,
        confusion_matrix=skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        predicted_classes=int(len(np.unique(y_pred))),
        positive=None if positive is None else per_class[positive])


def _check_positive(probabilities: np.ndarray, class_names: list[str],
                    positive: int | None) -> None:
    """Internal-use checks (callers pass the run's own values): a kdedge bug if they fail."""
    n_classes = len(class_names)
    if probabilities.ndim != 2 or probabilities.shape[1] != n_classes:
        raise ValueError(f"probabilities has shape {probabilities.shape}, expected [rows, "
                         f"{n_classes}] for class_names {class_names}")
    if n_classes == 2 and positive not in (0, 1):
        raise ValueError(f"binary data needs positive = 0 or 1 (the positive class's index in "
                         f"{class_names}), got {positive!r}")
    if n_classes > 2 and positive is not None:
        raise ValueError(f"positive must be None for {n_classes} classes, got {positive!r}")


def _areas(y_true: np.ndarray, probabilities: np.ndarray,
           positive: int | None) -> tuple[float | None, float | None]:
    """(roc_auc, pr_auc): of the positive class (binary) or macro one-vs-rest (multi-class)."""
    n_classes = probabilities.shape[1]
    if len(np.unique(y_true)) < n_classes:
        return None, None
    if positive is not None:
        is_positive, scores = y_true == positive, probabilities[:, positive]
        return (float(skm.roc_auc_score(is_positive, scores)),
                float(skm.average_precision_score(is_positive, scores)))
    onehot = label_binarize(y_true, classes=np.arange(n_classes))
    return (float(skm.roc_auc_score(onehot, probabilities, average="macro")),
            float(skm.average_precision_score(onehot, probabilities, average="macro")))


def extend(metrics: ClassificationMetrics, record: type, **extra) -> ClassificationMetrics:
    """`metrics` as a record that extends ClassificationMetrics (ModelMetrics, BaselineMetrics),
    with that record's `extra` fields."""
    shared = {spec.name: getattr(metrics, spec.name)
              for spec in dataclasses.fields(ClassificationMetrics)}
    return record(**shared, **extra)


def agreement(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """Fraction of rows on which two models predict the same class."""
    return float(np.mean(np.asarray(labels_a) == np.asarray(labels_b)))
