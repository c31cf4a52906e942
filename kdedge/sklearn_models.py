"""Fitted scikit-learn models as plain arrays: what distill stores (safetensors, no pickle) and
export builds ONNX graphs from (export/sklearn_onnx.py).

- A `make_pipeline(StandardScaler(), LogisticRegression())` becomes `weight` float32 [n, C] and
  `bias` float32 [C] with the scaler folded in: logits = x·weight + bias on raw rows.
- A `HistGradientBoostingClassifier` becomes the flat node arrays of an ONNX `ai.onnx.ml`
  TreeEnsembleRegressor, each array named after the attribute it becomes. Thresholds are stored
  rounded toward −inf to float32 (`threshold_float32`), which makes the float32 comparison exact;
  leaf weights are float32 (onnxruntime refuses double leaf weights on a float input; with
  float32 ones onnxruntime's probabilities stay within 2e-7 of sklearn's, measured on the
  built-in data and the scikit-learn sets).

`predict_proba_arrays` computes probabilities from the stored arrays alone (numpy, float64): the
readable statement of what the exported graph computes, and the reference the tests check both
sklearn and onnxruntime against.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from kdedge.contract import LinearConfig, TreesConfig

# TreeEnsembleRegressor attributes stored per node (`nodes_*`) and per leaf weight (`target_*`).
NODE_ARRAYS = ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
               "nodes_is_leaf", "nodes_truenodeids", "nodes_falsenodeids",
               "nodes_missing_value_tracks_true")
TARGET_ARRAYS = ("target_treeids", "target_nodeids", "target_ids", "target_weights")


def _pipeline_steps(pipeline: Pipeline) -> tuple[StandardScaler, LogisticRegression]:
    steps = [step for _, step in getattr(pipeline, "steps", [])]
    if len(steps) != 2 or not isinstance(steps[0], StandardScaler) or \
            not isinstance(steps[1], LogisticRegression):
        raise TypeError(f"pipeline must be make_pipeline(StandardScaler(), LogisticRegression()),"
                        f" got {pipeline!r:.120}")
    if not hasattr(steps[1], "coef_"):
        raise ValueError("pipeline is not fitted: call pipeline.fit(X, y) first")
    return steps[0], steps[1]


def linear_arrays(pipeline: Pipeline) -> dict[str, np.ndarray]:
    """A fitted StandardScaler + LogisticRegression as {"weight": [n, C], "bias": [C]} float32.

    z = (x − mean) / scale and logits = z·coefᵀ + intercept fold into x·weight + bias with
    weight = coefᵀ / scale and bias = intercept − (mean / scale)·coefᵀ, computed in float64.
    A binary model has one coefficient row (sklearn's sigmoid of it): column 0 is zeros and
    column 1 the coefficients, so softmax([0, z]) = [1 − σ(z), σ(z)], sklearn's probabilities.
    """
    scaler, model = _pipeline_steps(pipeline)
    coef = np.asarray(model.coef_, dtype=np.float64)  # [1 or C, n]
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if len(model.classes_) == 2:
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
    n = coef.shape[1]
    mean = scaler.mean_ if scaler.with_mean else np.zeros(n)
    scale = scaler.scale_ if scaler.scale_ is not None else np.ones(n)
    weight = coef.T / np.asarray(scale, dtype=np.float64)[:, None]  # [n, C]
    bias = intercept - np.asarray(mean, dtype=np.float64) @ weight
    # C order: safetensors stores the raw buffer, and coef.T is Fortran-ordered
    return {"weight": np.ascontiguousarray(weight, dtype=np.float32),
            "bias": np.ascontiguousarray(bias, dtype=np.float32)}


def linear_config(pipeline: Pipeline, feature_index: list[int]) -> LinearConfig:
    """The contract record of a fitted pipeline whose inputs are columns `feature_index`."""
    _, model = _pipeline_steps(pipeline)
    _check_inputs(model.n_features_in_, feature_index)
    return LinearConfig(n_features=int(model.n_features_in_), n_classes=len(model.classes_),
                        feature_index=[int(i) for i in feature_index])


def _check_inputs(n_features: int, feature_index: list[int]) -> None:
    if len(feature_index) != n_features:
        raise ValueError(f"feature_index has {len(feature_index)} columns but the model was "
                         f"fitted on {n_features}; pass the columns it was fitted on")


def threshold_float32(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 threshold (rounding toward −inf).

    For every float32 x: x <= threshold_float32(t) exactly when float64(x) <= t, so a float32
    comparison in the graph takes the branch sklearn's float64 comparison takes.
    """
    t64 = np.asarray(threshold, dtype=np.float64)
    t32 = t64.astype(np.float32)
    above = t32.astype(np.float64) > t64
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    return t32


def _predictors(hgb: HistGradientBoostingClassifier) -> list[list]:
    """The fitted trees, per iteration and score column; refuses what a graph cannot hold."""
    if not isinstance(hgb, HistGradientBoostingClassifier):
        raise TypeError(f"hgb must be a HistGradientBoostingClassifier, got {type(hgb).__name__}")
    if not hasattr(hgb, "_predictors"):
        raise ValueError("hgb is not fitted: call hgb.fit(X, y) first")
    if any(tree.nodes["is_categorical"].any() for trees in hgb._predictors for tree in trees):
        raise ValueError("hgb has categorical splits, which the exported TreeEnsembleRegressor "
                         "cannot hold; fit it with categorical_features=None (or one-hot encode "
                         "the categorical columns first)")
    return hgb._predictors


def tree_arrays(hgb: HistGradientBoostingClassifier) -> dict[str, np.ndarray]:
    """A fitted HistGradientBoostingClassifier as flat TreeEnsembleRegressor node arrays.

    Tree t = iteration × score_columns + column (1 column for binary data, C otherwise) adds its
    leaf weight to raw score `column`; "true" is sklearn's left child (x <= threshold, or a
    missing x where missing_go_to_left). Leaf weights already include the learning rate.
    Returns the NODE_ARRAYS and TARGET_ARRAYS (int64 ids, float32 values) and `base_values`
    float32 [score_columns] (sklearn's baseline prediction).
    """
    parts: dict[str, list[np.ndarray]] = {name: [] for name in NODE_ARRAYS + TARGET_ARRAYS}
    for iteration, trees in enumerate(_predictors(hgb)):
        for column, tree in enumerate(trees):
            tree_id = iteration * len(trees) + column
            for name, values in _tree_node_arrays(tree.nodes, tree_id, column).items():
                parts[name].append(values)
    arrays = {name: np.concatenate(values) for name, values in parts.items()}
    arrays["base_values"] = np.asarray(hgb._baseline_prediction, np.float32).reshape(-1)
    return arrays


def _tree_node_arrays(nodes: np.ndarray, tree_id: int, column: int) -> dict[str, np.ndarray]:
    """One sklearn tree (its `.nodes` structured array, root first) as node and target arrays."""
    branch = nodes["is_leaf"] == 0
    leaves = np.flatnonzero(~branch)

    def on_branches(values: np.ndarray) -> np.ndarray:  # leaves get 0, as ONNX ignores them
        return np.where(branch, values, 0).astype(np.int64)

    return {
        "nodes_treeids": np.full(len(nodes), tree_id, np.int64),
        "nodes_nodeids": np.arange(len(nodes), dtype=np.int64),
        "nodes_featureids": on_branches(nodes["feature_idx"]),
        "nodes_values": np.where(branch, threshold_float32(nodes["num_threshold"]),
                                 np.float32(0)).astype(np.float32),
        "nodes_is_leaf": (~branch).astype(np.int64),
        "nodes_truenodeids": on_branches(nodes["left"]),
        "nodes_falsenodeids": on_branches(nodes["right"]),
        "nodes_missing_value_tracks_true": on_branches(nodes["missing_go_to_left"]),
        "target_treeids": np.full(len(leaves), tree_id, np.int64),
        "target_nodeids": leaves.astype(np.int64),
        "target_ids": np.full(len(leaves), column, np.int64),
        "target_weights": nodes["value"][leaves].astype(np.float32),
    }


def trees_config(hgb: HistGradientBoostingClassifier, feature_index: list[int]) -> TreesConfig:
    """The contract record of a fitted HistGradientBoostingClassifier on columns `feature_index`.

    `max_leaf_nodes` is sklearn's cap, or the largest tree's leaf count where the cap is None.
    """
    predictors = _predictors(hgb)
    _check_inputs(hgb.n_features_in_, feature_index)
    trees = [tree for per_iteration in predictors for tree in per_iteration]
    leaves = max(int(tree.nodes["is_leaf"].sum()) for tree in trees)
    return TreesConfig(n_features=int(hgb.n_features_in_), n_classes=len(hgb.classes_),
                       feature_index=[int(i) for i in feature_index],
                       iterations=len(predictors), trees=len(trees),
                       nodes=sum(len(tree.nodes) for tree in trees),
                       learning_rate=float(hgb.learning_rate),
                       max_leaf_nodes=int(hgb.max_leaf_nodes or leaves))


def predict_proba_arrays(config: LinearConfig | TreesConfig, arrays: dict[str, np.ndarray],
                         X: np.ndarray) -> np.ndarray:
    """Probabilities [rows, C] float64 from the stored arrays alone: what the graph computes.

    Linear: softmax(x·weight + bias). Trees: raw scores = base_values + the leaf weight each tree
    reaches (x <= threshold, or a missing x where it tracks true, goes to the true child);
    binary data (one score column): [1 − σ(raw), σ(raw)]; otherwise softmax(raw).
    """
    if config.kind not in ("linear", "gbdt"):
        raise ValueError(f"config.kind is {config.kind!r}; predict_proba_arrays computes "
                         "'linear' and 'gbdt' models")
    rows = np.asarray(X, dtype=np.float32).astype(np.float64)
    if config.kind == "linear":
        return softmax(rows @ arrays["weight"].astype(np.float64) + arrays["bias"], axis=1)
    raw = _tree_scores(arrays, rows)
    if raw.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        return np.column_stack([1.0 - p, p])
    return softmax(raw, axis=1)


def _tree_scores(arrays: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Raw scores [rows, score_columns]: every tree walked from its root for every row at once."""
    tree_ids = arrays["nodes_treeids"]
    roots = np.flatnonzero(arrays["nodes_nodeids"] == 0)  # global index of each tree's node 0
    root_of = np.zeros(tree_ids.max() + 1, np.int64)
    root_of[tree_ids[roots]] = roots  # tree id → global index of its root
    start = root_of[tree_ids]  # node → global index of its tree's root
    at = np.broadcast_to(roots, (len(rows), len(roots))).copy()  # [rows, trees] global node
    leaf = arrays["nodes_is_leaf"].astype(bool)
    while not leaf[at].all():
        x = np.take_along_axis(rows, arrays["nodes_featureids"][at], axis=1)
        true = (x <= arrays["nodes_values"][at].astype(np.float64)) | \
            (np.isnan(x) & (arrays["nodes_missing_value_tracks_true"][at] == 1))
        child = np.where(true, arrays["nodes_truenodeids"][at], arrays["nodes_falsenodeids"][at])
        at = np.where(leaf[at], at, start[at] + child)
    targets = root_of[arrays["target_treeids"]] + arrays["target_nodeids"]  # global leaf index
    weight_at = np.zeros(len(tree_ids))
    weight_at[targets] = arrays["target_weights"]
    column_at = np.zeros(len(tree_ids), np.int64)
    column_at[targets] = arrays["target_ids"]
    raw = np.tile(arrays["base_values"].astype(np.float64), (len(rows), 1))
    for column in range(raw.shape[1]):
        raw[:, column] += np.where(column_at[at] == column, weight_at[at], 0.0).sum(axis=1)
    return raw
