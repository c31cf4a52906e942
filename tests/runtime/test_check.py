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


def test_check_runtimes_flag_logs_every_model_and_runtime(device_dir, tmp_path, caplog,
                                                          monkeypatch):
    """`check --runtimes` adds a second-runtime comparison to the log; the dump is unchanged."""
    import kdedge.runtime.second_runtime as second

    monkeypatch.setattr(second, "_installed", lambda package: package != "openvino")
    with caplog.at_level("INFO", logger="kdedge.check"):
        with_runtimes = check(device_dir, out=tmp_path / "a.npz", max_rows=8, runtimes=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "kdedge.check"]
    for model in ("student.onnx", "teacher.onnx"):
        assert any(model in line and "openvino" in line and "not installed" in line
                   for line in lines)
        assert any(model in line and "onnxruntime-bf16" in line and "agreement" in line
                   for line in lines)
    plain = check(device_dir, out=tmp_path / "b.npz", max_rows=8)
    assert compare_outputs(with_runtimes, plain)["ok"] is True


def test_log_runtimes_warns_when_a_runtime_disagrees(device_dir, caplog, monkeypatch):
    import kdedge.runtime.check as check_module
    import kdedge.runtime.second_runtime as second

    def contrary(path, rows):  # a runtime that flips every label
        probabilities, labels = second.run_onnxruntime(path, rows)
        return (probabilities[:, ::-1], 1 - labels), "contrary 1.0"

    monkeypatch.setitem(second.RUNNERS, "contrary", (None, contrary))
    monkeypatch.setattr(check_module, "check_runtimes", lambda path, max_rows:
                        second.check_runtimes(path, max_rows=max_rows, runtimes=["contrary"]))
    with caplog.at_level("INFO", logger="kdedge.check"):
        assert check_module.log_runtimes(device_dir, max_rows=8) is False
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all("agreement 0.0000" in w for w in warnings)
