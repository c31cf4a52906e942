"""kdedge.runtime.second_runtime: exported graphs under OpenVINO, tract and emulated bf16."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import kdedge.runtime.second_runtime as second
from kdedge.artifacts import load_run
from kdedge.contract import onnx_file
from kdedge.runtime.second_runtime import (MIN_AGREEMENT, bf16_emulated, bf16_round,
                                           check_runtimes, compare_runtimes)

from runtime_kit import STUDENT_SIZES, mlp_model


def _needs(package: str):
    missing = importlib.util.find_spec(package) is None
    return pytest.mark.skipif(missing, reason=f"{package} is not installed "
                                              f"(pip install 'kdedge[runtimes]')")


@pytest.mark.parametrize("runtime", [pytest.param("openvino", marks=_needs("openvino")),
                                     pytest.param("tract", marks=_needs("tract"))])
@pytest.mark.parametrize("variant", ["fp32", "fp16", "int8", "int8-static"])
def test_compare_runtimes_second_runtime_agrees_on_the_student(full_run, runtime, variant):
    """A user's runtime of choice reads every exported student as onnxruntime does (OpenVINO
    with its defaults: bf16 arithmetic on a bf16 CPU); tract loads the fp16 interface too."""
    rows = load_run(full_run).input_rows("student")
    [result] = compare_runtimes(full_run / onnx_file("student", variant), rows, runtimes=[runtime])
    assert result.status == "ran", result.note
    assert result.rows == len(rows) and result.agreement >= MIN_AGREEMENT, result.line()
    assert result.ok and result.max_abs_diff < 0.1


@pytest.fixture
def save_model(tmp_path):
    def save(model: onnx.ModelProto, name: str):
        path = tmp_path / name
        onnx.save(model, path)
        return path
    return save


def test_bf16_round_ties_to_even_like_onnxruntime_cast():
    values = np.array([1.0, 1 + 2**-8, 1 + 3 * 2**-9, 1 + 2**-7, 1000.0013, 5e4 + 3, -2.5e-3,
                       np.inf], dtype=np.float32)
    expected = np.array([1.0, 1.0, 1 + 2**-7, 1 + 2**-7, 1000.0, 5e4, -2.5e-3, np.inf])
    np.testing.assert_allclose(bf16_round(values), expected, rtol=2**-8)
    np.testing.assert_array_equal(bf16_round(values)[:4], expected[:4])  # ties to even
    cast = helper.make_model(helper.make_graph(
        [helper.make_node("Cast", ["x"], ["b"], to=TensorProto.BFLOAT16),
         helper.make_node("Cast", ["b"], ["y"], to=TensorProto.FLOAT)], "round",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8])]),
        opset_imports=[helper.make_opsetid("", 18)])
    session = ort.InferenceSession(cast.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"x": values})[0], bf16_round(values))


def test_bf16_emulated_rounds_matrix_product_operands_only(save_model):
    model = mlp_model(STUDENT_SIZES)
    emulated = bf16_emulated(model)
    for tensor in emulated.graph.initializer:  # every weight and bias now a bf16 value
        values = onnx.numpy_helper.to_array(tensor)
        np.testing.assert_array_equal(values, bf16_round(values))
    ops = [node.op_type for node in emulated.graph.node]
    assert ops.count("Cast") == 2 * (2 + 2)  # each Gemm: its input and its output rounded
    assert ops[-2:] == ["Softmax", "ArgMax"]  # the tail stays float32
    rows = np.random.default_rng(0).standard_normal((64, 6)).astype(np.float32)
    [result] = compare_runtimes(save_model(model, "student.onnx"), rows,
                                runtimes=["onnxruntime-bf16"])
    assert result.status == "ran" and 0 < result.max_abs_diff < 0.05


def test_bf16_emulation_is_not_applicable_to_float16_graphs(save_model):
    path = save_model(mlp_model(STUDENT_SIZES, variant="fp16", fp16=True), "student.fp16.onnx")
    rows = np.zeros((4, 6), dtype=np.float32)
    [result] = compare_runtimes(path, rows, runtimes=["onnxruntime-bf16"])
    assert result.status == "not applicable" and "float32 graphs" in result.note
    assert not result.ok


@_needs("openvino")
def test_bf16_emulated_reproduces_openvino_on_a_bf16_cpu(full_run):
    import openvino

    precision = openvino.Core().get_property("CPU", "INFERENCE_PRECISION_HINT")
    if precision.get_type_name() != "bf16":
        pytest.skip(f"OpenVINO's default precision here is {precision}, not bf16")
    rows = load_run(full_run).input_rows("student")
    path = full_run / onnx_file("student")
    (ov_proba, ov_labels), _ = second.run_openvino(path, rows)
    (emu_proba, emu_labels), _ = second.run_bf16_emulated(path, rows)
    assert np.mean(ov_labels == emu_labels) >= 0.999
    assert np.max(np.abs(ov_proba - emu_proba)) < 1e-3  # measured 1.2e-7 (AVX512-BF16)


@_needs("tract")
def test_compare_runtimes_reports_a_graph_the_runtime_refuses(save_model):
    """A float16 Gemm (the fp16 variant before MatMul + Add) is a finding, not a crash."""
    path = save_model(mlp_model(STUDENT_SIZES, variant="fp16", fp16=True), "student.fp16.onnx")
    [result] = compare_runtimes(path, np.zeros((2, 6), np.float32), runtimes=["tract"])
    assert result.status == "failed" and "Gemm" in result.note and "backtrace" not in result.note
    assert not result.ok and "failed" in result.line()


def test_compare_runtimes_says_what_is_not_installed(monkeypatch, save_model):
    monkeypatch.setattr(second, "_installed", lambda package: False)
    path = save_model(mlp_model(STUDENT_SIZES), "student.onnx")
    results = compare_runtimes(path, np.zeros((2, 6), np.float32))
    assert [(r.runtime, r.status) for r in results] == [
        ("openvino", "not installed"), ("tract", "not installed"), ("onnxruntime-bf16", "ran")]
    assert "pip install openvino" in results[0].note and "kdedge[runtimes]" in results[0].note


def test_check_runtimes_covers_every_model_of_a_device_folder(device_dir):
    results = check_runtimes(device_dir, max_rows=16, runtimes=["onnxruntime-bf16"])
    assert [(r.model, r.rows) for r in results] == [("student.onnx", 16), ("teacher.onnx", 16)]
    assert all(r.ok for r in results)


SCRIPT = textwrap.dedent("""
    import json, sys
    from kdedge.runtime.second_runtime import check_runtimes
    results = check_runtimes(sys.argv[1], max_rows=32)
    heavy = sorted(m for m in sys.modules
                   if m.split(".")[0] in {"torch", "sklearn", "matplotlib", "pandas"})
    rows = [[r.model, r.runtime, r.status] for r in results]
    print(json.dumps({"heavy": heavy, "results": rows}))
""")


@pytest.mark.slow
def test_check_runtimes_runs_without_torch(full_run, tmp_path, blocker):
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(
        blocker("torch", "sklearn", "matplotlib", "pandas", "openvino"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "blocker"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(full_run)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    statuses = {(model, runtime): status for model, runtime, status in result["results"]}
    assert statuses[("student.onnx", "openvino")] == "not installed"  # blocked: said, not raised
    assert statuses[("student.onnx", "onnxruntime-bf16")] == "ran"


def test_compare_runtimes_skips_openvino_and_tract_on_tree_graphs(save_model):
    """They implement no ai.onnx.ml operator: 'not applicable' with the reason, never tried
    (and never 'not installed': installing them would not help)."""
    from sklearn_kit import fitted, graph

    X, _, _, config, arrays = fitted("gbdt", 3)
    path = save_model(graph(config, arrays), "hgb_all.onnx")
    results = compare_runtimes(path, X[:16])
    assert [(r.runtime, r.status) for r in results] == [
        ("openvino", "not applicable"), ("tract", "not applicable"), ("onnxruntime-bf16", "ran")]
    assert "does not run ai.onnx.ml operators (TreeEnsembleRegressor)" in results[1].note
    assert results[0].note.startswith("OpenVINO") and "not applicable" in results[0].line()
    assert results[2].ok and results[2].max_abs_diff == 0  # no matrix product to round


@_needs("tract")
def test_compare_runtimes_runs_the_linear_baseline_under_tract(save_model):
    from sklearn_kit import fitted, graph

    X, _, _, config, arrays = fitted("linear", 3)
    [result] = compare_runtimes(save_model(graph(config, arrays), "logreg_all.onnx"), X,
                                runtimes=["tract"])
    assert result.ok and result.agreement == 1.0 and result.max_abs_diff < 1e-6
