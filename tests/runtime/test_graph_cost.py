"""Known answers for kdedge.runtime.graph_cost.count_graph_cost."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from runtime_kit import STUDENT_SIZES, TEACHER_SIZES, mlp_model, quantize_variants
from onnx import TensorProto, helper, numpy_helper

from kdedge.contract import OpCost
from kdedge.runtime.graph_cost import count_graph_cost

TEACHER_MACS = 13 * 256 + 256 * 128 + 128 * 2  # 36,352
TEACHER_GRAPH_PARAMS = TEACHER_MACS + 256 + 128 + 2  # weights + biases of the folded graph: 36,738


def test_count_graph_cost_teacher_known_answer():
    cost = count_graph_cost(mlp_model(TEACHER_SIZES, kind="teacher"))
    assert cost.macs == TEACHER_MACS == 36_352
    assert cost.flops == 2 * 36_352
    assert cost.params == TEACHER_GRAPH_PARAMS
    assert cost.weight_bytes == 4 * TEACHER_GRAPH_PARAMS
    assert cost.to_json()["per_op"] == {"Gemm": {"nodes": 3, "macs": 36_352, "flops": 72_704}}
    assert cost.op_counts == {"Gemm": 3, "Relu": 2, "Softmax": 1, "ArgMax": 1}
    assert cost.unknown_shapes == []


def test_count_graph_cost_student_known_answer():
    cost = count_graph_cost(mlp_model(STUDENT_SIZES))
    assert cost.macs == 6 * 32 + 32 * 2
    assert cost.params == 6 * 32 + 32 + 32 * 2 + 2


def test_count_graph_cost_reads_a_path_and_leaves_the_model_unchanged(tmp_path):
    model = mlp_model(TEACHER_SIZES)
    onnx.save(model, tmp_path / "teacher.onnx")
    before = model.SerializeToString()
    assert count_graph_cost(tmp_path / "teacher.onnx").macs == TEACHER_MACS
    assert count_graph_cost(model).macs == TEACHER_MACS
    assert model.SerializeToString() == before  # batch dim still symbolic


@pytest.mark.parametrize("variant,op", [("int8", "MatMulInteger"), ("int8-static", None)])
def test_count_graph_cost_int8_variants_count_the_fp32_macs(tmp_path, variant, op):
    onnx.save(mlp_model(TEACHER_SIZES), tmp_path / "teacher.onnx")
    path = quantize_variants(tmp_path / "teacher.onnx", n_features=13)[variant]
    cost = count_graph_cost(path)
    assert cost.macs == TEACHER_MACS
    # scales and zero points are not parameters: same count as the fp32 graph
    assert cost.params == TEACHER_GRAPH_PARAMS
    if op:
        assert cost.per_op[op].macs == TEACHER_MACS
    else:  # QDQ: the Gemm between DequantizeLinear nodes, counted once
        assert "DequantizeLinear" in cost.op_counts
        assert sum(e.nodes for e in cost.per_op.values()) == 3


@pytest.mark.parametrize("variant,fused", [("fp32", "FusedGemm"), ("int8", "DynamicQuantizeMatMul"),
                                           ("int8-static", "QGemm")])
def test_count_graph_cost_onnxruntime_fused_graphs_count_the_same_macs(tmp_path, variant, fused):
    """The forms onnxruntime's optimiser rewrites each kdedge variant into keep the fp32 count."""
    onnx.save(mlp_model(TEACHER_SIZES), tmp_path / "teacher.onnx")
    paths = dict(quantize_variants(tmp_path / "teacher.onnx", n_features=13),
                 fp32=tmp_path / "teacher.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    options.log_severity_level = 3
    ort.InferenceSession(str(paths[variant]), options, providers=["CPUExecutionProvider"])
    cost = count_graph_cost(tmp_path / "optimised.onnx")
    assert fused in cost.per_op and cost.unknown_shapes == []
    assert cost.macs == TEACHER_MACS


def test_count_graph_cost_fp16_counts_the_same_macs_in_half_the_bytes():
    cost = count_graph_cost(mlp_model(TEACHER_SIZES, fp16=True))
    assert cost.macs == TEACHER_MACS
    assert cost.weight_bytes == 2 * TEACHER_GRAPH_PARAMS
    assert cost.op_counts["Cast"] == 2


def _graph(nodes, inputs, outputs, inits):
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    return model


def test_count_graph_cost_matmul_add_and_batched_matmul():
    w = numpy_helper.from_array(np.ones((5, 6), np.float32), "W")
    b = numpy_helper.from_array(np.ones(6, np.float32), "B")
    model = _graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "B"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, 6])], [w, b])
    cost = count_graph_cost(model)
    assert cost.macs == 4 * 5 * 6  # per sample: 4 rows of 5→6
    assert cost.per_op == {"MatMul": OpCost(nodes=1, macs=120, flops=240)}
    assert cost.params == 36


def test_count_graph_cost_excludes_int64_shape_tensors():
    shape = numpy_helper.from_array(np.array([-1, 6], np.int64), "shape")
    model = _graph([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                   [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 3])],
                   [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6])], [shape])
    cost = count_graph_cost(model)
    assert (cost.params, cost.macs, cost.initializer_bytes) == (0, 0, 16)


def test_count_graph_cost_linear_baseline_is_one_matmul_of_n_by_c():
    from sklearn_kit import N_FEATURES, fitted, graph

    _, _, _, config, arrays = fitted("linear", 3)
    cost = count_graph_cost(graph(config, arrays))
    assert cost.macs == N_FEATURES * 3 == 24
    assert cost.per_op == {"MatMul": OpCost(nodes=1, macs=24, flops=48)}
    assert cost.params == N_FEATURES * 3 + 3 and cost.weight_bytes == 4 * cost.params
    assert cost.unknown_shapes == []


@pytest.mark.parametrize("n_classes", [2, 3])
def test_count_graph_cost_tree_ensemble_compares_and_its_nodes_are_its_params(n_classes):
    """0 MACs, no unknown shape; one float32 threshold per branch and weight per leaf."""
    from sklearn_kit import fitted, graph

    _, _, _, config, arrays = fitted("gbdt", n_classes)
    cost = count_graph_cost(graph(config, arrays))
    assert (cost.macs, cost.flops, cost.per_op, cost.unknown_shapes) == (0, 0, {}, [])
    assert cost.op_counts["TreeEnsembleRegressor"] == 1
    assert cost.params == config.nodes  # the constant 1 of 1 − p is a Constant node, not a param
    assert cost.weight_bytes == 4 * config.nodes and cost.initializer_bytes == 0
    assert "tree ensemble" in cost.params_rule


def test_count_graph_cost_tree_ensemble_as_tensor_attributes_known_answer():
    """One split and two leaves, thresholds and weights as double tensors: 3 params, 24 bytes."""
    tree = helper.make_node(
        "TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml", n_targets=1,
        nodes_treeids=[0, 0, 0], nodes_nodeids=[0, 1, 2], nodes_featureids=[1, 0, 0],
        nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF"], nodes_truenodeids=[1, 0, 0],
        nodes_falsenodeids=[2, 0, 0],
        nodes_values_as_tensor=numpy_helper.from_array(np.array([0.5, 0, 0], np.float64)),
        target_treeids=[0, 0], target_nodeids=[1, 2], target_ids=[0, 0],
        target_weights_as_tensor=numpy_helper.from_array(np.array([-1.0, 1.0], np.float64)))
    model = helper.make_model(helper.make_graph(
        [tree], "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])]),
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("ai.onnx.ml", 3)])
    cost = count_graph_cost(model)
    assert (cost.params, cost.weight_bytes, cost.macs, cost.unknown_shapes) == (3, 24, 0, [])
