import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kdedge import contract, rundir
from kdedge.artifacts import Run, load_run
from kdedge.contract import (MODEL_NAMES, PREDICTION_KEYS, ContractError, Manifest, Metrics,
                             ModelsFile, Preprocessing, StudentConfig)
from kdedge.rundir import KdedgeError


@pytest.fixture
def run_copy(small_run, tmp_path):
    """A private copy of the session run that a test may damage."""
    return shutil.copytree(small_run, tmp_path / "run")


def _replace(run_dir, name: str, data: bytes) -> None:
    """Overwrite RUN/name and record its new sha256, so only the content check can refuse it."""
    (run_dir / name).write_bytes(data)
    rundir.update_manifest(run_dir, stage="test", files=[name])


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_load_run_gives_typed_records(small_run):
    run = load_run(small_run)
    assert isinstance(run, Run) and run.path == small_run
    assert isinstance(run.manifest, Manifest) and isinstance(run.metrics, Metrics)
    assert isinstance(run.models, ModelsFile) and isinstance(run.preprocessing, Preprocessing)
    assert isinstance(run.models.student, StudentConfig) and run.models.student.n_features == 6
    assert set(run.split) == set(contract.SPLIT_KEYS)
    assert run.feature_names == [f"feature_{i}" for i in range(13)]
    assert run.class_names == ["0", "1"]


def test_run_input_rows_and_scaler_follow_the_student_column_order(small_run):
    run = load_run(small_run)
    index = run.input_index("student")
    assert index == run.preprocessing.selected_index
    assert run.input_index("teacher") == list(range(13))
    rows = run.input_rows("student")
    assert rows.dtype == np.float32 and rows.flags.c_contiguous
    assert np.array_equal(rows, run.split["X_test"][:, index])
    assert run.scaler("student").mean == [run.preprocessing.scaler.mean[i] for i in index]
    assert run.input_rows("teacher", key="X_calib").shape == (contract.CALIBRATION_ROWS, 13)


def test_run_weights_equal_the_torch_state_dict(small_run):
    run = load_run(small_run)
    for name in MODEL_NAMES:
        weights, state = run.weights(name), run.load_model(name).state_dict()
        assert weights.keys() == state.keys()
        for key, tensor in state.items():
            assert np.array_equal(weights[key], tensor.numpy()), (name, key)


def test_run_predictions_are_probabilities_of_every_model(small_run):
    predictions = load_run(small_run).predictions()
    assert set(predictions) == set(PREDICTION_KEYS)  # the models, student_all_features, baselines
    for proba in predictions.values():
        assert proba.shape == (1000, 2) and proba.dtype == np.float64
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_run_positive_is_the_index_of_metrics_positive_class(run_copy):
    run = load_run(run_copy)
    assert run.metrics.data.positive_class == "1" and run.positive == 1
    data = json.loads((run_copy / contract.METRICS_JSON).read_text())
    data["data"]["positive_class"] = "0"
    _replace(run_copy, contract.METRICS_JSON, json.dumps(data).encode())
    assert load_run(run_copy).positive == 0
    data["data"]["positive_class"] = None
    _replace(run_copy, contract.METRICS_JSON, json.dumps(data).encode())
    assert load_run(run_copy).positive is None
    data["data"]["positive_class"] = "yes"
    _replace(run_copy, contract.METRICS_JSON, json.dumps(data).encode())
    with pytest.raises(KdedgeError, match=r"positive_class 'yes' is not one of the classes "
                                          r"\['0', '1'\]; re-run `kdedge distill`"):
        load_run(run_copy).positive


def test_load_run_reads_no_torch(small_run):
    code = ("import sys; sys.modules['torch'] = None\n"
            "from kdedge.artifacts import load_run\n"
            f"run = load_run({str(small_run)!r})\n"
            "run.weights('student'); run.predictions(); run.scaler('student')\n"
            "print(run.metrics.student.accuracy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == load_run(small_run).metrics.student.accuracy


def test_load_run_refuses_a_tampered_metrics_file(run_copy):
    path = run_copy / contract.METRICS_JSON
    data = json.loads(path.read_text())
    data["student"]["accuracy"] = 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(KdedgeError, match=r"metrics\.json does not match the sha256"):
        load_run(run_copy)


def test_load_run_refuses_a_metrics_file_off_the_contract(run_copy):
    data = json.loads((run_copy / contract.METRICS_JSON).read_text())
    del data["student"]["accuracy"]
    _replace(run_copy, contract.METRICS_JSON, json.dumps(data).encode())
    with pytest.raises(ContractError, match=r"metrics\.json: field student\.accuracy is missing"):
        load_run(run_copy)


@pytest.mark.parametrize("missing", ["student_no_kd", "hgb_all"])
def test_run_predictions_missing_model_is_a_kdedge_error(run_copy, missing):
    predictions = load_run(run_copy).predictions()
    del predictions[missing]
    _replace(run_copy, contract.PREDICTIONS_NPZ, _npz(**predictions))
    with pytest.raises(KdedgeError, match=rf"predictions\.npz lacks \['{missing}'\]"):
        load_run(run_copy).predictions()


def test_run_predictions_of_the_wrong_shape_refused(run_copy):
    predictions = load_run(run_copy).predictions()
    predictions["student"] = predictions["student"][:10]
    _replace(run_copy, contract.PREDICTIONS_NPZ, _npz(**predictions))
    with pytest.raises(KdedgeError, match=r"student has shape \(10, 2\), expected \(1000, 2\)"):
        load_run(run_copy).predictions()


def test_load_run_damaged_split_is_a_kdedge_error_not_a_zip_traceback(run_copy):
    data = (run_copy / contract.SPLIT_NPZ).read_bytes()
    _replace(run_copy, contract.SPLIT_NPZ, data[: len(data) // 2])
    with pytest.raises(KdedgeError, match=r"split\.npz cannot be read \(BadZipFile"):
        load_run(run_copy)


def test_load_run_split_of_other_features_refused(run_copy):
    with np.load(run_copy / contract.SPLIT_NPZ, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["feature_names"] = arrays["feature_names"][::-1]
    _replace(run_copy, contract.SPLIT_NPZ, _npz(**arrays))
    with pytest.raises(KdedgeError, match="lists feature_names that differ from those of"):
        load_run(run_copy)


def test_run_damaged_weights_are_a_kdedge_error(run_copy):
    _replace(run_copy, contract.weights_file("student"), b"not safetensors")
    with pytest.raises(KdedgeError, match=r"student\.safetensors cannot be read as safetensors"):
        load_run(run_copy).weights("student")


def test_run_unknown_model_lists_the_names(small_run):
    with pytest.raises(KdedgeError, match="unknown model 'forest'; choose one of teacher, "
                                          "student, student_no_kd"):
        load_run(small_run).input_index("forest")
