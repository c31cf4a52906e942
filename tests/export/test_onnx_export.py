import json

import numpy as np
import onnx
import pytest
from onnx.reference import ReferenceEvaluator

from kdedge.artifacts import load_run
from kdedge.export.onnx_export import (ExportCheckError, check_onnx, export_onnx, folded_module,
                                       unfolded_module)
from kdedge.export.parity import make_session, onnx_outputs
from kdedge.fold import fold_model

METADATA_KEYS = {"kdedge.model", "kdedge.variant", "kdedge.feature_names", "kdedge.class_names",
                 "kdedge.version", "kdedge.run_id", "kdedge.weights_sha256", "kdedge.opset"}


def _student_rows(run, rows=None):
    x = run.split["X_test"][:, run.input_index("student")].astype(np.float32)
    return x if rows is None else x[:rows]


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_export_onnx_interface_and_metadata(exported_run, name):
    run = load_run(exported_run)
    model = onnx.load(exported_run / "onnx" / f"{name}.onnx")
    onnx.checker.check_model(exported_run / "onnx" / f"{name}.onnx", full_check=True)
    interface = check_onnx(model, name=f"{name}.onnx")
    k, n_classes = len(run.input_index(name)), len(run.class_names)
    assert interface["input"] == {"name": "features", "shape": ["batch", k], "dtype": "float32"}
    assert interface["outputs"] == [
        {"name": "probabilities", "shape": ["batch", n_classes], "dtype": "float32"},
        {"name": "label", "shape": ["batch"], "dtype": "int64"}]
    meta = {p.key: p.value for p in model.metadata_props}
    assert set(meta) == METADATA_KEYS
    assert meta["kdedge.model"] == name and meta["kdedge.variant"] == "fp32"
    assert json.loads(meta["kdedge.feature_names"]) == [run.feature_names[i]
                                                       for i in run.input_index(name)]
    assert json.loads(meta["kdedge.class_names"]) == run.class_names
    assert meta["kdedge.weights_sha256"] == run.manifest["artifacts"][f"{name}.safetensors"]
    assert meta["kdedge.run_id"] == run.manifest["run_id"] and meta["kdedge.opset"] == "18"


def test_export_onnx_student_is_the_folded_chain(exported_run):
    run = load_run(exported_run)
    folded = fold_model(run.load_model("student"), *run.scaler("student"))
    expected = []
    for layer in folded.layers:
        expected += ["Gemm", "Relu"] if layer.relu else ["Gemm"]
    model = onnx.load(exported_run / "onnx" / "student.onnx")
    assert [node.op_type for node in model.graph.node] == expected + ["Softmax", "ArgMax"]
    # only the folded weights: one [out, in] matrix and one bias per layer
    shapes = sorted(tuple(t.dims) for t in model.graph.initializer)
    assert shapes == sorted([layer.weight.shape for layer in folded.layers]
                            + [layer.bias.shape for layer in folded.layers])


def test_export_onnx_unfolded_graph_has_more_nodes(exported_run):
    run = load_run(exported_run)
    model = run.load_model("student")
    mean, scale = run.scaler("student")
    before = export_onnx(unfolded_module(model, mean, scale), n_features=len(mean))
    after = onnx.load(exported_run / "onnx" / "student.onnx")
    ops_before = [n.op_type for n in before.graph.node]
    assert {"Sub", "Div"} <= set(ops_before)  # the scaler, folded away in the shipped graph
    assert len(after.graph.node) < len(before.graph.node)


def test_export_onnx_self_contained_and_dynamic_batch(exported_run):
    run = load_run(exported_run)
    path = exported_run / "onnx" / "student.onnx"
    model = onnx.load(path, load_external_data=False)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert {p.suffix for p in path.parent.iterdir()} == {".onnx"}  # no external .data files
    session = make_session(model)
    x = _student_rows(run, 7)
    full, labels = onnx_outputs(session, x)
    single, single_labels = onnx_outputs(session, x, batch_size=1)
    assert full.shape == (7, len(run.class_names)) and labels.shape == (7,)
    np.testing.assert_allclose(single, full, atol=1e-6)
    np.testing.assert_array_equal(single_labels, labels)


def test_export_onnx_matches_reference_evaluator(exported_run):
    """onnxruntime and onnx's pure-Python reference implementation agree on the student."""
    run = load_run(exported_run)
    model = onnx.load(exported_run / "onnx" / "student.onnx")
    x = _student_rows(run, 200)
    ort_proba, ort_labels = onnx_outputs(make_session(model), x)
    ref_proba, ref_labels = ReferenceEvaluator(model).run(None, {"features": x})
    np.testing.assert_allclose(ref_proba, ort_proba, atol=1e-6)
    np.testing.assert_array_equal(ref_labels, ort_labels)


def test_folded_module_matches_fold_forward(exported_run):
    """The torch module built for export computes fold_model's float64 reference logits."""
    import torch

    run = load_run(exported_run)
    folded = fold_model(run.load_model("teacher"), *run.scaler("teacher"))
    x = run.split["X_test"][:50].astype(np.float32)
    logits = folded.forward(x)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    with torch.no_grad():
        proba, labels = folded_module(folded)(torch.from_numpy(x))
    np.testing.assert_allclose(proba.numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(labels.numpy(), expected.argmax(1))


def test_check_onnx_rejects_a_broken_graph(exported_run):
    model = onnx.load(exported_run / "onnx" / "student.onnx")
    del model.graph.node[0]  # the first Gemm: its output is now undefined
    with pytest.raises(ExportCheckError, match="broken.onnx fails the ONNX checker"):
        check_onnx(model, name="broken.onnx")


def test_check_onnx_rejects_renamed_output(exported_run):
    model = onnx.load(exported_run / "onnx" / "student.onnx")
    model.graph.node[-1].output[0] = "argmax"
    model.graph.output[1].name = "argmax"
    with pytest.raises(ExportCheckError, match="expected input 'features' and outputs"):
        check_onnx(model, name="student.onnx")
