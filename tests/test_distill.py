import logging
import shutil
import sys
import warnings
from importlib import metadata

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from kdedge import contract, rundir
from kdedge.artifacts import load_run
from kdedge.contract import MODEL_NAMES, Metrics, SplitSizes, read_record
from kdedge.distill import distill, probabilities
from kdedge.metrics import classification_metrics
from kdedge.rundir import KdedgeError

RUN_FILES = {contract.RUN_JSON, contract.METRICS_JSON, contract.MODELS_JSON,
             contract.PREPROCESSING_JSON, contract.HISTORY_JSON, contract.SPLIT_NPZ,
             contract.PREDICTIONS_NPZ, *(contract.weights_file(name) for name in MODEL_NAMES)}


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
    again = classification_metrics(run.split["y_test"], recomputed)
    stored = run.metrics.model(name)
    assert (stored.accuracy, stored.log_loss) == (again["accuracy"], again["log_loss"])


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
    again = distill(out=str(tmp_path / "again"), max_epochs=6, patience=3)
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
