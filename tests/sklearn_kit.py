"""Builders shared by the scikit-learn model tests: small fitted baselines, their stored arrays,
their ONNX graphs and onnxruntime's outputs on them.

A module with its own name, not conftest.py (see tests/runtime/runtime_kit.py for why)."""

from __future__ import annotations

import functools

import numpy as np
import onnx
import onnxruntime as ort
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kdedge.contract import OnnxMetadata
from kdedge.export.sklearn_onnx import sklearn_to_onnx
from kdedge.sklearn_models import linear_arrays, linear_config, tree_arrays, trees_config

N_FEATURES = 8
KINDS = ("linear", "gbdt")


def classification_data(n_classes: int, *, rows: int = 600, seed: int = 0):
    """make_classification rows as float32 (what a kdedge graph is fed) and their labels."""
    X, y = make_classification(rows, N_FEATURES, n_informative=5, n_redundant=1,
                               n_classes=n_classes, random_state=seed)
    return (3 * X + 10).astype(np.float32), y  # an offset, so the folded scaler matters


def fit(kind: str, X: np.ndarray, y: np.ndarray, **params):
    """A fitted baseline and its (config, arrays), as distill would store them."""
    columns = list(range(X.shape[1]))
    if kind == "linear":
        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
        return estimator, linear_config(estimator, columns), linear_arrays(estimator)
    estimator = HistGradientBoostingClassifier(**{"max_iter": 20, "random_state": 0, **params})
    estimator.fit(X, y)
    return estimator, trees_config(estimator, columns), tree_arrays(estimator)


@functools.lru_cache(maxsize=None)
def fitted(kind: str, n_classes: int):
    """`fit` on `classification_data(n_classes)`, cached (tests only read it)."""
    X, y = classification_data(n_classes)
    return (X, y) + fit(kind, X, y)


def adjacent_float32_split():
    """A fitted tree splitting between two adjacent float32 values a < b, midway (float64):
    float32(midpoint) rounds (ties to even) up to b, so the naive rounding sends b left."""
    a = np.nextafter(np.float32(1), np.float32(2))  # odd mantissa: the tie rounds away from it
    b = np.nextafter(a, np.float32(2))
    X = np.r_[np.full(50, a), np.full(50, b)].astype(np.float32)[:, None]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    hgb = HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=5).fit(X, y)
    return hgb, np.array([[a], [b]], np.float32)


def metadata(config, *, model: str = "hgb_all", opset: int = 18) -> OnnxMetadata:
    return OnnxMetadata(model=model, variant="fp32",
                        feature_names=[f"feature_{i}" for i in range(config.n_features)],
                        class_names=[f"class_{c}" for c in range(config.n_classes)],
                        version="0.1.0", run_id="test-run", weights_sha256="0" * 64,
                        opset=str(opset))


def graph(config, arrays, **kwargs) -> onnx.ModelProto:
    return sklearn_to_onnx(config, arrays, metadata(config, **kwargs))


def onnx_outputs(model: onnx.ModelProto, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """onnxruntime's (probabilities, labels) on float32 rows."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    probabilities, labels = session.run(None, {"features": np.asarray(X, np.float32)})
    return probabilities, labels
