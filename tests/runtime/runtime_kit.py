"""Builders shared by the runtime tests: small kdedge-shaped ONNX models and device folders.

A module with its own name, not conftest.py: several conftest modules exist, and `from conftest
import` picks whichever one pytest imported last when folders run together."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import kdedge
from kdedge.contract import OnnxMetadata

TEACHER_SIZES = (13, 256, 128, 2)
STUDENT_SIZES = (6, 32, 2)
SELECTED = ["feature_3", "feature_0", "feature_7", "feature_12", "feature_5", "feature_1"]


def mlp_model(sizes, *, kind="student", variant="fp32", feature_names=None, fp16=False, seed=0,
              opset=17) -> onnx.ModelProto:
    """Gemm/Relu MLP → Softmax → probabilities, ArgMax → label (BatchNorm already folded)."""
    rng = np.random.default_rng(seed)
    dtype = np.float16 if fp16 else np.float32
    nodes, inits = [], []
    current = "features"
    if fp16:
        nodes.append(helper.make_node("Cast", ["features"], ["features_fp16"], to=TensorProto.FLOAT16))
        current = "features_fp16"
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
        b = (0.1 * rng.standard_normal(n_out)).astype(dtype)
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"B{i}")]
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"B{i}"], [f"gemm{i}"], transB=1))
        current = f"gemm{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [current], [f"relu{i}"]))
            current = f"relu{i}"
    if fp16:
        nodes.append(helper.make_node("Cast", [current], ["logits"], to=TensorProto.FLOAT))
        current = "logits"
    nodes.append(helper.make_node("Softmax", [current], ["probabilities"], axis=1))
    nodes.append(helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0))
    graph = helper.make_graph(
        nodes, f"{kind}_{variant}",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", sizes[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", sizes[-1]]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    names = feature_names or [f"feature_{i}" for i in range(sizes[0])]
    meta = OnnxMetadata(model=kind, variant=variant, feature_names=names,
                        class_names=[str(c) for c in range(sizes[-1])], version=kdedge.__version__,
                        run_id="test-run", weights_sha256="0" * 64, opset=str(opset)).to_props()
    helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model


def quantize_variants(fp32_path: Path, *, n_features: int) -> dict[str, Path]:
    """student.int8.onnx (dynamic) and student.int8-static.onnx (QDQ) next to an fp32 model."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)

    stem = fp32_path.name[: -len(".onnx")]
    dynamic = fp32_path.with_name(f"{stem}.int8.onnx")
    static = fp32_path.with_name(f"{stem}.int8-static.onnx")
    quantize_dynamic(str(fp32_path), str(dynamic), weight_type=QuantType.QInt8)

    class Rows(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(1)
            self.batches = iter([{"features": rng.standard_normal((8, n_features)).astype(np.float32)}
                                 for _ in range(4)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(fp32_path), str(static), Rows(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    for path, variant in ((dynamic, "int8"), (static, "int8-static")):
        model = onnx.load(str(path))
        props = {p.key: p.value for p in model.metadata_props}
        props["kdedge.variant"] = variant
        del model.metadata_props[:]
        helper.set_model_props(model, props)
        onnx.save(model, str(path))
    return {"int8": dynamic, "int8-static": static}


def make_device_dir(root: Path, *, teacher=True, student=True, n_rows=64) -> Path:
    """What a device holds (`scp -r RUN/onnx RUN/split.npz`): onnx/ models and split.npz rows.

    No run.json or metrics.json: tests that need those use a copy of the real `full_run`.
    """
    onnx_dir = root / "onnx"
    onnx_dir.mkdir(parents=True)
    all_names = [f"feature_{i}" for i in range(13)]
    if teacher:
        onnx.save(mlp_model(TEACHER_SIZES, kind="teacher", feature_names=all_names), onnx_dir / "teacher.onnx")
    if student:
        onnx.save(mlp_model(STUDENT_SIZES, kind="student", feature_names=SELECTED, seed=1),
                  onnx_dir / "student.onnx")
    rng = np.random.default_rng(0)
    np.savez(root / "split.npz", X_test=rng.standard_normal((n_rows, 13)).astype(np.float32),
             y_test=rng.integers(0, 2, n_rows).astype(np.int64), feature_names=np.array(all_names))
    return root


