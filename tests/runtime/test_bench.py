"""kdedge.runtime.bench.bench: on the real exported session run, and on broken model folders."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import onnx
import pytest
from onnx import external_data_helper

from kdedge.cli import main
from kdedge.contract import (EXPORTED_BASELINES, METRICS_JSON, BenchReport, LoadReading, Metrics, bench_file, onnx_file,
                             read_record, write_record)
from kdedge.rundir import KdedgeError, read_manifest, sha256_file
from kdedge.runtime import bench as bench_module
from kdedge.runtime.bench import _WORKER, DEFAULT_RULE, QUICK_RULE, bench, repetition_rule
from kdedge.runtime.c_bench import NATIVE, generated_from, toolchain_missing
from kdedge.runtime.machine import is_overloaded

import runtime_kit as _kit  # noqa: E402  (the shared builders: tests/runtime/runtime_kit.py)

SELECTED, STUDENT_SIZES, TEACHER_SIZES = _kit.SELECTED, _kit.STUDENT_SIZES, _kit.TEACHER_SIZES
make_device_dir, mlp_model = _kit.make_device_dir, _kit.mlp_model
FULL_RUN_TARGET = "x86-test"  # what tests/conftest.py's full_run was benched as
VARIANTS = ("student.onnx", "student.int8.onnx", "student.int8-static.onnx", "student.fp16.onnx",
            "teacher.onnx") + tuple(f"{name}.onnx" for name in EXPORTED_BASELINES)


def _copy(full_run: Path, tmp_path: Path, *, fp32_only: bool = False, c: bool = False) -> Path:
    """A private copy of the real run (optionally without the quantized graphs, for speed), and
    without its C student unless `c` (the tests of c_student keep it)."""
    run = shutil.copytree(full_run, tmp_path / "run")
    if fp32_only:  # removed as a forced fp32-only re-export would: run.json forgets them too
        manifest = read_manifest(run)
        for path in (run / "onnx").glob("*.*.onnx"):
            path.unlink()
            manifest.artifacts.pop(f"onnx/{path.name}")
        write_record(run / "run.json", manifest)
    if not c:
        shutil.rmtree(run / "c", ignore_errors=True)
    return run


IDLE = LoadReading(load_average=[0.5, 0.4, 0.3], steal_percent=0.0, cores=2)
BUSY = LoadReading(load_average=[3.5, 2.0, 1.0], steal_percent=12.5, cores=2)


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch):
    """The benches below read an idle machine: on this shared 2-core box the real load can exceed
    the cores and add an "overloaded" warning to the ones the tests count. The real reading is
    checked on the session run's bench (and in test_machine.py)."""
    monkeypatch.setattr(bench_module, "read_load", lambda: IDLE)


needs_gcc = pytest.mark.skipif(toolchain_missing(NATIVE) is not None,
                               reason=f"{toolchain_missing(NATIVE)}")


def test_bench_json_of_a_real_run_reads_through_the_contract(full_run):
    """The fields the report reads, from the bench JSON the real stages wrote."""
    path = full_run / bench_file(FULL_RUN_TARGET)
    report = read_record(BenchReport, path)
    metrics = read_record(Metrics, full_run / METRICS_JSON)
    assert sorted(report.models) == sorted(VARIANTS)
    assert report.errors == 0 and report.mismatched == 0 and report.bench_format == 3
    for reading in (report.load_start, report.load_end):  # the session bench read the real load
        assert reading.cores >= 1 and len(reading.load_average) == 3
    assert report.overloaded == (is_overloaded(report.load_start) or is_overloaded(report.load_end))
    for name, model in report.models.items():
        assert model.latency["1"].p50_us > 0 and model.latency["32"].p50_us > 0
        assert model.memory.peak_mb > model.memory.baseline_mb > 0
        assert model.cold_start.session_creation_ms > 0
        assert model.matches_run_json is True  # export's sha256 in run.json, file unchanged
        assert model.cost_error is None
        if model.model in EXPORTED_BASELINES:  # metrics.json records no MACs for a baseline
            assert model.metrics_macs is None and model.macs_match_metrics is None
            continue
        assert model.cost.macs == metrics.model(model.model).macs  # every variant: the fp32 count
        if model.variant == "fp32":
            assert model.metrics_macs == metrics.model(model.model).macs and model.macs_match_metrics
    assert report.models["teacher.onnx"].cost.macs > report.models["student.onnx"].cost.macs
    assert report.settings.repetition_rule == QUICK_RULE and report.settings.quick is True
    assert "repetition_rule" in report.settings.definitions
    assert read_manifest(full_run).artifacts[bench_file(FULL_RUN_TARGET)] == sha256_file(path)


@needs_gcc
def test_bench_times_the_c_student_of_a_run_exported_with_c(full_run):
    """The session run was exported with --c and benched with --quick: the C student is timed in
    C (5 short blocks) beside the onnxruntime floor, in the bench JSON."""
    report = read_record(BenchReport, full_run / bench_file(FULL_RUN_TARGET))
    c = report.c_student
    assert report.c_student_error is None and c is not None
    assert (c.source, c.onnx, c.blocks) == ("c/kdedge.c", "onnx/student.onnx", 5)
    assert 0 < c.ns_per_call_min <= c.ns_per_call_p50 <= c.ns_per_call_max
    assert c.ratio_to_floor == pytest.approx(c.ns_per_call_p50 / c.floor_p50_ns, rel=1e-3)
    assert c.ratio_to_floor < 1  # a few hundred MACs in C beat onnxruntime's call overhead
    assert c.macs == report.models["student.onnx"].cost.macs
    assert c.floor == report.models["student.onnx"].floor


def test_bench_without_c_student_records_none(full_run, tmp_path):
    run = _copy(full_run, tmp_path, fp32_only=True)
    report = read_record(BenchReport, bench(run, target="t", batch_sizes=[1], quick=True))
    assert report.c_student is None and report.c_student_error is None


def test_bench_without_gcc_says_why_the_c_student_was_not_timed(full_run, tmp_path, monkeypatch,
                                                               bench_warnings):
    run = _copy(full_run, tmp_path, fp32_only=True, c=True)
    if not (run / "c").is_dir():
        pytest.skip("the session run has no C student (no gcc)")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # a device without a compiler
    report = read_record(BenchReport, bench(run, target="t", batch_sizes=[1], quick=True))
    assert report.c_student is None
    assert "gcc, size not found on PATH" in report.c_student_error
    assert report.errors == 0 and report.models["student.onnx"].latency["1"].p50_us > 0
    assert bench_warnings == []  # expected on a device: not a warning


@needs_gcc
def test_bench_flags_a_stale_c_student_and_measures_the_rest(full_run, tmp_path, bench_warnings):
    run = _copy(full_run, tmp_path, fp32_only=True, c=True)
    header = run / "c" / "kdedge.h"  # as if generated from another graph
    header.write_text(header.read_text().replace(generated_from(header), "0" * 64))
    report = read_record(BenchReport, bench(run, target="t", batch_sizes=[1], quick=True))
    assert report.c_student is None and "the C student is stale" in report.c_student_error
    assert report.models["student.onnx"].latency["1"].p50_us > 0
    assert len(bench_warnings) == 1 and "C student not timed" in bench_warnings[0]


def test_bench_writes_every_field(full_run, tmp_path, bench_warnings):
    run = _copy(full_run, tmp_path, fp32_only=True)
    path = bench(run, target="test-box", batch_sizes=(1, 8), quick=True)
    assert path == run / bench_file("test-box")
    report = read_record(BenchReport, path)
    assert (report.target, report.errors, report.mismatched) == ("test-box", 0, 0)
    assert report.settings.batch_sizes == [1, 8] and report.settings.threads == 1
    assert report.settings.opt_level == "all" and report.source.run_dir is True
    assert report.source.run_id == read_manifest(run).run_id
    assert set(report.floors) == {"floor-k13-c2", f"floor-k{len(report.models['student.onnx'].feature_names)}-c2"}
    for model in report.models.values():
        assert model.input_rows == "X_test (split.npz)"
        floor = report.floors[model.floor]
        for batch in ("1", "8"):
            stats = model.latency[batch]
            assert stats.min_us <= stats.p50_us <= stats.p90_us <= stats.p95_us <= stats.p99_us <= stats.max_us
            assert stats.reps >= QUICK_RULE.min_reps and stats.std_us > 0  # real timings vary
            assert stats.seconds == pytest.approx(stats.reps * stats.mean_us / 1e6, rel=0.01)
            assert stats.ratio_to_floor == pytest.approx(stats.p50_us / floor.latency[batch].p50_us, rel=1e-2)
            assert stats.throughput_rows_per_s == pytest.approx(int(batch) / stats.p50_us * 1e6, rel=1e-3)
            assert floor.latency[batch].ratio_to_floor is None
    manifest = read_manifest(run)
    assert manifest.artifacts[bench_file("test-box")] == sha256_file(path)
    assert manifest.stages["bench"]["target"] == "test-box"
    assert manifest.stages["bench"]["seconds"] == report.seconds
    assert bench_warnings == []


def test_bench_records_a_macs_mismatch_with_metrics(full_run, tmp_path):
    run = _copy(full_run, tmp_path, fp32_only=True)
    metrics = read_record(Metrics, run / METRICS_JSON)
    write_record(run / METRICS_JSON, dataclasses.replace(
        metrics, teacher=dataclasses.replace(metrics.teacher, macs=1)))
    report = read_record(BenchReport, bench(run, target="t", batch_sizes=[1], quick=True))
    teacher, student = report.models["teacher.onnx"], report.models["student.onnx"]
    assert (teacher.metrics_macs, teacher.macs_match_metrics) == (1, False)
    assert teacher.cost.macs == metrics.teacher.macs  # the graph count itself is unchanged
    assert student.macs_match_metrics is True


def test_bench_refuses_a_metrics_json_of_another_format(full_run, tmp_path):
    run = _copy(full_run, tmp_path, fp32_only=True)
    data = json.loads((run / METRICS_JSON).read_text())
    del data["teacher"]["macs"]
    (run / METRICS_JSON).write_text(json.dumps(data))
    with pytest.raises(KdedgeError, match=r"metrics.json: field teacher.macs is missing"):
        bench(run, target="t", batch_sizes=[1], quick=True)
    assert not (run / bench_file("t")).exists()


def test_bench_flags_a_model_swapped_after_export_and_still_measures_it(full_run, tmp_path, capsys,
                                                                         bench_warnings):
    run = _copy(full_run, tmp_path, fp32_only=True)
    shutil.copyfile(run / onnx_file("teacher"), run / onnx_file("student"))
    main(["bench", str(run), "--target", "t", "--batch_sizes", "1", "--quick", "--quiet"])
    report = read_record(BenchReport, run / bench_file("t"))
    student, teacher = report.models["student.onnx"], report.models["teacher.onnx"]
    assert student.matches_run_json is False and teacher.matches_run_json is True
    assert report.mismatched == 1 and report.errors == 0
    assert student.latency["1"].p50_us > 0  # measured all the same, for a deliberately edited file
    assert "onnx/student.onnx differs from what `kdedge export` recorded in run.json" in student.warning
    assert teacher.warning is None
    assert len(bench_warnings) == 2 and bench_warnings[0] == student.warning
    assert "1 model(s) differ" in bench_warnings[1]
    printed = capsys.readouterr().err  # shown although --quiet: a swap must not pass unseen
    assert printed.count("[bench] WARNING") == 2 and "onnx/student.onnx differs" in printed
    assert "timing" not in printed  # --quiet hides progress


def test_bench_records_an_uncountable_graph_and_still_times_it(device_dir, monkeypatch):
    def refuse(path):
        raise ValueError(f"cannot count {Path(path).name}")

    monkeypatch.setattr(bench_module, "count_graph_cost", refuse)
    report = read_record(BenchReport, bench(device_dir, target="t", batch_sizes=[1], quick=True))
    student = report.models["student.onnx"]
    assert student.cost is None and student.cost_error == "ValueError: cannot count student.onnx"
    assert student.error is None and student.latency["1"].p50_us > 0
    assert student.macs_match_metrics is None


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


def test_bench_reports_bad_files_per_file_and_measures_the_rest(tmp_path, bench_warnings):
    folder = tmp_path / "models"
    folder.mkdir()
    onnx.save(mlp_model(STUDENT_SIZES, feature_names=SELECTED), folder / "student.onnx")
    (folder / "corrupt.onnx").write_bytes(b"\x08\x07this is not protobuf" * 20)
    teacher = mlp_model(TEACHER_SIZES).SerializeToString()
    (folder / "truncated.onnx").write_bytes(teacher[: len(teacher) // 2])
    onnx.save(mlp_model((5, 32, 2), feature_names=SELECTED), folder / "wrong_input.onnx")  # 5 columns, 6 names
    _save_external_outside(folder)

    path = bench(folder, target="t", batch_sizes=[1], quick=True)
    report = read_record(BenchReport, path)
    assert path == folder / bench_file("t") and report.source.run_dir is False
    assert report.errors == 4
    models = report.models
    assert "corrupt or truncated" in models["corrupt.onnx"].error
    assert "truncated.onnx" in models["truncated.onnx"].error
    assert "wrong_input.onnx" in models["wrong_input.onnx"].error and "6" in models["wrong_input.onnx"].error
    assert "outside the model's folder" in models["outside.onnx"].error
    for name in ("corrupt.onnx", "truncated.onnx", "wrong_input.onnx", "outside.onnx"):
        assert models[name].latency == {} and models[name].bytes == (folder / name).stat().st_size
    assert models["student.onnx"].latency["1"].p50_us > 0
    assert models["student.onnx"].input_rows == "random normal"
    assert len(bench_warnings) == 4 and all(m.startswith("not measured: ") for m in bench_warnings)


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
    report = read_record(BenchReport, bench(folder, target="t", batch_sizes=[1], quick=True))
    assert "onnxruntime cannot run it" in report.models["custom_op.onnx"].error
    assert report.models["custom_op.onnx"].cold_start is None
    assert report.models["student.onnx"].latency["1"].p50_us > 0


def test_bench_without_onnx_models_raises_kdedge_error(tmp_path):
    with pytest.raises(KdedgeError, match=r"no ONNX models.*kdedge export"):
        bench(tmp_path, quick=True)


def test_bench_never_overwrites_without_force(device_dir):
    path = bench(device_dir, target="t", batch_sizes=[1], quick=True)
    before = path.read_bytes()
    with pytest.raises(KdedgeError, match="--force"):
        bench(device_dir, target="t", batch_sizes=[1], quick=True)
    assert path.read_bytes() == before
    bench(device_dir, target="t", batch_sizes=[1], quick=True, force=True, opt_level="disable")
    assert read_record(BenchReport, path).settings.opt_level == "disable"


def test_bench_writes_to_out_folder_outside_run_json(full_run, tmp_path):
    run = _copy(full_run, tmp_path, fp32_only=True)
    before = read_manifest(run).artifacts  # _copy dropped the quantized graphs' entries
    path = bench(run, target="t", batch_sizes=[1], quick=True, out=tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "t.json" and path.is_file()
    assert not (run / bench_file("t")).exists()
    assert read_manifest(run).artifacts == before


@pytest.mark.parametrize("kwargs,match", [
    ({"opt_level": "fast"}, "--opt_level must be one of disable, basic, extended, all"),
    ({"batch_sizes": [1, 0]}, "--batch_sizes must be whole numbers >= 1"),
    ({"batch_sizes": 8}, "--batch_sizes must be whole numbers >= 1"),
    ({"threads": 0}, "--threads must be a whole number >= 1"),
    ({"min_time": -1.0}, "--min_time must be a number > 0"),
    ({"min_reps": 2.5}, "--min_reps must be a whole number >= 1"),
    ({"worker_timeout": 0}, "--worker_timeout must be a number > 0"),
    ({"target": "../x"}, "--target must be a usable file name"),
])
def test_bench_rejects_bad_arguments_before_any_work(device_dir, kwargs, match):
    with pytest.raises(KdedgeError, match=match):
        bench(device_dir, **kwargs)
    assert not (device_dir / "bench").exists()


def test_repetition_rule_overrides_and_raises_the_cap():
    assert repetition_rule(quick=False, min_reps=None, min_time=None, max_time=None) == DEFAULT_RULE
    rule = repetition_rule(quick=True, min_reps=50, min_time=3, max_time=None)
    assert (rule.min_reps, rule.min_time_s, rule.max_time_s) == (50, 3.0, 3.0)  # cap raised to min_time
    assert rule.warmup_time_s == QUICK_RULE.warmup_time_s
    assert repetition_rule(quick=False, min_reps=None, min_time=None, max_time=5).max_time_s == 5.0


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
path = bench_module.bench(sys.argv[1], target="t", batch_sizes=[1], quick=True)
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


def _bench_from_300mb_parent(folder, worker=None):
    """(parent's RSS in MB, bench JSON) of a bench run by a process holding 300 MB."""
    proc = subprocess.run([sys.executable, "-c", _PARENT_300MB, str(folder)] + ([str(worker)] if worker else []),
                          capture_output=True, text=True, timeout=300, check=True)
    parent = json.loads(proc.stdout.strip().splitlines()[-1])
    assert parent["parent_rss_mb"] > 300
    return parent["parent_rss_mb"], read_record(BenchReport, parent["report"])


@needs_vmhwm
def test_bench_peak_memory_is_the_models_not_the_parents(tmp_path):
    parent_mb, report = _bench_from_300mb_parent(make_device_dir(tmp_path / "device", teacher=False))
    memory = report.models["student.onnx"].memory
    assert 0 < memory.baseline_mb < memory.peak_mb < parent_mb / 2  # ~63 MB against ~370 MB
    assert memory.increase_mb == pytest.approx(memory.peak_mb - memory.baseline_mb, abs=0.01)
    assert memory.error is None and memory.vmrss_mb < parent_mb / 2


@needs_vmhwm
def test_bench_without_vmhwm_reports_no_peak_rather_than_the_parents(tmp_path):
    worker = tmp_path / "worker_without_proc.py"
    worker.write_text(_WORKER_WITHOUT_PROC.format(worker=str(_WORKER)))
    _, report = _bench_from_300mb_parent(make_device_dir(tmp_path / "device", teacher=False), worker)
    memory = report.models["student.onnx"].memory
    assert memory.peak_mb is None and memory.increase_mb is None and memory.baseline_mb is None
    assert "no VmHWM on this platform" in memory.error
    assert report.models["student.onnx"].latency["1"].p50_us > 0  # everything else measured


def test_bench_records_the_load_and_flags_an_overloaded_machine(device_dir, monkeypatch, bench_warnings):
    readings = iter([IDLE, BUSY])  # idle at the start, 3.5 over 2 usable cores at the end
    monkeypatch.setattr(bench_module, "read_load", lambda: next(readings))
    report = read_record(BenchReport, bench(device_dir, target="t", batch_sizes=[1], quick=True))
    assert (report.load_start, report.load_end, report.overloaded) == (IDLE, BUSY, True)
    assert len(bench_warnings) == 1
    assert "overloaded at the end of the bench: load average 3.50 over 2 usable core(s)" in bench_warnings[0]


def test_bench_on_an_idle_machine_is_not_overloaded(device_dir, bench_warnings):
    report = read_record(BenchReport, bench(device_dir, target="t", batch_sizes=[1], quick=True))
    assert (report.load_start, report.load_end, report.overloaded) == (IDLE, IDLE, False)
    assert bench_warnings == []


def test_bench_one_model_file_writes_beside_it_and_never_overwrites(device_dir, tmp_path):
    folder = tmp_path / "lone"  # a model copied to a device on its own: no split.npz, no teacher
    folder.mkdir()
    model = Path(shutil.copy(device_dir / "onnx" / "student.onnx", folder))
    path = bench(model, target="t", batch_sizes=[1], quick=True)
    assert path == folder / "student.bench" / "t.json"
    report = read_record(BenchReport, path)
    assert sorted(report.models) == ["student.onnx"] and report.errors == 0
    assert report.source.path == str(model.resolve()) and report.source.run_dir is False
    assert report.models["student.onnx"].latency["1"].p50_us > 0
    assert report.models["student.onnx"].input_rows == "random normal"
    assert not (folder / "bench").exists()
    before = path.read_bytes()
    with pytest.raises(KdedgeError, match=r"student\.bench/t\.json already exists; pass --force"):
        bench(model, target="t", batch_sizes=[1], quick=True)
    assert path.read_bytes() == before
    bench(model, target="t", batch_sizes=[1], quick=True, force=True, opt_level="basic")
    assert read_record(BenchReport, path).settings.opt_level == "basic"
    out = bench(model, target="t", batch_sizes=[1], quick=True, out=tmp_path / "elsewhere.json")
    assert out == tmp_path / "elsewhere.json" and out.is_file()


def test_bench_one_model_of_a_folder_measures_only_it(device_dir):
    path = bench(device_dir / "onnx" / "student.onnx", target="t", batch_sizes=[1], quick=True)
    assert path == device_dir / "onnx" / "student.bench" / "t.json"
    report = read_record(BenchReport, path)
    assert sorted(report.models) == ["student.onnx"]  # teacher.onnx beside it is not benched
    assert report.models["student.onnx"].input_rows == "X_test (split.npz)"  # DEVICE/split.npz


def test_bench_one_model_of_a_run_uses_its_rows_and_leaves_the_run_alone(full_run, tmp_path):
    run = _copy(full_run, tmp_path, fp32_only=True, c=True)
    manifest = read_manifest(run)
    path = bench(run / onnx_file("student"), target="t", batch_sizes=[1], quick=True)
    assert path == run / "onnx" / "student.bench" / "t.json"
    report = read_record(BenchReport, path)
    assert sorted(report.models) == ["student.onnx"]
    assert report.models["student.onnx"].input_rows == "X_test (split.npz)"  # RUN/split.npz
    assert report.c_student is None and report.c_student_error is None  # one file: no C student
    assert read_manifest(run) == manifest and not (run / "bench" / "t.json").exists()


def test_bench_refuses_a_missing_model_file(tmp_path):
    with pytest.raises(KdedgeError, match=r"missing\.onnx does not exist; pass an \.onnx file"):
        bench(tmp_path / "missing.onnx", quick=True)


def _image_command(models: Path, out: Path) -> list[str]:
    """Dockerfile.arm's ENTRYPOINT plus the arguments of its documented `docker run`, with the
    volumes /models and /out mapped to local folders and `python` to this interpreter."""
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile.arm").read_text()
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.MULTILINE).group(1))
    documented = re.search(r"^#\s+docker run .* kdedge-bench:arm64(.*)$", dockerfile, re.MULTILINE)
    mapped = {"python": sys.executable, "/models": str(models), "--out=/out": f"--out={out}"}
    return [mapped.get(part, part) for part in entrypoint] + documented.group(1).split()


def test_the_images_documented_run_twice_replaces_its_own_result(device_dir, tmp_path):
    command = _image_command(device_dir, tmp_path / "out")
    assert command[-1] == "--force"  # the documented run replaces this machine's earlier JSON
    command += ["--target=pi", "--quick", "--batch_sizes=1"]  # short: the logic, not the timings
    first = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    created = read_record(BenchReport, tmp_path / "out" / "pi.json").created
    time.sleep(1.1)  # `created` has whole seconds
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert read_record(BenchReport, tmp_path / "out" / "pi.json").created != created
    without_force = subprocess.run([part for part in command if part != "--force"],
                                   capture_output=True, text=True, timeout=300)
    assert without_force.returncode == 2 and "Traceback" not in without_force.stderr
    assert without_force.stderr.strip().splitlines()[-1].startswith("kdedge: error: ")
    assert "pi.json already exists; pass --force" in without_force.stderr
