"""The C student timed in C beside onnxruntime's floor (runtime/c_bench.py), on the session's
real exported run; the toolchain helpers on small hand-written C."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kdedge.contract import CBench
from kdedge.errors import KdedgeError
from kdedge.rundir import sha256_file
from kdedge.runtime.bench import QUICK_RULE
from kdedge.runtime.c_bench import (NATIVE, Toolchain, ToolchainMissing, bench_c, build_harness,
                                    c_sources, generated_from, object_size, require_toolchain,
                                    run_timing, toolchain_missing)
from kdedge.runtime.graph_cost import count_graph_cost


def _missing() -> str | None:
    return toolchain_missing(NATIVE)


needs_gcc = pytest.mark.skipif(_missing() is not None, reason=f"{_missing()}")


@pytest.fixture(scope="module")
def c_run(full_run) -> Path:
    """The session's run, exported with its C student (`export_run(c=True)`; do not modify)."""
    if _missing() is not None:
        pytest.skip(_missing())
    return full_run


@needs_gcc
def test_bench_c_times_the_c_student_beside_the_onnxruntime_floor(c_run):
    record = bench_c(c_run, rule=QUICK_RULE, blocks=5, block_time_s=0.002)
    assert record.source == "c/kdedge.c" and record.onnx == "onnx/student.onnx"
    assert record.blocks == 5 and record.calls_per_block >= 1 and record.rows > 0
    assert record.input_rows == "X_test (split.npz)" and record.floor == "floor-k6-c2"
    assert 0 < record.ns_per_call_min <= record.ns_per_call_p50 <= record.ns_per_call_max
    assert record.floor_p50_ns > 0 and record.onnxruntime_p50_ns > 0
    assert record.ratio_to_floor == pytest.approx(record.ns_per_call_p50 / record.floor_p50_ns,
                                                  rel=1e-3)
    assert record.ratio_to_floor < 1  # a few hundred MACs in C beat onnxruntime's call overhead
    assert record.macs == count_graph_cost(c_run / "onnx" / "student.onnx").macs > 0
    assert record.ns_per_mac == pytest.approx(record.ns_per_call_p50 / record.macs, rel=1e-3)
    assert CBench.from_json(json.loads(json.dumps(record.to_json()))) == record  # a JSON record


@needs_gcc
def test_harness_time_mode_doubles_calls_until_a_block_is_long_enough(c_run, tmp_path):
    import numpy as np

    program = build_harness(NATIVE, c_run / "c", "kdedge", tmp_path)
    rows = np.zeros((3, 6), dtype=np.float32)
    calls, ns = run_timing(NATIVE, program, rows, blocks=4, block_time_s=0.001)
    assert calls & (calls - 1) == 0 and len(ns) == 4 and min(ns) > 0
    assert calls * max(ns) >= 0.1e6  # blocks last ~block_time_s (wide margin: a shared machine)


def test_bench_c_without_c_student_says_how_to_make_one(full_run, tmp_path):
    run = Path(shutil.copytree(full_run, tmp_path / "run"))
    shutil.rmtree(run / "c", ignore_errors=True)
    assert c_sources(run) is None
    with pytest.raises(KdedgeError, match="--c"):
        bench_c(run)


@needs_gcc
def test_bench_c_refuses_a_c_student_generated_from_another_graph(c_run, tmp_path):
    run = Path(shutil.copytree(c_run, tmp_path / "run"))
    header = run / "c" / "kdedge.h"
    assert generated_from(header) == sha256_file(run / "onnx" / "student.onnx")
    shutil.copyfile(run / "onnx" / "student.int8.onnx", run / "onnx" / "student.onnx")
    with pytest.raises(KdedgeError, match=r"kdedge\.c was generated from a graph with sha256 "
                                          r".*the C student is stale; re-export with `kdedge "
                                          r"export .* --c --force`"):
        bench_c(run, rule=QUICK_RULE, blocks=1, block_time_s=0.001)


def test_require_toolchain_names_the_missing_tools_and_packages():
    fake = Toolchain(name="fake", cc="kdedge-no-such-cc", size="kdedge-no-such-size",
                     packages="gcc-fake", runner=("kdedge-no-such-qemu",),
                     runner_package="qemu-fake")
    with pytest.raises(ToolchainMissing, match=r"kdedge-no-such-cc, kdedge-no-such-size, "
                                               r"kdedge-no-such-qemu.*apt-get install gcc-fake "
                                               r"qemu-fake"):
        require_toolchain(fake)


@needs_gcc
def test_object_size_reads_size_and_stack_usage(tmp_path):
    # calls expf, as the student does: not a leaf, so x86-64's red zone does not hide the frame
    (tmp_path / "tiny.c").write_text(textwrap.dedent("""
        #include <math.h>
        static const float tiny_w[256] = {1.0f};
        int tiny_predict(const float features[4], float probabilities[2]);
        int tiny_predict(const float features[4], float probabilities[2])
        {
            volatile float scratch[64];
            for (int i = 0; i < 64; ++i) scratch[i] = features[i % 4] * tiny_w[i];
            probabilities[0] = expf(scratch[3]);
            probabilities[1] = expf(scratch[5]);
            return 0;
        }
    """))
    size = object_size(NATIVE, tmp_path, "tiny", tmp_path)
    assert size.text >= 256 * 4 and size.total == size.text + size.data + size.bss
    assert size.stack_bytes >= 64 * 4 and size.stack_qualifier == "static"


_NO_TORCH = textwrap.dedent("""
    import json, sys
    from kdedge.runtime.bench import QUICK_RULE
    from kdedge.runtime.c_bench import bench_c
    record = bench_c(sys.argv[1], rule=QUICK_RULE, blocks=3, block_time_s=0.001)
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "sklearn", "matplotlib",
                                                                  "pandas"})
    print(json.dumps({"heavy": heavy, "ns": record.ns_per_call_p50}))
""")


@needs_gcc
def test_c_bench_runs_without_torch(c_run, tmp_path, blocker):
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(
        blocker("torch", "sklearn", "matplotlib", "pandas"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "blocker"))
    proc = subprocess.run([sys.executable, "-c", _NO_TORCH, str(c_run)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [] and result["ns"] > 0
