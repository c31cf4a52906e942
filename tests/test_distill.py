import dataclasses
import logging
import shutil
import sys
import warnings
from importlib import metadata

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from kdedge import contract, rundir
from kdedge.artifacts import load_run
from kdedge.contract import (BASELINES, EXPORTED_BASELINES, MODEL_NAMES, PREDICTION_KEYS, STUDENT_ALL_FEATURES,
                             ClassificationMetrics, Metrics, SplitClassCounts, SplitSizes,
                             read_record)
from kdedge.data import positive_class
from kdedge.distill import distill, probabilities
from kdedge.evaluation import (ACCURACY_PAIRS, POSITIVE_PAIRS, model_warnings, paired_comparisons,
                               teacher_is_useful)
from kdedge.metrics import classification_metrics, extend
from kdedge.rundir import KdedgeError
from kdedge.verdicts import bootstrap_weights, paired_accuracy, paired_pr_auc, paired_recall

RUN_FILES = {contract.RUN_JSON, contract.METRICS_JSON, contract.MODELS_JSON,
             contract.PREPROCESSING_JSON, contract.HISTORY_JSON, contract.SPLIT_NPZ,
             contract.PREDICTIONS_NPZ, contract.SEARCH_JSON,
             *(contract.weights_file(name) for name in MODEL_NAMES + EXPORTED_BASELINES)}


def test_distill_writes_the_run_directory_contract(small_run):
    assert {p.name for p in small_run.iterdir()} == RUN_FILES
    manifest = rundir.read_manifest(small_run)
    assert set(manifest.artifacts) == RUN_FILES - {contract.RUN_JSON}
    for name, digest in manifest.artifacts.items():
        assert rundir.sha256_file(small_run / name) == digest
    assert manifest.seed == 0 and manifest.versions["torch"] == metadata.version("torch")
    assert manifest.config["features"] == 6  # the resolved k, not the None that asked for it


def test_distill_metrics_known_answers(small_run):
    metrics = load_run(small_run).metrics
    for name in MODEL_NAMES:
        assert metrics.model(name).flops == 2 * metrics.model(name).macs
    assert metrics.teacher.params == 37_506 and metrics.teacher.macs == 36_352
    assert metrics.student.n_features == 6 == len(metrics.selected_features)
    assert metrics.agreement + metrics.disagreement == pytest.approx(1.0)
    importance = metrics.feature_importance
    assert len(importance) == 13 and max(importance.values()) == 1.0
    assert importance[metrics.selected_features[0]] == 1.0
    assert metrics.data.split == SplitSizes(train=3200, val=800, test=1000)


def test_distill_agreement_is_that_of_the_stored_predictions(small_run):
    run = load_run(small_run)
    labels = {name: proba.argmax(1) for name, proba in run.predictions().items()}
    assert run.metrics.agreement == np.mean(labels["teacher"] == labels["student"])
    assert run.metrics.agreement_no_kd == np.mean(labels["teacher"] == labels["student_no_kd"])
    assert run.metrics.kd_gain == run.metrics.student.accuracy - run.metrics.student_no_kd.accuracy


def test_distill_student_reads_only_selected_features(small_run):
    run = load_run(small_run)
    student = run.load_model("student")
    assert student.factors.in_features == 6
    assert run.preprocessing.selected_features == run.metrics.selected_features
    assert run.input_names("student") == run.selected_features
    assert run.input_rows("student").shape == (1000, 6)


def test_distill_split_file_loads_without_pickle(small_run):
    with np.load(small_run / contract.SPLIT_NPZ, allow_pickle=False) as npz:
        assert set(npz.files) == set(contract.SPLIT_KEYS)
        assert npz["X_test"].shape == (1000, 13) and npz["X_test"].dtype == np.float32
        assert npz["y_test"].dtype == np.int64
        assert npz["X_calib"].shape == (contract.CALIBRATION_ROWS, 13)
        assert list(npz["feature_names"]) == [f"feature_{i}" for i in range(13)]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_distill_scores_the_stored_float32_rows(small_run, name):
    """metrics.json and predictions.npz are exactly what the stored float32 rows give, as export
    and the report re-score them: scoring the float64 rows instead moves log_loss's last digits."""
    run = load_run(small_run)
    recomputed = probabilities(run.load_model(name), run.input_rows(name), run.scaler(name))
    assert np.array_equal(run.predictions()[name], recomputed)
    again = classification_metrics(run.split["y_test"], recomputed, class_names=run.class_names,
                                   positive=run.positive)
    stored = run.metrics.model(name)
    assert (stored.accuracy, stored.log_loss) == (again.accuracy, again.log_loss)


def _quality(metrics) -> dict:
    """The ClassificationMetrics fields of a ModelMetrics or BaselineMetrics."""
    return {spec.name: getattr(metrics, spec.name)
            for spec in dataclasses.fields(ClassificationMetrics)}


@pytest.mark.parametrize("name", PREDICTION_KEYS)
def test_distill_metrics_are_those_of_the_stored_predictions(small_run, name):
    """Every model and baseline in metrics.json is exactly classification_metrics of its
    predictions.npz array with the run's positive class."""
    run = load_run(small_run)
    again = classification_metrics(run.split["y_test"], run.predictions()[name],
                                   class_names=run.class_names, positive=run.positive)
    assert _quality(run.metrics.model(name)) == _quality(again)


def test_distill_records_class_balance_and_positive_class(small_run):
    data = load_run(small_run).metrics.data
    assert data.split_class_counts == SplitClassCounts(train=[2546, 654], val=[637, 163],
                                                       test=[796, 204])
    assert data.positive_class == "1" and data.positive_rule == "the minority class of the " \
                                                                "training split"
    metrics = load_run(small_run).metrics
    assert metrics.teacher.positive.name == "1" and metrics.teacher.positive.support == 204


def test_distill_student_all_features_and_baselines(small_run):
    metrics = load_run(small_run).metrics
    every = metrics.student_all_features
    # the student architecture on all 13 inputs, rank default_rank(13) = 9:
    # 13·9 + 9 factors, 9 gates, 9·32 + 32 hidden, 32·2 + 2 logits
    assert every.n_features == 13 and every.params == 13 * 9 + 9 + 9 + 9 * 32 + 32 + 32 * 2 + 2
    assert list(metrics.baselines) == list(BASELINES)
    assert metrics.baselines["majority"].accuracy == 796 / 1000  # the test split's majority
    assert metrics.baselines["logreg_k"].n_features == 6
    assert metrics.baselines["hgb_all"].n_features == 13
    assert metrics.teacher_useful  # 0.97 against 0.80, thousands of rows


def test_model_warnings_known_cases():
    """A teacher that always predicts the majority class, beaten by a perfect hgb_all: three
    warnings, in reading order; good students add none."""
    y = np.r_[np.zeros(300, dtype=int), np.ones(200, dtype=int)]
    perfect, lazy = np.eye(2)[y] * 0.8 + 0.1, np.tile([0.9, 0.1], (500, 1))
    predictions = {"teacher": lazy, "student": perfect, "student_no_kd": perfect,
                   STUDENT_ALL_FEATURES: perfect, "majority": lazy, "logreg_k": lazy,
                   "logreg_all": lazy, "hgb_all": perfect}
    classes = positive_class(["ok", "fault"], y)
    assert classes.positive == 1  # the minority
    comparisons = paired_comparisons(y, predictions, classes, seed=0)
    models = {name: classification_metrics(y, proba, class_names=classes.names, positive=1)
              for name, proba in predictions.items()}
    for name in BASELINES:
        models[name] = extend(models[name], contract.BaselineMetrics, description=f"the {name}",
                              n_features=3)
    found = model_warnings(models, comparisons, classes)
    assert not teacher_is_useful(comparisons) and len(found) == 3
    assert found[0].startswith("the teacher is not significantly more accurate than always "
                               "predicting the majority class (0.6000 vs 0.6000, paired 95% "
                               "interval of the difference [+0.00, +0.00] pt, McNemar p = 1)")
    assert found[1].startswith("baseline hgb_all (the hgb_all) is significantly more accurate "
                               "than the teacher (teacher 0.6000 vs 1.0000")
    assert found[2] == "teacher predicts one class ('ok') for every test row (balanced " \
                       "accuracy 0.500)"
    recall = next(c for c in comparisons if (c.a, c.b, c.metric) == ("teacher", "student",
                                                                     "positive_recall"))
    assert (recall.value_a, recall.value_b, recall.verdict) == (0.0, 1.0, "b_better")


def test_distill_comparisons_are_every_pair_recomputed_from_the_predictions(small_run):
    run = load_run(small_run)
    predictions, y = run.predictions(), run.split["y_test"]
    weights = bootstrap_weights(len(y), seed=run.manifest.seed)
    expected = [paired_accuracy(y, predictions[a].argmax(1), predictions[b].argmax(1), a=a, b=b,
                                weights=weights) for a, b in ACCURACY_PAIRS]
    for a, b in POSITIVE_PAIRS:
        expected.append(paired_recall(y, predictions[a].argmax(1), predictions[b].argmax(1), 1,
                                      a=a, b=b, weights=weights))
        expected.append(paired_pr_auc(y, predictions[a][:, 1], predictions[b][:, 1], 1, a=a,
                                      b=b, weights=weights))
    assert run.metrics.comparisons == expected
    # every pair the report judges is there, with a = the reference and b = the model judged
    for a, b in [("majority", "teacher"), ("teacher", "student"), ("student_no_kd", "student"),
                 ("teacher", STUDENT_ALL_FEATURES), (STUDENT_ALL_FEATURES, "student"),
                 *((name, "teacher") for name in BASELINES),
                 *((name, "student") for name in BASELINES)]:
        assert run.metrics.comparison(a, b) is not None, (a, b)
    for metric in ("positive_recall", "pr_auc"):
        assert run.metrics.comparison("teacher", "student", metric) is not None
        assert run.metrics.comparison("student_no_kd", "student", metric) is not None


def _global_state() -> dict:
    """What a library call must leave as it found it."""
    np_state = np.random.get_state()
    return {
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "torch_rng": torch.get_rng_state().numpy().tobytes(),
        "numpy_rng": (np_state[0], np_state[1].tobytes(), *np_state[2:]),
        "logging_disable": logging.root.manager.disable,
        "warnings_filters": list(warnings.filters),
        "stdout": sys.stdout, "stderr": sys.stderr,
        "torch_threads": torch.get_num_threads(),
    }


def test_distill_leaves_no_global_side_effects(tmp_path):
    kwargs = dict(data="iris", features=2, max_epochs=2, patience=1)
    distill(out=str(tmp_path / "warm-up"), **kwargs)  # first-use imports may add warning filters
    deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        torch.use_deterministic_algorithms(False)  # distill turns it on while it trains
        np.random.seed(123)
        torch.manual_seed(7)
        before = _global_state()
        distill(out=str(tmp_path / "r"), **kwargs)
        after = _global_state()
    finally:
        torch.use_deterministic_algorithms(deterministic)
    assert [key for key in before if before[key] != after[key]] == []


def test_distill_is_deterministic(small_run, tmp_path):
    again = distill(out=str(tmp_path / "again"), max_epochs=6, patience=3, student="fixed")
    first = read_record(Metrics, small_run / contract.METRICS_JSON)
    assert read_record(Metrics, again / contract.METRICS_JSON) == first
    for name in MODEL_NAMES:
        weights = contract.weights_file(name)
        assert (small_run / weights).read_bytes() == (again / weights).read_bytes()


def test_distill_never_overwrites_without_force(small_run, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(small_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(KdedgeError, match="--force"):
        distill(out=str(out), max_epochs=1)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("arguments,message", [
    ({"features": 14}, r"--features 14 is out of range.*choose 1\.\.13"),
    ({"features": 0}, r"--features must be a whole number >= 1 \(or omitted\), got 0"),
    ({"alpha": 1.5}, r"--alpha must be a number in \[0, 1\], got 1\.5"),
    ({"test_size": 1.0}, r"--test_size must be a number in \(0, 1\), got 1\.0"),
    ({"teacher_hidden": [64, 0]}, r"--teacher_hidden must be whole numbers >= 1"),
])
def test_distill_bad_argument_names_the_flag_and_writes_nothing(tmp_path, arguments, message):
    with pytest.raises(KdedgeError, match=message):
        distill(out=str(tmp_path / "r"), **arguments)
    assert list(tmp_path.iterdir()) == []


def test_distill_multiclass_csv_with_string_labels(tmp_path):
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "species"})
    frame["species"] = np.asarray(bunch.target_names)[frame["species"]]
    frame.to_csv(tmp_path / "iris.csv", sep=";", index=False)
    run = load_run(distill(data=str(tmp_path / "iris.csv"), target="species", features=2,
                           out=str(tmp_path / "r"), max_epochs=5))
    assert run.metrics.data.class_names == ["setosa", "versicolor", "virginica"]
    assert run.metrics.data.sha256 and run.metrics.student.n_features == 2
    # macro one-vs-rest AUC of the stored probabilities, computed by sklearn's own multi-class path
    for name, proba in run.predictions().items():
        expected = roc_auc_score(run.split["y_test"], proba, multi_class="ovr", average="macro")
        assert run.metrics.model(name).roc_auc == pytest.approx(expected, rel=1e-12)
    assert run.metrics.data.positive_class is None and run.metrics.data.positive_rule is None
    assert run.metrics.comparison("teacher", "student", "positive_recall") is None


def _fault_csv(path, rows: int = 400):
    """A binary CSV with labels fault/ok, 25% fault, learnable from x0 and x1."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 4))
    fault = np.zeros(rows, dtype=bool)
    fault[: rows // 4] = True
    x[fault, 0] += 2.5
    x[fault, 1] -= 1.5
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2", "x3"])
    frame["state"] = np.where(fault, "fault", "ok")
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("positive, expected, rule", [
    (None, "fault", "the minority class of the training split"), ("ok", "ok", "--positive")])
def test_distill_positive_class_fault_ok(tmp_path, positive, expected, rule):
    """Labels fault/ok with 25% fault: the positive class is fault unless --positive ok; the
    binary areas are those of the positive class, not of the label that sorts second."""
    data = _fault_csv(tmp_path / "machines.csv")
    run = load_run(distill(data=data, target="state", positive=positive, features=2,
                           out=str(tmp_path / "r"), max_epochs=5))
    assert run.metrics.data.class_names == ["fault", "ok"]
    assert (run.metrics.data.positive_class, run.metrics.data.positive_rule) == (expected, rule)
    index = run.class_names.index(expected)
    assert run.positive == index and run.manifest.config["positive"] == positive
    y, proba = run.split["y_test"], run.predictions()["teacher"]
    teacher = run.metrics.teacher
    assert teacher.positive.name == expected and teacher.positive.support == np.sum(y == index)
    assert teacher.pr_auc == pytest.approx(average_precision_score(y == index, proba[:, index]))
    recall = run.metrics.comparison("teacher", "student", "positive_recall")
    assert recall.n == np.sum(y == index)


@pytest.mark.parametrize("data, positive, message", [
    ("iris", "setosa", r"--positive setosa applies to binary data only, but the target has 3 "
                       r"classes \(setosa, versicolor, virginica\)"),
    ("breast_cancer", "yes", r"--positive 'yes' is not a class label; the target's labels are: "
                             r"'benign', 'malignant'"),
])
def test_distill_bad_positive_names_the_labels_and_writes_nothing(tmp_path, data, positive,
                                                                  message):
    with pytest.raises(KdedgeError, match=message):
        distill(data=data, positive=positive, out=str(tmp_path / "r"), max_epochs=1)
    assert list(tmp_path.iterdir()) == []
