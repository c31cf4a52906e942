import logging
import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

import kdedge
from kdedge.artifacts import load_run
from kdedge.contract import (INPUT_NAME, OUTPUT_NAMES, OnnxMetadata, TensorSpec, onnx_file,
                             weights_file)
from kdedge.export.onnx_export import (_quiet_exporter, export_onnx, folded_module,
                                       unfolded_module)
from kdedge.export.parity import make_session, onnx_outputs
from kdedge.fold import fold_model
from kdedge.runtime.interface import check_interface


@pytest.fixture(autouse=True)
def always_centre(monkeypatch):
    """These tests are about the centred form (a Sub node before the first layer), which
    fold_model uses for data with large offsets; force it on the test data's small offsets."""
    monkeypatch.setattr("kdedge.fold.OFFSET_RATIO", 0.0)


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_export_onnx_interface_and_metadata(full_run, name):
    run = load_run(full_run)
    path = full_run / onnx_file(name)
    model = onnx.load(path)
    interface = check_interface(model, name=path.name, path=path)
    k, n_classes = len(run.input_index(name)), len(run.class_names)
    assert interface.input == TensorSpec(name=INPUT_NAME, shape=["batch", k], dtype="float32")
    assert interface.outputs == [
        TensorSpec(name=OUTPUT_NAMES[0], shape=["batch", n_classes], dtype="float32"),
        TensorSpec(name=OUTPUT_NAMES[1], shape=["batch"], dtype="int64")]
    meta = OnnxMetadata.from_props({p.key: p.value for p in model.metadata_props},
                                   where=str(path))
    assert meta == OnnxMetadata(
        model=name, variant="fp32", feature_names=run.input_names(name),
        class_names=run.class_names, version=kdedge.__version__, run_id=run.manifest.run_id,
        weights_sha256=run.manifest.artifacts[weights_file(name)], opset="18")


def test_export_onnx_student_is_the_folded_chain(centred_run):
    run = load_run(centred_run)
    folded = fold_model(run.load_model("student"), run.scaler("student"))
    expected = ["Sub"]  # the centring, kept apart from the first Gemm (kdedge/fold.py)
    for layer in folded.layers:
        expected += ["Gemm", "Relu"] if layer.relu else ["Gemm"]
    model = onnx.load(centred_run / onnx_file("student"))
    assert [node.op_type for node in model.graph.node] == expected + ["Softmax", "ArgMax"]
    # only the folded weights: one [out, in] matrix and one bias per layer, and the centre [k]
    shapes = sorted(tuple(t.dims) for t in model.graph.initializer)
    assert shapes == sorted([layer.weight.shape for layer in folded.layers]
                            + [layer.bias.shape for layer in folded.layers]
                            + [folded.centre.shape])
    centre = next(numpy_helper.to_array(t) for t in model.graph.initializer
                  if t.name == model.graph.node[0].input[1])
    np.testing.assert_array_equal(centre, folded.centre.astype(np.float32))
    assert model.graph.node[0].input[0] == INPUT_NAME


def _offset_student():
    """A student on rows with large offsets (1000 ± 0.01, 5e4 ± 3), its scaler and rows."""
    import torch

    from kdedge.contract import Scaler
    from kdedge.models import Student, StudentConfig

    z = np.random.default_rng(1).normal(size=(512, 6))
    rows = np.c_[1000 + 0.01 * z[:, 0], 5e4 + 3 * z[:, 1], z[:, 2:]].astype(np.float32)
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32])).eval()
    with torch.no_grad():  # weights of a trained size, so the logits spread over several units
        for parameter in student.parameters():
            parameter.mul_(2.0)
    return student, Scaler.fit(rows.astype(np.float64)), rows


def test_export_onnx_is_well_conditioned_with_large_offsets():
    """Centred in its own node, the graph matches PyTorch 10x inside the parity gate; the
    centre folded into the first bias (the earlier form) misses it by orders of magnitude."""
    from kdedge.distill import probabilities

    student, scaler, rows = _offset_student()
    reference = probabilities(student, rows, scaler)
    folded = fold_model(student, scaler)
    graph = export_onnx(folded_module(folded), n_features=6)
    assert np.max(np.abs(onnx_outputs(make_session(graph), rows)[0] - reference)) <= 1e-6
    old_form = export_onnx(folded_module(folded.centre_in_bias()), n_features=6)
    assert [n.op_type for n in old_form.graph.node][0] == "Gemm"  # no centring node
    assert np.max(np.abs(onnx_outputs(make_session(old_form), rows)[0] - reference)) > 1e-5


def test_export_onnx_unfolded_graph_has_the_scaler_and_more_nodes(full_run):
    run = load_run(full_run)
    scaler = run.scaler("student")
    before = export_onnx(unfolded_module(run.load_model("student"), scaler),
                         n_features=len(scaler.mean))
    after = onnx.load(full_run / onnx_file("student"))
    ops_before = [n.op_type for n in before.graph.node]
    assert {"Sub", "Div"} <= set(ops_before)  # the scaler, folded away in the shipped graph
    assert len(after.graph.node) < len(before.graph.node)
    # the unfolded graph standardises with the run's scaler: same outputs as the shipped one
    x = run.input_rows("student")[:50]
    np.testing.assert_allclose(onnx_outputs(make_session(before), x)[0],
                               onnx_outputs(make_session(after), x)[0], atol=1e-5)


def test_export_onnx_self_contained_and_dynamic_batch(full_run):
    run = load_run(full_run)
    path = full_run / onnx_file("student")
    model = onnx.load(path, load_external_data=False)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert {p.suffix for p in path.parent.iterdir()} == {".onnx"}  # no external .data files
    session = make_session(model)
    x = run.input_rows("student")[:7]
    full, labels = onnx_outputs(session, x)
    single, single_labels = onnx_outputs(session, x, batch_size=1)
    assert full.shape == (7, len(run.class_names)) and labels.shape == (7,)
    np.testing.assert_allclose(single, full, atol=1e-6)
    np.testing.assert_array_equal(single_labels, labels)


def test_export_onnx_matches_reference_evaluator(full_run):
    """onnxruntime and onnx's pure-Python reference implementation agree on the student."""
    run = load_run(full_run)
    model = onnx.load(full_run / onnx_file("student"))
    x = run.input_rows("student")[:200]
    ort_proba, ort_labels = onnx_outputs(make_session(model), x)
    ref_proba, ref_labels = ReferenceEvaluator(model).run(None, {INPUT_NAME: x})
    np.testing.assert_allclose(ref_proba, ort_proba, atol=1e-6)
    np.testing.assert_array_equal(ref_labels, ort_labels)


def test_folded_module_matches_fold_forward(full_run):
    """The torch module built for export computes fold_model's float64 reference logits."""
    import torch

    run = load_run(full_run)
    folded = fold_model(run.load_model("teacher"), run.scaler("teacher"))
    x = run.input_rows("teacher")[:50]
    logits = folded.forward(x)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    with torch.no_grad():
        proba, labels = folded_module(folded)(torch.from_numpy(x))
    np.testing.assert_allclose(proba.numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(labels.numpy(), expected.argmax(1))


def test_quiet_exporter_is_scoped_and_restores_what_it_changed():
    logger = logging.getLogger("torch.onnx")
    logger.setLevel(logging.INFO)
    filters = list(warnings.filters)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with _quiet_exporter():
                assert not logger.isEnabledFor(logging.WARNING)
                warnings.warn("torch internals", FutureWarning)
                warnings.warn("a user-facing problem", UserWarning)
            warnings.warn("after the export", FutureWarning)
        assert [str(w.message) for w in caught] == ["a user-facing problem", "after the export"]
        assert logger.level == logging.INFO
        assert warnings.filters == filters
        assert logging.root.manager.disable == logging.NOTSET  # no process-wide switch
    finally:
        logger.setLevel(logging.NOTSET)
