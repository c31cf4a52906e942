import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from kdedge import distill
from kdedge.artifacts import load_run
from kdedge.contract import INPUT_NAME, onnx_file
from kdedge.export.parity import ParityError, check_parity, make_session, onnx_outputs
from kdedge.rundir import KdedgeError


@pytest.fixture(autouse=True)
def always_centre(monkeypatch):
    """These tests are about the centred form (a Sub node before the first layer), which
    fold_model uses for data with large offsets; force it on the test data's small offsets."""
    monkeypatch.setattr("kdedge.fold.OFFSET_RATIO", 0.0)


def _exported(full_run, name="student"):
    """(the exported graph, its raw test rows, the PyTorch reference as export computes it)."""
    run = load_run(full_run)
    x = run.input_rows(name)
    reference = distill.probabilities(run.load_model(name), x, run.scaler(name))
    return onnx.load(full_run / onnx_file(name)), x, reference


def test_check_parity_measures_both_batch_sizes_on_every_row(full_run):
    model, x, reference = _exported(full_run)
    parity = check_parity(model, reference=reference, x=x, name="student.onnx")
    session = make_session(model)
    one_row = np.concatenate([session.run(None, {INPUT_NAME: x[i:i + 1]})[0]
                              for i in range(len(x))])
    whole = session.run(None, {INPUT_NAME: x})[0]
    assert parity.rows == len(x) == len(reference)
    # the recorded numbers are the measured ones (float32 graph vs float64 torch: never 0)
    assert parity.max_abs_diff_batch1 == np.max(np.abs(one_row.astype(np.float64) - reference))
    assert parity.max_abs_diff_full_batch == np.max(np.abs(whole.astype(np.float64) - reference))
    assert 0.0 < max(parity.max_abs_diff_batch1, parity.max_abs_diff_full_batch) <= 1e-5
    assert parity.passed and parity.labels_identical and parity.tolerance == 1e-5


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_parity_reference_is_what_distill_stored(full_run, name):
    """The gate compares with exactly the probabilities distill computed (predictions.npz)."""
    run = load_run(full_run)
    _, _, reference = _exported(full_run, name)
    assert reference.dtype == np.float64
    assert np.max(np.abs(reference - run.predictions()[name])) == 0.0


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_export_run_parity_record_is_against_the_stored_predictions(full_run, export_summary,
                                                                    name):
    """export.json's full-batch parity equals max |onnxruntime − predictions.npz|: the stage's
    reference is distill's own scoring of the stored rows."""
    run = load_run(full_run)
    model = onnx.load(full_run / onnx_file(name))
    proba, _ = onnx_outputs(make_session(model), run.input_rows(name))
    measured = np.max(np.abs(proba.astype(np.float64) - run.predictions()[name]))
    assert export_summary.models[name].parity.max_abs_diff_full_batch == measured


def test_check_parity_fails_on_a_perturbed_initializer(full_run):
    model, x, reference = _exported(full_run)
    last_gemm = [n for n in model.graph.node if n.op_type == "Gemm"][-1]
    bias = next(t for t in model.graph.initializer if t.name == last_gemm.input[2])
    shifted = numpy_helper.to_array(bias).copy()
    shifted[0] += 1e-3  # a small error in one logit: probabilities move by up to ~2.5e-4
    bias.CopyFrom(numpy_helper.from_array(shifted, bias.name))
    with pytest.raises(ParityError, match=r"student\.onnx fails the parity gate") as info:
        check_parity(model, reference=reference, x=x, name="student.onnx")
    assert isinstance(info.value, KdedgeError)  # the CLI turns it into exit status 2
    assert "tolerance 1e-05" in str(info.value)


def test_check_parity_fails_on_label_mismatch_within_tolerance(full_run):
    model, x, reference = _exported(full_run)
    # a reference that prefers another class on every row, checked with a loose tolerance:
    # the gate must still fail on the labels alone
    with pytest.raises(ParityError, match=rf"{len(x)} labels differ"):
        check_parity(model, reference=reference[:, ::-1], x=x, name="student.onnx",
                     tolerance=1.0)


def test_check_parity_covers_the_centring_constant(centred_run):
    """The centre is part of the gated graph: one column's centre off by a tenth of its std
    moves the probabilities past the tolerance."""
    run = load_run(centred_run)
    model, x, reference = _exported(centred_run)
    centring = model.graph.node[0]
    assert (centring.op_type, centring.input[0]) == ("Sub", INPUT_NAME)
    centre = next(t for t in model.graph.initializer if t.name == centring.input[1])
    moved = numpy_helper.to_array(centre).copy()
    moved[0] += 0.1 * run.scaler("student").scale[0]
    centre.CopyFrom(numpy_helper.from_array(moved, centre.name))
    with pytest.raises(ParityError, match=r"student\.onnx fails the parity gate"):
        check_parity(model, reference=reference, x=x, name="student.onnx")
