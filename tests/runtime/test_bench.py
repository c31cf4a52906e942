"""kdedge.runtime.bench.bench end to end on tiny models (quick repetition rule)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
from conftest import STUDENT_SIZES, TEACHER_SIZES, make_run, mlp_model
from onnx import external_data_helper

from kdedge.rundir import KdedgeError, sha256_file
from kdedge.runtime.bench import _WORKER, bench

SELECTED = ["feature_3", "feature_0", "feature_7", "feature_12", "feature_5", "feature_1"]


def test_bench_writes_json_with_every_field(run_dir):
    path = bench(run_dir, target="test-box", batch_sizes=(1, 8), quick=True, quiet=True)
    assert path == run_dir / "bench" / "test-box.json"
    report = json.loads(path.read_text())
    assert report["target"] == "test-box" and report["errors"] == 0 and report["mismatched"] == 0
    assert report["settings"]["batch_sizes"] == [1, 8] and report["settings"]["threads"] == 1
    assert report["settings"]["opt_level"] == "all" and "text" in report["settings"]["repetition_rule"]
    assert {"arch", "cpu_model", "cores", "os", "python", "onnxruntime", "emulated"} <= set(report["machine"])
    assert report["source"]["run_id"] == "test-run"
    assert set(report["models"]) == {"teacher.onnx", "student.onnx"}
    assert set(report["floors"]) == {"floor-k13-c2", "floor-k6-c2"}
    for name, model in report["models"].items():
        assert model["macs_match_metrics"] is True
        assert model["cold_start"]["session_creation_ms"] > 0 and model["cold_start"]["first_inference_ms"] > 0
        assert model["memory"]["peak_mb"] > model["memory"]["baseline_mb"] > 0
        assert model["matches_run_json"] is None  # run.json records no onnx/ files here
        assert model["input_rows"] == "X_test (split.npz)"
        floor = report["floors"][model["floor"]]
        for batch in ("1", "8"):
            stats = model["latency"][batch]
            assert stats["min_us"] <= stats["p50_us"] <= stats["p90_us"] <= stats["p95_us"] <= stats["p99_us"]
            assert stats["reps"] >= 20 and stats["std_us"] >= 0
            assert stats["ratio_to_floor"] == pytest.approx(
                stats["p50_us"] / floor["latency"][batch]["p50_us"], rel=1e-2)
            assert stats["throughput_rows_per_s"] == pytest.approx(int(batch) / stats["mean_us"] * 1e6, rel=1e-3)
    assert report["models"]["teacher.onnx"]["cost"]["macs"] == 36_352
    assert report["models"]["student.onnx"]["floor"] == "floor-k6-c2"
    manifest = json.loads((run_dir / "run.json").read_text())
    assert "bench/test-box.json" in manifest["artifacts"] and "bench" in manifest["stages"]


def test_bench_records_a_macs_mismatch_with_metrics(run_dir):
    (run_dir / "metrics.json").write_text(json.dumps({"teacher": {"macs": 1}, "student": {"macs": 256}}))
    report = json.loads(bench(run_dir, target="t", batch_sizes=1, quick=True, quiet=True).read_text())
    assert report["models"]["teacher.onnx"]["macs_match_metrics"] is False
    assert report["models"]["student.onnx"]["macs_match_metrics"] is True


def _save_external_outside(folder):
    """A model whose weights live in ../outside.bin, outside the models' folder."""
    model = mlp_model(STUDENT_SIZES, feature_names=SELECTED)
    external_data_helper.convert_model_to_external_data(model, all_tensors_to_one_file=True,
                                                        location="weights.bin", size_threshold=0)
    onnx.save(model, folder / "outside.onnx")
    (folder.parent / "outside.bin").write_bytes((folder / "weights.bin").read_bytes())
    model = onnx.load(folder / "outside.onnx", load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../outside.bin"
    onnx.save(model, folder / "outside.onnx")
    (folder / "weights.bin").unlink()


def test_bench_reports_bad_files_per_file_and_measures_the_rest(tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    onnx.save(mlp_model(STUDENT_SIZES, feature_names=SELECTED), folder / "student.onnx")
    (folder / "corrupt.onnx").write_bytes(b"\x08\x07this is not protobuf" * 20)
    teacher = mlp_model(TEACHER_SIZES).SerializeToString()
    (folder / "truncated.onnx").write_bytes(teacher[: len(teacher) // 2])
    onnx.save(mlp_model((5, 32, 2), feature_names=SELECTED), folder / "wrong_input.onnx")  # 5 columns, 6 names
    _save_external_outside(folder)

    path = bench(folder, target="t", batch_sizes=(1,), quick=True)
    report = json.loads(path.read_text())
    assert path == folder / "bench" / "t.json"
    assert report["errors"] == 4
    models = report["models"]
    assert "corrupt or truncated" in models["corrupt.onnx"]["error"]
    assert "truncated.onnx" in models["truncated.onnx"]["error"]
    assert "takes 5 features but metadata kdedge.feature_names lists 6" in models["wrong_input.onnx"]["error"]
    assert "outside the model's folder" in models["outside.onnx"]["error"]
    assert models["student.onnx"]["latency"]["1"]["p50_us"] > 0
    assert models["student.onnx"]["input_rows"] == "random normal"
    printed = capsys.readouterr().err
    assert printed.count("ERROR") == 4 and "corrupt.onnx" in printed


def test_bench_reports_a_model_onnxruntime_cannot_load(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    onnx.save(mlp_model(STUDENT_SIZES), folder / "student.onnx")
    model = mlp_model(STUDENT_SIZES)
    # The checker skips unknown domains, so only onnxruntime (in the worker subprocess) refuses it.
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.op_type, relu.domain = "Mystery", "com.example"
    model.opset_import.append(onnx.helper.make_opsetid("com.example", 1))
    (folder / "custom_op.onnx").write_bytes(model.SerializeToString())
    report = json.loads(bench(folder, target="t", batch_sizes=1, quick=True, quiet=True).read_text())
    assert "onnxruntime cannot run it" in report["models"]["custom_op.onnx"]["error"]
    assert "latency" in report["models"]["student.onnx"]


def test_bench_without_onnx_models_raises_kdedge_error(tmp_path):
    with pytest.raises(KdedgeError, match=r"no ONNX models.*kdedge export"):
        bench(tmp_path, quick=True, quiet=True)


def test_bench_never_overwrites_without_force(run_dir):
    path = bench(run_dir, target="t", batch_sizes=1, quick=True, quiet=True)
    before = path.read_bytes()
    with pytest.raises(KdedgeError, match="--force"):
        bench(run_dir, target="t", batch_sizes=1, quick=True, quiet=True)
    assert path.read_bytes() == before
    bench(run_dir, target="t", batch_sizes=1, quick=True, quiet=True, force=True, opt_level="disable")
    assert json.loads(path.read_text())["settings"]["opt_level"] == "disable"


def test_bench_writes_to_out_folder(run_dir, tmp_path):
    path = bench(run_dir, target="t", batch_sizes=1, quick=True, quiet=True, out=tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "t.json" and path.is_file()
    assert "bench/t.json" not in (run_dir / "run.json").read_text()  # outside the run: not in run.json


@pytest.mark.parametrize("kwargs,match", [
    ({"opt_level": "fast"}, "opt_level must be one of"),
    ({"batch_sizes": (1, 0)}, "batch_sizes must be positive"),
    ({"threads": 0}, "threads must be a positive integer"),
    ({"min_time": -1.0}, "must be > 0"),
    ({"target": "../x"}, "not a usable file name"),
])
def test_bench_rejects_bad_arguments(run_dir, kwargs, match):
    with pytest.raises(KdedgeError, match=match):
        bench(run_dir, quiet=True, **kwargs)


def _record_export(run_dir):
    """What `kdedge export` leaves in run.json: the sha256 of every onnx/ file."""
    manifest = json.loads((run_dir / "run.json").read_text())
    for path in sorted((run_dir / "onnx").glob("*.onnx")):
        manifest["artifacts"][f"onnx/{path.name}"] = sha256_file(path)
    (run_dir / "run.json").write_text(json.dumps(manifest))


def test_bench_flags_a_model_swapped_after_export_and_still_measures_it(run_dir, capsys):
    _record_export(run_dir)
    shutil.copyfile(run_dir / "onnx" / "teacher.onnx", run_dir / "onnx" / "student.onnx")
    report = json.loads(bench(run_dir, target="t", batch_sizes=1, quick=True, quiet=True).read_text())
    student, teacher = report["models"]["student.onnx"], report["models"]["teacher.onnx"]
    assert student["matches_run_json"] is False and teacher["matches_run_json"] is True
    assert report["mismatched"] == 1 and report["errors"] == 0
    assert student["latency"]["1"]["p50_us"] > 0  # measured all the same, for a deliberately edited file
    assert "onnx/student.onnx differs from what `kdedge export` recorded in run.json" in student["warning"]
    printed = capsys.readouterr().err  # printed although quiet=True: a swap must not pass unseen
    assert printed.count("WARNING") == 2 and "onnx/student.onnx differs" in printed
    assert "re-export, or the numbers do not describe the exported model" in printed


def test_bench_matches_run_json_for_unchanged_models(run_dir, capsys):
    _record_export(run_dir)
    report = json.loads(bench(run_dir, target="t", batch_sizes=1, quick=True, quiet=True).read_text())
    assert [m["matches_run_json"] for m in report["models"].values()] == [True, True]
    assert report["mismatched"] == 0 and "WARNING" not in capsys.readouterr().err


# A parent process holding 300 MB (as `kdedge run` holds torch) runs the bench. On Linux the
# worker's ru_maxrss inherits that high-water mark through fork/exec; VmHWM does not.
_PARENT_300MB = """
import json, sys
from pathlib import Path
import numpy as np
from kdedge.runtime import bench as bench_module
ballast = np.ones(300 * 2**20 // 8)  # 300 MB, every page written
if len(sys.argv) > 2:
    bench_module._WORKER = Path(sys.argv[2])
path = bench_module.bench(sys.argv[1], target="t", batch_sizes=1, quick=True, quiet=True)
rss_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
print(json.dumps({"parent_rss_mb": rss_kib / 1024, "report": str(path)}))
"""
# The worker run as on a platform whose /proc/self/status is missing (macOS, BSD).
_WORKER_WITHOUT_PROC = """
import builtins, runpy
_open = builtins.open
def _open_without_proc_status(file, *args, **kwargs):
    if str(file) == "/proc/self/status":
        raise FileNotFoundError(2, "No such file or directory", file)
    return _open(file, *args, **kwargs)
builtins.open = _open_without_proc_status
runpy.run_path({worker!r}, run_name="__main__")
"""
needs_vmhwm = pytest.mark.skipif(not Path("/proc/self/status").is_file()
                                 or "VmHWM:" not in Path("/proc/self/status").read_text(),
                                 reason="needs /proc/self/status with VmHWM (Linux)")


def _bench_from_300mb_parent(run_dir, worker=None):
    """(parent's RSS in MB, bench JSON) of a bench run by a process holding 300 MB."""
    proc = subprocess.run([sys.executable, "-c", _PARENT_300MB, str(run_dir)] + ([str(worker)] if worker else []),
                          capture_output=True, text=True, timeout=300, check=True)
    parent = json.loads(proc.stdout.strip().splitlines()[-1])
    assert parent["parent_rss_mb"] > 300
    return parent["parent_rss_mb"], json.loads(Path(parent["report"]).read_text())


@needs_vmhwm
def test_bench_peak_memory_is_the_models_not_the_parents(tmp_path):
    parent_mb, report = _bench_from_300mb_parent(make_run(tmp_path / "run", teacher=False))
    memory = report["models"]["student.onnx"]["memory"]
    assert 0 < memory["baseline_mb"] < memory["peak_mb"] < parent_mb / 2  # ~63 MB against ~370 MB
    assert "ru_maxrss_mb" not in memory and "error" not in memory
    assert all(value < parent_mb / 2 for value in memory.values())


@needs_vmhwm
def test_bench_without_vmhwm_reports_no_peak_rather_than_the_parents(tmp_path):
    worker = tmp_path / "worker_without_proc.py"
    worker.write_text(_WORKER_WITHOUT_PROC.format(worker=str(_WORKER)))
    _, report = _bench_from_300mb_parent(make_run(tmp_path / "run", teacher=False), worker)
    memory = report["models"]["student.onnx"]["memory"]
    assert memory["peak_mb"] is None and memory["increase_mb"] is None and memory["baseline_mb"] is None
    assert "no VmHWM on this platform" in memory["error"]
    assert report["models"]["student.onnx"]["latency"]["1"]["p50_us"] > 0  # everything else measured
