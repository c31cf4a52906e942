"""Scoring what distill trained: the baselines, every paired verdict, metrics.json's records
and the warnings a user should read first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kdedge.baselines import Baseline, fit_baselines
from kdedge.contract import (BASELINES, MODEL_NAMES, STUDENT_ALL_FEATURES, BaselineMetrics,
                             DataInfo, Metrics, ModelMetrics, PairedComparison, Search,
                             SplitClassCounts, SplitSizes, TrainingHistory)
from kdedge.data import Classes, Dataset, Split
from kdedge.log import get_logger
from kdedge.metrics import agreement
from kdedge.verdicts import bootstrap_weights, paired_accuracy, paired_pr_auc, paired_recall

_log = get_logger("distill")
# The paired verdicts distill records, (a, b): a is the reference, b the model judged, so
# "b_worse" always reads "b is significantly worse than a". Baselines and the teacher are the
# references of the models distilled from or compared with them.
TEACHER_CHECK = ("majority", "teacher", "accuracy")  # Metrics.teacher_useful
ACCURACY_PAIRS = (
    ("majority", "teacher"), ("logreg_k", "teacher"), ("logreg_all", "teacher"),
    ("hgb_all", "teacher"),
    ("teacher", "student"), ("teacher", "student_no_kd"), ("student_no_kd", "student"),
    ("teacher", STUDENT_ALL_FEATURES), (STUDENT_ALL_FEATURES, "student"),
    ("majority", "student"), ("logreg_k", "student"), ("logreg_all", "student"),
    ("hgb_all", "student"),
)
# binary data: positive-class recall and PR-AUC, where a loss can hide behind flat accuracy
POSITIVE_PAIRS = (("teacher", "student"), ("student_no_kd", "student"))


@dataclass
class Trained:
    """A trained model with its training curves, test-split probabilities and metrics."""

    model: Any  # a torch Teacher/Student, or the GBDT teacher (HistGradientBoostingClassifier)
    history: TrainingHistory
    probabilities: np.ndarray  # [test rows, C], float64
    metrics: ModelMetrics


def data_record(ds: Dataset, split: Split, classes: Classes) -> DataInfo:
    """metrics.json's `data`: where the data came from, its classes and positive class, and the
    split sizes and class counts."""
    n_classes = len(ds.class_names)
    return DataInfo(
        source=ds.source, name=ds.name, target=ds.target, rows=ds.rows,
        features=len(ds.feature_names), classes=n_classes, class_names=ds.class_names,
        class_counts=ds.class_counts(),
        split=SplitSizes(train=split.n_train, val=int(len(split.y_val)),
                         test=int(len(split.y_test))),
        split_class_counts=SplitClassCounts(**split.class_counts(n_classes)),
        positive_class=classes.positive_name, positive_rule=classes.rule,
        sha256=ds.sha256, dropped_constant=ds.dropped_constant)


def paired_comparisons(y_test: np.ndarray, predictions: dict[str, np.ndarray], classes: Classes,
                       *, seed: int) -> list[PairedComparison]:
    """Every pair of ACCURACY_PAIRS (and, for binary data, of POSITIVE_PAIRS: positive-class
    recall and PR-AUC) compared row by row on the test split, all on one set of seeded
    bootstrap resamples."""
    resamples = bootstrap_weights(len(y_test), seed=seed)
    labels = {name: proba.argmax(axis=1) for name, proba in predictions.items()}
    found = [paired_accuracy(y_test, labels[a], labels[b], a=a, b=b, weights=resamples)
             for a, b in ACCURACY_PAIRS]
    positive = classes.positive
    for a, b in POSITIVE_PAIRS if positive is not None else ():
        found.append(paired_recall(y_test, labels[a], labels[b], positive, a=a, b=b,
                                   weights=resamples))
        found.append(paired_pr_auc(y_test, predictions[a][:, positive],
                                   predictions[b][:, positive], positive, a=a, b=b,
                                   weights=resamples))
    return [comparison for comparison in found if comparison is not None]


def teacher_is_useful(comparisons: list[PairedComparison]) -> bool:
    """The teacher is significantly more accurate than the majority class (paired)."""
    return next(c for c in comparisons if (c.a, c.b, c.metric) == TEACHER_CHECK).verdict == \
        "b_better"


def _interval(c: PairedComparison) -> str:
    p_value = "" if c.p_value is None else f", McNemar p = {c.p_value:.2g}"
    return (f"{c.value_b:.4f} vs {c.value_a:.4f}, paired 95% interval of the difference "
            f"[{100 * c.ci_low:+.2f}, {100 * c.ci_high:+.2f}] pt{p_value}")


def model_warnings(models: dict[str, ModelMetrics | BaselineMetrics],
                   comparisons: list[PairedComparison], classes: Classes) -> list[str]:
    """Problems worth stopping for, in the order a user should read them: a teacher no better
    than the majority class, a baseline better than the teacher, a model predicting one class."""
    found = []
    by_pair = {(c.a, c.b, c.metric): c for c in comparisons}
    useful = by_pair[TEACHER_CHECK]
    if not teacher_is_useful(comparisons):
        found.append(
            "the teacher is not significantly more accurate than always predicting the majority "
            f"class ({_interval(useful)}): it learned nothing useful from these features; check "
            "the target column and the features before trusting the students")
    for name in BASELINES[1:]:
        beaten = by_pair[name, "teacher", "accuracy"]
        if beaten.verdict == "b_worse":
            found.append(f"baseline {name} ({models[name].description}) is significantly more "
                         f"accurate than the teacher (teacher {_interval(beaten)}); consider it "
                         "instead, or a larger or longer-trained teacher")
    for name in MODEL_NAMES:
        metrics = models[name]
        if metrics.predicted_classes == 1:
            column = int(np.argmax(np.sum(metrics.confusion_matrix, axis=0)))
            found.append(f"{name} predicts one class ({classes.names[column]!r}) for every test "
                         f"row (balanced accuracy {metrics.balanced_accuracy:.3f})")
    return found


def metrics_record(trained: dict[str, Trained], baselines: dict[str, Baseline], ranking: dict,
                   data: DataInfo, comparisons: list[PairedComparison], classes: Classes,
                   search: Search) -> Metrics:
    """metrics.json from the trained models, the baselines, the paired verdicts (agreement on
    the test split) and the ranking; the warnings of `model_warnings`."""
    labels = {name: t.probabilities.argmax(1) for name, t in trained.items()}
    models = {**{name: t.metrics for name, t in trained.items()},
              **{name: b.metrics for name, b in baselines.items()}}
    agree = agreement(labels["teacher"], labels["student"])
    return Metrics(
        teacher=models["teacher"], student=models["student"],
        student_no_kd=models["student_no_kd"],
        student_all_features=models[STUDENT_ALL_FEATURES],
        baselines={name: b.metrics for name, b in baselines.items()}, comparisons=comparisons,
        teacher_useful=teacher_is_useful(comparisons),
        warnings=model_warnings(models, comparisons, classes) + (
            [] if search.met_target else [search.message]),
        agreement=agree, disagreement=1.0 - agree,
        agreement_no_kd=agreement(labels["teacher"], labels["student_no_kd"]),
        kd_gain=models["student"].accuracy - models["student_no_kd"].accuracy,
        selected_features=list(ranking["selected"]),
        feature_importance=ranking["importance"], feature_importance_std=ranking["importance_std"],
        importance_method=ranking["method"], data=data,
        teacher_kind=models["teacher"].family if models["teacher"].family == "gbdt" else "mlp",
        student_search=search.message if search.mode == "search" else None)


def evaluate(trained: dict[str, Trained], ds: Dataset, split: Split, classes: Classes,
             ranking: dict, selected_index: list[int], search: Search, *,
             seed: int) -> tuple[Metrics, dict[str, np.ndarray], dict[str, Baseline]]:
    """Fit the baselines, judge every pair row by row, build metrics.json and log its warnings.

    Returns:
        (metrics.json's record, predictions.npz's arrays: every model's and baseline's
        test-split probabilities, the fitted baselines)
    """
    _log.info("[5/5] baselines (majority, logistic regressions, gradient boosting) and "
              "paired verdicts")
    baselines = fit_baselines(split, selected_index, classes, seed=seed)
    predictions = {**{name: t.probabilities for name, t in trained.items()},
                   **{name: b.probabilities for name, b in baselines.items()}}
    comparisons = paired_comparisons(split.y_test, predictions, classes, seed=seed)
    metrics = metrics_record(trained, baselines, ranking, data_record(ds, split, classes),
                             comparisons, classes, search)
    for warning in metrics.warnings:
        _log.warning(warning)  # shown even with --quiet
    return metrics, predictions, baselines

