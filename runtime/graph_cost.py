"""Static cost of an ONNX graph, counted from the graph itself: parameters, weight bytes, MACs.

Counts are per sample: the batch dimension of every graph input is fixed to 1 and
`onnx.shape_inference` gives the operand shapes. Only matrix products carry multiply-accumulates
(MACs): Gemm and MatMul with their int8, QDQ and onnxruntime-fused forms (the ops kdedge graphs
are made of); FLOPs are defined as 2·MACs. Every other op (bias Add, Relu, Sigmoid, Mul, Softmax,
Cast, (De)QuantizeLinear) is listed in `op_counts` but adds no MACs, so an MLP's count is the sum
of in·out over its layers (seed teacher 13→256→128→2: 13·256 + 256·128 + 128·2 = 36,352), whatever
its precision: an int8 QDQ graph's MatMul between DequantizeLinear nodes is counted once, a
dynamic-int8 MatMulInteger and an fp16 Gemm count as the fp32 op they replace.

A tree ensemble (`ai.onnx.ml` TreeEnsembleRegressor/Classifier, TreeEnsemble) compares, it does
not multiply: 0 MACs, and not an unknown shape. Its parameters are attributes, not initializers:
one threshold per branch node and one weight per leaf vote, so a scikit-learn GBDT (one vote per
leaf) has as many parameters as tree nodes; base values are not counted.

onnx has no such counter (onnx-tool and similar are not dependencies here), hence this module.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from kdedge.contract import GraphCost, OpCost

# Matrix-product ops: (index of A, index of B) among the node inputs.
_MATMUL_OPERANDS = {
    "MatMul": (0, 1),
    "MatMulInteger": (0, 1),
    "QLinearMatMul": (0, 3),
    "MatMulIntegerToFloat": (0, 1),  # com.microsoft, written by ORT graph optimisations
    "FusedMatMul": (0, 1),  # com.microsoft
    "DynamicQuantizeMatMul": (0, 1),  # com.microsoft
}
# Gemm-like ops: (index of A, index of B); transA/transB attributes apply.
_GEMM_OPERANDS = {"Gemm": (0, 1), "FusedGemm": (0, 1), "QGemm": (0, 3)}
# Inputs that hold quantization scales / zero points, not weights (excluded from params).
_QUANT_PARAM_INPUTS = {
    "QuantizeLinear": (1, 2),
    "DequantizeLinear": (1, 2),
    "MatMulInteger": (2, 3),
    "QLinearMatMul": (1, 2, 4, 5, 6, 7),
    "MatMulIntegerToFloat": (2, 3, 4, 5),
    "DynamicQuantizeMatMul": (2, 3),
    "QGemm": (1, 2, 4, 5, 7, 8),
}
# ai.onnx.ml tree ensembles and their parameter attributes (plain, or `<name>_as_tensor`).
_TREE_OPS = {"TreeEnsembleRegressor", "TreeEnsembleClassifier", "TreeEnsemble"}
_TREE_THRESHOLDS = ("nodes_values", "nodes_splits")  # nodes_splits (ml 5): branch nodes only
_TREE_WEIGHTS = ("target_weights", "class_weights", "leaf_weights")  # one per leaf vote
PARAMS_RULE = (
    "params = elements of initializers, excluding quantization scales/zero points and int64 "
    "tensors (shapes, axes, indices), plus, for an ai.onnx.ml tree ensemble, one threshold per "
    "branch node and one weight per leaf vote (its node count for a scikit-learn GBDT; base "
    "values not counted); weight_bytes = their bytes in the stored dtype"
)

Shapes = dict[str, list[int | None]]


def count_graph_cost(model_or_path: onnx.ModelProto | str | os.PathLike) -> GraphCost:
    """Count parameters, weight bytes, MACs and FLOPs of an ONNX graph, per sample (batch 1).

    Args:
        model_or_path: A loaded `onnx.ModelProto` (left unchanged) or the path of an .onnx file.
            External weight data is never read: sizes come from the tensor dims.

    Returns:
        A `kdedge.contract.GraphCost` (its fields say what each count includes).
    """
    if isinstance(model_or_path, onnx.ModelProto):
        model = onnx.ModelProto()
        model.CopyFrom(model_or_path)
    else:
        model = onnx.load(os.fspath(model_or_path), load_external_data=False)
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    _fix_batch_to_one(graph, initializers)
    params, weight_bytes, initializer_bytes = _count_params(graph, initializers)
    tree_params, tree_bytes = _count_tree_params(graph)
    params, weight_bytes = params + tree_params, weight_bytes + tree_bytes
    per_op, unknown = _count_macs(graph, _infer_shapes(model, initializers))
    total = sum(entry.macs for entry in per_op.values())
    return GraphCost(params=params, weight_bytes=weight_bytes, initializer_bytes=initializer_bytes,
                     macs=total, flops=2 * total, per_op=per_op,
                     op_counts=dict(Counter(node.op_type for node in graph.node)),
                     nodes=len(graph.node), unknown_shapes=unknown, params_rule=PARAMS_RULE)


def _fix_batch_to_one(graph: onnx.GraphProto, initializers: dict) -> None:
    """Per-sample cost: set each graph input's leading symbolic dim to 1."""
    for value in graph.input:
        if value.name in initializers or not value.type.HasField("tensor_type"):
            continue
        dims = value.type.tensor_type.shape.dim
        if len(dims) and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1


def _quantization_params(graph: onnx.GraphProto, initializers: dict) -> set[str]:
    """Names of the initializers that are quantization scales or zero points."""
    names = {node.input[i] for node in graph.node
             for i in _QUANT_PARAM_INPUTS.get(node.op_type, ()) if i < len(node.input)}
    # Dynamic int8 (onnxruntime.quantization): Mul(activation scale from DynamicQuantizeLinear,
    # weight scale) rescales the MatMulInteger result; that weight scale is no weight either.
    dynamic_scales = {n.output[1] for n in graph.node if n.op_type == "DynamicQuantizeLinear"}
    for node in graph.node:
        if node.op_type == "Mul" and dynamic_scales.intersection(node.input):
            names.update(i for i in node.input if i in initializers)
    return names


def _count_params(graph: onnx.GraphProto, initializers: dict) -> tuple[int, int, int]:
    """(params, weight_bytes, initializer_bytes) as PARAMS_RULE defines them."""
    quantization = _quantization_params(graph, initializers)
    params = weight_bytes = initializer_bytes = 0
    for name, tensor in initializers.items():
        n_elements = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
        n_bytes = n_elements * helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
        initializer_bytes += n_bytes
        if name in quantization or tensor.data_type == onnx.TensorProto.INT64:
            continue
        params += n_elements
        weight_bytes += n_bytes
    return params, weight_bytes, initializer_bytes


def _tree_attribute(node: onnx.NodeProto, names: tuple[str, ...]) -> np.ndarray:
    """The first of `names` the node has, as an array in its stored dtype (floats: float32)."""
    attributes = {attr.name: attr for attr in node.attribute}
    for name in names:
        for key in (name, f"{name}_as_tensor"):
            if key in attributes:
                value = helper.get_attribute_value(attributes[key])
                if isinstance(value, onnx.TensorProto):
                    return numpy_helper.to_array(value).reshape(-1)
                return np.asarray(value, dtype=np.float32)
    return np.zeros(0, np.float32)


def _count_tree_params(graph: onnx.GraphProto) -> tuple[int, int]:
    """(params, weight_bytes) of the tree ensembles: branch thresholds and leaf weights."""
    params = weight_bytes = 0
    for node in graph.node:
        if node.op_type not in _TREE_OPS:
            continue
        thresholds = _tree_attribute(node, _TREE_THRESHOLDS)
        modes = next((helper.get_attribute_value(a) for a in node.attribute
                      if a.name == "nodes_modes" and a.type == onnx.AttributeProto.STRINGS), None)
        if modes is not None and len(modes) == len(thresholds):  # ml 3: leaves hold no threshold
            thresholds = thresholds[np.asarray(modes) != b"LEAF"]
        weights = _tree_attribute(node, _TREE_WEIGHTS)
        params += thresholds.size + weights.size
        weight_bytes += thresholds.nbytes + weights.nbytes
    return params, weight_bytes


def _count_macs(graph: onnx.GraphProto, shapes: Shapes) -> tuple[dict[str, OpCost], list[str]]:
    """MACs per op type (matrix products only), and the nodes whose shapes were unknown."""
    per_op: dict[str, OpCost] = {}
    unknown = []
    for node in graph.node:
        if node.op_type in _GEMM_OPERANDS:
            macs = _gemm_macs(node, shapes)
        elif node.op_type in _MATMUL_OPERANDS:
            macs = _matmul_macs(node, shapes)
        else:
            continue
        if macs is None:
            unknown.append(node.name or node.op_type)
            continue
        entry = per_op.setdefault(node.op_type, OpCost(nodes=0, macs=0, flops=0))
        entry.nodes += 1
        entry.macs += macs
        entry.flops += 2 * macs
    return per_op, unknown


def _infer_shapes(model: onnx.ModelProto, initializers: dict) -> Shapes:
    """Every tensor's shape that shape inference, the initializers or Constant nodes give."""
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:  # an ill-formed graph: fall back to what the file states
        inferred = model
    shapes: Shapes = {}
    graph = inferred.graph
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        if value.type.HasField("tensor_type") and value.type.tensor_type.HasField("shape"):
            shapes[value.name] = [
                d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim
            ]
    for name, tensor in initializers.items():
        shapes[name] = list(tensor.dims)
    for node in graph.node:  # Constant nodes carry their shape in the attribute
        if node.op_type == "Constant" and node.attribute and node.attribute[0].HasField("t"):
            shapes[node.output[0]] = list(node.attribute[0].t.dims)
    return shapes


def _known(shape: list[int | None] | None) -> bool:
    return shape is not None and all(isinstance(d, int) and d > 0 for d in shape)


def _gemm_macs(node: onnx.NodeProto, shapes: Shapes) -> int | None:
    """M·K·N of a Gemm-like node at batch 1; None when B's shape is unknown."""
    ia, ib = _GEMM_OPERANDS[node.op_type]
    a, b = shapes.get(node.input[ia]), shapes.get(node.input[ib])
    attrs = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
    if not (_known(b) and len(b) == 2):
        return None
    k, n = (b[1], b[0]) if attrs.get("transB", 0) else (b[0], b[1])
    if _known(a) and len(a) == 2:
        m = a[1] if attrs.get("transA", 0) else a[0]
    else:
        m = 1  # the input of a per-sample graph: one row
    return int(m) * int(k) * int(n)


def _matmul_macs(node: onnx.NodeProto, shapes: Shapes) -> int | None:
    """MACs of a (batched, numpy-broadcast) MatMul-like node at batch 1; None when B is unknown."""
    ia, ib = _MATMUL_OPERANDS[node.op_type]
    a, b = shapes.get(node.input[ia]), shapes.get(node.input[ib])
    if not _known(b):
        return None
    b2 = list(b) + [1] if len(b) == 1 else list(b)  # a 1-D B is a column vector
    k, n = b2[-2], b2[-1]
    if _known(a):
        a2 = [1] + list(a) if len(a) == 1 else list(a)  # a 1-D A is a row vector
        m, batch = a2[-2], np.broadcast_shapes(tuple(a2[:-2]), tuple(b2[:-2]))
    else:
        m, batch = 1, tuple(b2[:-2])  # unknown activation shape: one row per sample
    return int(np.prod(batch, dtype=np.int64)) * int(m) * int(k) * int(n)
