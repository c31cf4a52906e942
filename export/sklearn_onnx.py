"""scikit-learn baselines (and a GBDT teacher) → ONNX, from the arrays distill stored.

The graph is written by hand with `onnx.helper` from `kdedge.sklearn_models`' arrays, never from a
fitted estimator (no pickle crosses the stage boundary). skl2onnx is not used: 1.20.0 crashes
converting a HistGradientBoostingClassifier of scikit-learn 1.9 ("Expected an int, got a boolean"
in the TreeEnsembleClassifier attributes), and the two graphs below are short.

- linear: features → MatMul(weight) → Add(bias) → Softmax(axis=1) → probabilities.
- trees: features → ai.onnx.ml TreeEnsembleRegressor (opset ml 3, SUM of the leaf weights plus
  base_values) → raw scores [batch, S]; S = 1 (binary): p = Sigmoid, probabilities =
  Concat(1 − p, p), as sklearn; S = C: Softmax(axis=1).
- both: label = ArgMax(probabilities, axis=1) int64, the interface of every kdedge graph.

onnx + numpy only: no torch, no scikit-learn.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from kdedge.contract import INPUT_NAME, OUTPUT_NAMES, LinearConfig, OnnxMetadata, TreesConfig

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 3  # TreeEnsembleRegressor's last version (ml opset 5 deprecates it for TreeEnsemble)
MIN_OPSET = 13  # Softmax over one axis (axis=1) and every op below, as defined since opset 13
PRODUCER = "kdedge sklearn_onnx"


def sklearn_to_onnx(config: LinearConfig | TreesConfig, arrays: dict[str, np.ndarray],
                    metadata: OnnxMetadata) -> onnx.ModelProto:
    """The ONNX classifier of a stored linear or tree model: `features` → probabilities, label.

    Args:
        config: the model's record (models.json), kind "linear" or "gbdt".
        arrays: its stored arrays (`sklearn_models.linear_arrays` / `tree_arrays`).
        metadata: the kdedge.* metadata; `metadata.opset` is the default-domain opset used.

    Returns:
        The model, in memory, every tensor embedded; it passes `onnx.checker.check_model`.
    """
    opset = int(metadata.opset)
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} is too old for this graph; use an opset >= {MIN_OPSET}")
    if config.kind == "linear":
        nodes, initializers, opsets = _linear_nodes(config, arrays), _linear_weights(arrays), {}
    elif config.kind == "gbdt":
        nodes, initializers, opsets = _tree_nodes(config, arrays), [], {ML_DOMAIN: ML_OPSET}
    else:
        raise ValueError(f"config.kind is {config.kind!r}; sklearn_to_onnx builds 'linear' or "
                         "'gbdt' models (the MLPs are exported by onnx_export)")
    nodes.append(helper.make_node("ArgMax", [OUTPUT_NAMES[0]], [OUTPUT_NAMES[1]], axis=1,
                                  keepdims=0))
    graph = helper.make_graph(
        nodes, f"{metadata.model}_{metadata.variant}",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT,
                                       ["batch", config.n_features])],
        [helper.make_tensor_value_info(OUTPUT_NAMES[0], TensorProto.FLOAT,
                                       ["batch", config.n_classes]),
         helper.make_tensor_value_info(OUTPUT_NAMES[1], TensorProto.INT64, ["batch"])],
        initializers)
    imports = [helper.make_opsetid("", opset)] + \
        [helper.make_opsetid(domain, version) for domain, version in opsets.items()]
    model = helper.make_model(graph, opset_imports=imports, producer_name=PRODUCER,
                              producer_version=metadata.version,
                              ir_version=helper.find_min_ir_version_for(imports))
    helper.set_model_props(model, metadata.to_props())
    onnx.checker.check_model(model, full_check=True)
    return model


def _array(arrays: dict[str, np.ndarray], name: str) -> np.ndarray:
    if name not in arrays:
        raise ValueError(f"the stored arrays lack {name!r} (found {sorted(arrays)}); re-run "
                         "`kdedge distill`")
    return np.asarray(arrays[name])


def _check_shape(arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    values = _array(arrays, name)
    if tuple(values.shape) != shape:
        raise ValueError(f"stored array {name!r} has shape {tuple(values.shape)}, expected "
                         f"{shape} (from models.json and the other arrays); re-run "
                         "`kdedge distill`")
    return values


def _linear_weights(arrays: dict[str, np.ndarray]) -> list[onnx.TensorProto]:
    return [numpy_helper.from_array(arrays[name].astype(np.float32), name)
            for name in ("weight", "bias")]


def _linear_nodes(config: LinearConfig, arrays: dict[str, np.ndarray]) -> list[onnx.NodeProto]:
    """logits = features·weight + bias; probabilities = softmax(logits)."""
    _check_shape(arrays, "weight", (config.n_features, config.n_classes))
    _check_shape(arrays, "bias", (config.n_classes,))
    return [helper.make_node("MatMul", [INPUT_NAME, "weight"], ["product"]),
            helper.make_node("Add", ["product", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], [OUTPUT_NAMES[0]], axis=1)]


def _ints(arrays: dict[str, np.ndarray], name: str) -> list[int]:
    return arrays[name].astype(np.int64).tolist()


def _floats(arrays: dict[str, np.ndarray], name: str) -> list[float]:
    return arrays[name].astype(np.float32).tolist()  # each value exactly its float32


def _tree_ensemble(arrays: dict[str, np.ndarray], n_nodes: int) -> onnx.NodeProto:
    """The TreeEnsembleRegressor node: raw scores = base_values + Σ leaf weights reached.

    BRANCH_LEQ takes the true child when x <= threshold (sklearn's left child); a NaN x follows
    nodes_missing_value_tracks_true (sklearn's missing_go_to_left).
    """
    modes = ["LEAF" if leaf else "BRANCH_LEQ" for leaf in arrays["nodes_is_leaf"]]
    n_scores = len(arrays["base_values"])
    for name in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
                 "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true"):
        _check_shape(arrays, name, (n_nodes,))
    n_leaves = len(_array(arrays, "target_weights"))
    for name in ("target_weights", "target_treeids", "target_nodeids", "target_ids"):
        _check_shape(arrays, name, (n_leaves,))
    return helper.make_node(
        "TreeEnsembleRegressor", [INPUT_NAME], ["scores"], domain=ML_DOMAIN,
        n_targets=n_scores, aggregate_function="SUM", post_transform="NONE",
        base_values=_floats(arrays, "base_values"),
        nodes_treeids=_ints(arrays, "nodes_treeids"), nodes_nodeids=_ints(arrays, "nodes_nodeids"),
        nodes_featureids=_ints(arrays, "nodes_featureids"),
        nodes_values=_floats(arrays, "nodes_values"), nodes_modes=modes,
        nodes_truenodeids=_ints(arrays, "nodes_truenodeids"),
        nodes_falsenodeids=_ints(arrays, "nodes_falsenodeids"),
        nodes_missing_value_tracks_true=_ints(arrays, "nodes_missing_value_tracks_true"),
        target_treeids=_ints(arrays, "target_treeids"),
        target_nodeids=_ints(arrays, "target_nodeids"),
        target_ids=_ints(arrays, "target_ids"), target_weights=_floats(arrays, "target_weights"))


def _tree_nodes(config: TreesConfig, arrays: dict[str, np.ndarray]) -> list[onnx.NodeProto]:
    """Raw scores → probabilities: sigmoid pair for one score column, softmax for C."""
    n_scores = 1 if config.n_classes == 2 else config.n_classes
    _check_shape(arrays, "base_values", (n_scores,))
    _check_shape(arrays, "nodes_is_leaf", (config.nodes,))
    nodes = [_tree_ensemble(arrays, config.nodes)]
    if n_scores > 1:
        return nodes + [helper.make_node("Softmax", ["scores"], [OUTPUT_NAMES[0]], axis=1)]
    one = numpy_helper.from_array(np.ones(1, np.float32), "one")
    return nodes + [  # a Constant node, not an initializer: 1 is not a parameter
        helper.make_node("Constant", [], ["one"], value=one),
        helper.make_node("Sigmoid", ["scores"], ["positive"]),
        helper.make_node("Sub", ["one", "positive"], ["negative"]),
        helper.make_node("Concat", ["negative", "positive"], [OUTPUT_NAMES[0]], axis=1)]
