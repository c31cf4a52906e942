import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from kdedge.artifacts import load_run
from kdedge.export.parity import ParityError, check_parity, torch_probabilities
from kdedge.rundir import KdedgeError


def _student(exported_run):
    run = load_run(exported_run)
    mean, scale = run.scaler("student")
    x = run.split["X_test"][:, run.input_index("student")].astype(np.float32)
    reference = torch_probabilities(run.load_model("student"), x, mean=mean, scale=scale)
    return onnx.load(exported_run / "onnx" / "student.onnx"), x, reference


def test_check_parity_passes_on_the_export(exported_run):
    model, x, reference = _student(exported_run)
    record = check_parity(model, reference=reference, x=x, name="student.onnx")
    assert record["passed"] and record["labels_identical"] and record["rows"] == len(x)
    assert 0.0 <= record["max_abs_diff_batch1"] <= 1e-5
    assert 0.0 <= record["max_abs_diff_full_batch"] <= 1e-5


def test_check_parity_fails_on_a_perturbed_initializer(exported_run):
    model, x, reference = _student(exported_run)
    last_gemm = [n for n in model.graph.node if n.op_type == "Gemm"][-1]
    bias = next(t for t in model.graph.initializer if t.name == last_gemm.input[2])
    shifted = numpy_helper.to_array(bias).copy()
    shifted[0] += 1e-3  # a small error in one logit: probabilities move by up to ~2.5e-4
    bias.CopyFrom(numpy_helper.from_array(shifted, bias.name))
    with pytest.raises(ParityError, match=r"student\.onnx fails the parity gate") as info:
        check_parity(model, reference=reference, x=x, name="student.onnx")
    assert isinstance(info.value, KdedgeError)  # the CLI turns it into exit status 2
    assert "tolerance 1e-05" in str(info.value)


def test_check_parity_fails_on_label_mismatch_within_tolerance(exported_run):
    model, x, reference = _student(exported_run)
    # a reference that prefers another class on every row, checked with a loose tolerance:
    # the gate must still fail on the labels alone
    with pytest.raises(ParityError, match=r"\d+ labels differ"):
        check_parity(model, reference=reference[:, ::-1], x=x, name="student.onnx",
                     tolerance=1.0)


def test_torch_probabilities_rows_sum_to_one(exported_run):
    _, x, reference = _student(exported_run)
    assert reference.shape[0] == len(x)
    np.testing.assert_allclose(reference.sum(axis=1), 1.0, atol=1e-9)
