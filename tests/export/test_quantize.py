import json

import numpy as np
import onnx
import pytest

from kdedge.artifacts import load_run
from kdedge.export.parity import make_session, onnx_outputs
from kdedge.export.quantize import QUANTIZERS, parse_quantize
from kdedge.rundir import KdedgeError


@pytest.mark.parametrize("value, expected", [
    (None, []),
    (False, []),
    (True, ["int8"]),
    ("int8", ["int8"]),
    ("all", ["int8", "int8-static", "fp16"]),
    ("fp16,int8", ["int8", "fp16"]),
    (("int8-static", "fp16"), ["int8-static", "fp16"]),
    (" FP16 , fp16", ["fp16"]),
])
def test_parse_quantize_values(value, expected):
    assert parse_quantize(value) == expected


@pytest.mark.parametrize("value", ["int4", "int8,bf16", ("fp16", "fp8")])
def test_parse_quantize_unknown_lists_valid(value):
    with pytest.raises(KdedgeError, match="choose from int8, int8-static, fp16 or all"):
        parse_quantize(value)


@pytest.mark.parametrize("variant", list(QUANTIZERS))
def test_quantize_variant_keeps_the_device_interface(exported_run, variant):
    path = exported_run / "onnx" / f"student.{variant}.onnx"
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    (graph_input,) = model.graph.input
    assert graph_input.name == "features"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [o.name for o in model.graph.output] == ["probabilities", "label"]
    assert [o.type.tensor_type.elem_type for o in model.graph.output] == [
        onnx.TensorProto.FLOAT, onnx.TensorProto.INT64]
    meta = {p.key: p.value for p in model.metadata_props}
    fp32 = onnx.load(exported_run / "onnx" / "student.onnx")
    fp32_meta = {p.key: p.value for p in fp32.metadata_props}
    assert meta["kdedge.variant"] == variant
    assert {k: v for k, v in meta.items() if k != "kdedge.variant"} == \
        {k: v for k, v in fp32_meta.items() if k != "kdedge.variant"}


@pytest.mark.parametrize("variant, min_agreement", [("int8", 0.99), ("int8-static", 0.99),
                                                     ("fp16", 0.999)])
def test_quantize_variant_agrees_with_fp32(exported_run, variant, min_agreement):
    run = load_run(exported_run)
    x = run.split["X_test"][:, run.input_index("student")]
    onnx_dir = exported_run / "onnx"
    _, fp32_labels = onnx_outputs(make_session(onnx.load(onnx_dir / "student.onnx")), x)
    _, labels = onnx_outputs(make_session(onnx.load(onnx_dir / f"student.{variant}.onnx")), x)
    assert np.mean(labels == fp32_labels) >= min_agreement


@pytest.mark.parametrize("variant, quantized_op", [("int8", "MatMulInteger"),
                                                   ("int8-static", "DequantizeLinear")])
def test_quantize_int8_keeps_the_first_layer_float(exported_run, variant, quantized_op):
    model = onnx.load(exported_run / "onnx" / f"student.{variant}.onnx")
    readers = [n.op_type for n in model.graph.node if "features" in n.input]
    assert readers in (["Gemm"], ["MatMul"])  # raw features never enter a quantize op
    ops = [n.op_type for n in model.graph.node]
    assert quantized_op in ops  # ...while the later layers are quantized
    int8 = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert int8, "no int8 weights in the graph"


def test_quantize_int8_static_is_per_channel(exported_run):
    model = onnx.load(exported_run / "onnx" / "student.int8-static.onnx")
    weights = {t.name: t for t in model.graph.initializer}
    dequantized = [n for n in model.graph.node if n.op_type == "DequantizeLinear"
                   and weights.get(n.input[0]) is not None
                   and weights[n.input[0]].data_type == onnx.TensorProto.INT8
                   and len(weights[n.input[0]].dims) == 2]
    assert dequantized
    for node in dequantized:
        scale = weights[node.input[1]]
        assert list(scale.dims) == [weights[node.input[0]].dims[0]]  # one scale per output row


def test_quantize_fp16_stores_float16_weights(exported_run, export_json):
    model = onnx.load(exported_run / "onnx" / "student.fp16.onnx")
    types = {t.data_type for t in model.graph.initializer}
    assert types == {onnx.TensorProto.FLOAT16}
    assert export_json["models"]["student.fp16"]["max_abs_diff_vs_fp32"] < 1e-2
    assert json.loads({p.key: p.value for p in model.metadata_props}["kdedge.class_names"])
