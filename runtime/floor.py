"""The floor: the cheapest graph with a model's inputs and outputs.

A `session.run` call from Python costs the same fixed overhead whatever the graph does (argument
conversion, one output tensor allocated and converted per output), so a six-feature MLP at batch 1
is mostly overhead. The floor measures that overhead: same input (name, float32 [batch, k]) and
same outputs (names, dtypes, shapes), but a single Slice for the float output ([batch, C] = the
first C input columns; a zero MatMul when k < C) and an ArgMax over it for the int64 label — two
kernels. A model's `ratio_to_floor` = its p50 / the floor's p50 in the same interleaved run.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOOR_OPSET = 13  # Slice with tensor inputs; ArgMax; supported by every onnxruntime >= 1.8
FLOOR_IR_VERSION = 7


def floor_key(*, n_features: int, outputs: list) -> str:
    """Name of the floor graph for a model signature, e.g. `floor-k6-c2`."""
    widths = [dims[1] for _, elem, dims in outputs if len(dims) == 2 and dims[1]]
    return f"floor-k{n_features}-c{widths[0] if widths else 1}"


def build_floor_model(*, input_name: str, n_features: int, outputs: list) -> onnx.ModelProto:
    """A two-kernel graph with the model's input and outputs.

    Args:
        input_name: The model's input (float32 [batch, n_features]).
        n_features: k, the input width.
        outputs: The model's outputs as (name, onnx elem_type, dims) with dims [batch, C] or
            [batch]; float outputs are produced by a Slice (or a zero MatMul), integer outputs by
            an ArgMax over that and a Cast when the dtype is not int64.

    Returns:
        The floor model (opset 13), ready for `onnxruntime.InferenceSession(model.SerializeToString())`.
    """
    nodes, inits = [], []
    float_types = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE)
    floats = [(n, e, d) for n, e, d in outputs if e in float_types and len(d) == 2]
    width = next((d[1] for _, _, d in floats if d[1]), 1)
    # The Slice writes the first float32 output directly, so the usual model (probabilities fp32,
    # label int64) gets exactly two kernels: Slice → probabilities, ArgMax → label.
    base = next((n for n, e, _ in floats if e == TensorProto.FLOAT), "floor_values")
    if n_features >= width:
        inits += [numpy_helper.from_array(np.array(v, dtype=np.int64), n)
                  for n, v in (("floor_start", [0]), ("floor_end", [width]), ("floor_axis", [1]))]
        nodes.append(helper.make_node("Slice", [input_name, "floor_start", "floor_end", "floor_axis"], [base]))
    else:
        inits.append(numpy_helper.from_array(np.zeros((n_features, width), np.float32), "floor_zero"))
        nodes.append(helper.make_node("MatMul", [input_name, "floor_zero"], [base]))

    graph_outputs = []
    for name, elem, dims in outputs:
        if name == base:
            pass
        elif elem in float_types and len(dims) == 2:
            nodes.append(helper.make_node("Cast", [base], [name], to=elem))
        else:  # integer outputs ([batch] or [batch, 1]): the arg-max class
            keepdims = 1 if len(dims) == 2 else 0
            target = name if elem == TensorProto.INT64 else f"{name}_int64"
            nodes.append(helper.make_node("ArgMax", [base], [target], axis=1, keepdims=keepdims))
            if elem != TensorProto.INT64:
                nodes.append(helper.make_node("Cast", [target], [name], to=elem))
        shape = ["batch"] + [width if i == 1 and elem in float_types else d for i, d in enumerate(dims)][1:]
        graph_outputs.append(helper.make_tensor_value_info(name, elem, shape))
    graph = helper.make_graph(
        nodes, "kdedge_floor",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["batch", n_features])],
        graph_outputs, inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", FLOOR_OPSET)],
                              producer_name="kdedge.runtime.floor")
    model.ir_version = FLOOR_IR_VERSION
    onnx.checker.check_model(model)
    return model
