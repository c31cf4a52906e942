"""kdedge.runtime.check: output dumps and their comparison across machines."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from kdedge.rundir import KdedgeError
from kdedge.runtime.check import check, compare_outputs, predict_folder


def test_predict_folder_runs_every_model_on_the_test_rows(device_dir):
    outputs = predict_folder(device_dir)
    assert sorted(outputs) == ["student.onnx", "teacher.onnx"]
    student = outputs["student.onnx"]
    assert student["input"].shape == (64, 6) and student["probabilities"].shape == (64, 2)
    np.testing.assert_allclose(student["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(student["label"], student["probabilities"].argmax(axis=1))
    with np.load(device_dir / "split.npz") as split:  # the student's columns, in metadata order
        np.testing.assert_array_equal(student["input"], split["X_test"][:, [3, 0, 7, 12, 5, 1]])
    session = ort.InferenceSession(str(device_dir / "onnx" / "teacher.onnx"))
    expected = session.run(["probabilities"], {"features": outputs["teacher.onnx"]["input"]})[0]
    np.testing.assert_allclose(outputs["teacher.onnx"]["probabilities"], expected, atol=1e-6)


def test_compare_outputs_accepts_identical_dumps(device_dir, tmp_path):
    a = check(device_dir, out=tmp_path / "a.npz")
    b = check(device_dir, out=tmp_path / "b.npz")
    result = compare_outputs(a, b)
    assert result["ok"] is True and set(result["models"]) == {"student.onnx", "teacher.onnx"}


@pytest.mark.parametrize("key,change,field", [
    ("teacher.onnx::probabilities", lambda p: p + 1e-3, "max_abs_diff"),
    ("student.onnx::label", lambda y: 1 - y, "label_mismatches"),
])
def test_compare_outputs_flags_differences(device_dir, tmp_path, key, change, field):
    a = check(device_dir, out=tmp_path / "a.npz")
    with np.load(a) as dump:
        arrays = dict(dump)
    arrays[key] = change(arrays[key])
    np.savez(tmp_path / "b.npz", **arrays)
    result = compare_outputs(a, tmp_path / "b.npz", atol=1e-5)
    model = key.split("::")[0]
    assert result["ok"] is False and result["models"][model]["ok"] is False
    assert result["models"][model][field] > 0
    other = "student.onnx" if model == "teacher.onnx" else "teacher.onnx"
    assert result["models"][other]["ok"] is True


def test_compare_outputs_refuses_an_empty_dump(tmp_path):
    np.savez(tmp_path / "empty.npz")
    with pytest.raises(KdedgeError, match="no outputs"):
        compare_outputs(tmp_path / "empty.npz", tmp_path / "empty.npz")


def _dump(path, outputs):
    from kdedge.runtime.check import _SEP

    np.savez(path, **{f"{model}{_SEP}{key}": value for model, out in outputs.items()
                      for key, value in out.items()})
    return path


def test_compare_outputs_fp16_gets_the_platform_tolerance_fp32_does_not(tmp_path):
    probabilities = np.full((100, 2), 0.5, dtype=np.float32)
    labels = np.zeros(100, dtype=np.int64)
    moved = probabilities + np.float32(2e-4)  # what aarch64's native fp16 did to probabilities
    reference = _dump(tmp_path / "a.npz", {m: {"probabilities": probabilities, "label": labels}
                                           for m in ("student.onnx", "student.fp16.onnx")})
    candidate = _dump(tmp_path / "b.npz", {m: {"probabilities": moved, "label": labels}
                                           for m in ("student.onnx", "student.fp16.onnx")})
    result = compare_outputs(reference, candidate, atol=1e-5)
    assert result["models"]["student.fp16.onnx"]["ok"] is True
    assert result["models"]["student.onnx"]["ok"] is False
    assert result["ok"] is False
