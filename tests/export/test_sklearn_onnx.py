"""kdedge.export.sklearn_onnx: the stored baselines as ONNX, run by onnxruntime against sklearn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

from kdedge.contract import INPUT_NAME, OUTPUT_NAMES, TeacherConfig
from kdedge.export.sklearn_onnx import ML_DOMAIN, ML_OPSET, sklearn_to_onnx
from kdedge.runtime.interface import check_interface
from kdedge.sklearn_models import predict_proba_arrays, tree_arrays, trees_config

from sklearn_kit import (KINDS, N_FEATURES, adjacent_float32_split, classification_data, fit,
                         fitted, graph, metadata, onnx_outputs)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_sklearn_to_onnx_matches_sklearn_predict_proba(kind, n_classes):
    """onnxruntime on the graph vs sklearn on the same float32 rows (measured max |Δp|: linear
    1.8e-7, trees 1.3e-7); labels identical; the numpy reference within float32 rounding."""
    X, _, estimator, config, arrays = fitted(kind, n_classes)
    probabilities, labels = onnx_outputs(graph(config, arrays), X)
    assert probabilities.dtype == np.float32 and labels.dtype == np.int64
    np.testing.assert_allclose(probabilities, estimator.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(labels, estimator.predict(X))
    np.testing.assert_allclose(probabilities, predict_proba_arrays(config, arrays, X), atol=1e-6)


@pytest.mark.parametrize("kind,ops", [
    ("linear", ["MatMul", "Add", "Softmax", "ArgMax"]),
    ("gbdt", ["TreeEnsembleRegressor", "Constant", "Sigmoid", "Sub", "Concat", "ArgMax"])])
def test_sklearn_to_onnx_has_the_kdedge_interface(kind, ops):
    _, _, _, config, arrays = fitted(kind, 2)
    model = graph(config, arrays, model="logreg_all")
    interface = check_interface(model, name=f"{kind}.onnx")
    assert (interface.input.name, interface.n_features, interface.n_classes) == \
        (INPUT_NAME, N_FEATURES, 2)
    assert [spec.name for spec in interface.outputs] == list(OUTPUT_NAMES)
    assert interface.feature_names == metadata(config).feature_names
    assert {p.key: p.value for p in model.metadata_props} == \
        metadata(config, model="logreg_all").to_props()
    assert [node.op_type for node in model.graph.node] == ops
    imports = {o.domain: o.version for o in model.opset_import}
    assert imports == ({"": 18} if kind == "linear" else {"": 18, ML_DOMAIN: ML_OPSET})
    assert model.ir_version == 8  # the oldest IR that carries opset 18


def test_sklearn_to_onnx_multiclass_trees_end_in_softmax():
    _, _, _, config, arrays = fitted("gbdt", 3)
    model = graph(config, arrays)
    assert [node.op_type for node in model.graph.node] == \
        ["TreeEnsembleRegressor", "Softmax", "ArgMax"]
    ensemble = model.graph.node[0]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in ensemble.attribute}
    assert attributes["n_targets"] == 3 and attributes["aggregate_function"] == b"SUM"
    assert attributes["nodes_modes"].count(b"BRANCH_LEQ") + \
        attributes["nodes_modes"].count(b"LEAF") == config.nodes


def test_sklearn_to_onnx_split_between_adjacent_float32_values():
    """onnxruntime compares float32 x with the float32 threshold: rounded down, b still goes
    right, as sklearn's float64 comparison sends it."""
    hgb, rows = adjacent_float32_split()
    config, arrays = trees_config(hgb, [0]), tree_arrays(hgb)
    probabilities, labels = onnx_outputs(graph(config, arrays), rows)
    np.testing.assert_array_equal(labels, [0, 1])
    np.testing.assert_allclose(probabilities, hgb.predict_proba(rows), atol=1e-6)


def test_sklearn_to_onnx_missing_values_take_sklearns_branch():
    X, y = classification_data(2)
    X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    hgb, config, arrays = fit("gbdt", X, y)
    probabilities, labels = onnx_outputs(graph(config, arrays), X)
    np.testing.assert_allclose(probabilities, hgb.predict_proba(X), atol=1e-5)
    np.testing.assert_array_equal(labels, hgb.predict(X))


def test_sklearn_to_onnx_trees_that_are_a_single_leaf():
    """A tree whose root cannot split (min_samples_leaf > half the rows) is one LEAF node."""
    X, y = classification_data(2)
    hgb, config, arrays = fit("gbdt", X, y, max_iter=3, min_samples_leaf=400)
    assert config.nodes == config.trees == 3
    probabilities, _ = onnx_outputs(graph(config, arrays), X[:5])
    np.testing.assert_allclose(probabilities, hgb.predict_proba(X[:5]), atol=1e-6)


def test_sklearn_to_onnx_refuses_what_it_cannot_build():
    _, _, _, config, arrays = fitted("linear", 3)
    with pytest.raises(ValueError, match=r"'weight' has shape \(8, 2\)"):
        sklearn_to_onnx(config, {**arrays, "weight": arrays["weight"][:, :2]}, metadata(config))
    with pytest.raises(ValueError, match="lack 'bias'"):
        sklearn_to_onnx(config, {"weight": arrays["weight"]}, metadata(config))
    with pytest.raises(ValueError, match="opset >= 13"):
        sklearn_to_onnx(config, arrays, metadata(config, opset=11))
    with pytest.raises(ValueError, match="'teacher'.*onnx_export"):
        sklearn_to_onnx(TeacherConfig(n_features=8, n_classes=3), arrays, metadata(config))
    _, _, _, trees, tree_values = fitted("gbdt", 2)
    with pytest.raises(ValueError, match="'nodes_values' has shape"):
        sklearn_to_onnx(trees, {**tree_values, "nodes_values": tree_values["nodes_values"][1:]},
                        metadata(trees))


SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from safetensors.numpy import load_file
    from kdedge.contract import LinearConfig, TreesConfig, OnnxMetadata
    from kdedge.export.sklearn_onnx import sklearn_to_onnx
    spec = json.load(open(sys.argv[1]))
    config = (TreesConfig if spec["config"]["kind"] == "gbdt" else LinearConfig)(**spec["config"])
    model = sklearn_to_onnx(config, load_file(sys.argv[2]), OnnxMetadata(**spec["metadata"]))
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "sklearn"})
    print(json.dumps({"nodes": len(model.graph.node), "heavy": heavy}))
""")


def test_sklearn_to_onnx_needs_neither_torch_nor_sklearn(tmp_path, blocker):
    from safetensors.numpy import save_file

    _, _, _, config, arrays = fitted("gbdt", 3)
    save_file(arrays, tmp_path / "hgb_all.safetensors")
    (tmp_path / "spec.json").write_text(json.dumps(
        {"config": config.to_json(), "metadata": metadata(config).to_json()}))
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(blocker("torch", "sklearn"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "blocker"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "spec.json"),
                           str(tmp_path / "hgb_all.safetensors")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"nodes": 3, "heavy": []}
