"""kdedge.runtime.floor: the overhead-only graph has the model's exact interface."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto

from kdedge.runtime.floor import build_floor_model, floor_key

OUTPUTS = [("probabilities", TensorProto.FLOAT, [None, 3]), ("label", TensorProto.INT64, [None])]


@pytest.mark.parametrize("n_features", [6, 2])  # k >= C (Slice) and k < C (zero MatMul)
def test_build_floor_model_matches_the_model_interface(n_features):
    model = build_floor_model(input_name="features", n_features=n_features, outputs=OUTPUTS)
    session = ort.InferenceSession(model.SerializeToString())
    x = np.random.default_rng(0).standard_normal((5, n_features)).astype(np.float32)
    probabilities, label = session.run(None, {"features": x})
    assert [o.name for o in session.get_outputs()] == ["probabilities", "label"]
    assert probabilities.dtype == np.float32 and probabilities.shape == (5, 3)
    assert label.dtype == np.int64 and label.shape == (5,)
    assert len(model.graph.node) == 2  # two kernels: the floor is the call overhead, not compute
    if n_features >= 3:
        np.testing.assert_array_equal(probabilities, x[:, :3])


def test_floor_key_names_the_signature():
    assert floor_key(n_features=6, outputs=OUTPUTS) == "floor-k6-c3"
