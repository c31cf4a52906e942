"""The C student: generated from the real exported student graph, compiled with strict flags,
verified against onnxruntime, measured; untranslatable graphs refused with nothing written.

The session's `full_run` was exported with `export_run(c=True)` where gcc is installed: its c/
and export.json's `c_student` are what `kdedge export --c` wrote. Tests that write copy it first.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from kdedge import pipeline
from kdedge.artifacts import load_run
from kdedge.contract import EXPORT_JSON, CStudent, ExportSummary, onnx_file, read_record
from kdedge.errors import KdedgeError
from kdedge.export import c_student
from kdedge.export.c_student import (check_aarch64, export_c, generate_c, student_graph,
                                     write_c_student)
from kdedge.export.parity import ParityError
from kdedge.runtime.c_bench import (AARCH64, NATIVE, STRICT_FLAGS, ToolchainMissing,
                                    toolchain_missing)


needs_gcc = pytest.mark.skipif(toolchain_missing(NATIVE) is not None,
                               reason=f"{toolchain_missing(NATIVE)}")


@pytest.fixture(scope="module")
def c_run(full_run):
    """The session's run and the C student `export_run(c=True)` wrote into it (do not modify)."""
    if toolchain_missing(NATIVE) is not None:
        pytest.skip(toolchain_missing(NATIVE))
    return full_run, read_record(ExportSummary, full_run / EXPORT_JSON).c_student


def _without_c(full_run, tmp_path) -> Path:
    """A copy of the session's run without its c/ folder."""
    run = Path(shutil.copytree(full_run, tmp_path / "run"))
    shutil.rmtree(run / "c", ignore_errors=True)
    return run


def _partials(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


@needs_gcc
def test_export_c_passes_parity_on_every_test_row(c_run):
    run, record = c_run
    x_test = load_run(run).input_rows("student")
    assert record.parity.passed and record.parity.labels_identical
    assert record.parity.rows == len(x_test) and record.parity.input_rows == "X_test (split.npz)"
    assert 0.0 <= record.parity.max_abs_diff <= 1e-5
    assert (run / record.header).is_file() and (run / record.source).is_file()
    assert record.header == "c/kdedge.h" and record.onnx == onnx_file("student")
    ops = {op: count for op, count in record.ops.items() if op not in ("Gemm", "Sub")}
    assert ops == {"Relu": 1, "Softmax": 1, "ArgMax": 1} and record.ops["Gemm"] >= 2
    assert record.ops.get("Sub", 1) == 1  # the centring node, where export conditions the graph
    assert CStudent.from_json(json.loads(json.dumps(record.to_json()))) == record  # JSON record


@needs_gcc
def test_generated_source_compiles_with_strict_flags_and_depends_on_math_h_only(c_run, tmp_path):
    run, record = c_run
    assert list(STRICT_FLAGS) == ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic"]
    assert record.flags == [*STRICT_FLAGS, "-lm"]
    proc = subprocess.run(["gcc", *STRICT_FLAGS, "-c", str(run / record.source),
                           "-o", str(tmp_path / "student.o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    source = (run / record.source).read_text()
    assert re.findall(r"#include\s+\S+", source) == ["#include <math.h>", '#include "kdedge.h"']
    assert "malloc" not in source and "expf(" in source
    globals_ = [line for line in source.splitlines() if re.match(r"^[a-z].*=", line)]
    assert globals_ and all(line.startswith("static const float kdedge_") for line in globals_)


@needs_gcc
def test_header_documents_feature_order_classes_and_raw_inputs(c_run):
    run, record = c_run
    loaded = load_run(run)
    header = (run / record.header).read_text()
    listed = re.findall(r"features\[(\d+)\]  (\S+)", header)
    assert [name for _, name in listed] == loaded.input_names("student") == record.feature_names
    assert [int(i) for i, _ in listed] == list(range(len(listed)))
    classes = re.findall(r"probabilities\[(\d+)\]  (\S+)", header)
    assert [name for _, name in classes] == loaded.class_names == record.class_names
    assert "RAW feature values" in header and "Do NOT standardise" in header
    assert f"#define KDEDGE_N_FEATURES {len(listed)}" in header
    assert "int kdedge_predict(const float features[KDEDGE_N_FEATURES], " \
           "float probabilities[KDEDGE_N_CLASSES]);" in header


@needs_gcc
def test_sizes_and_stack_are_read_from_the_tools(c_run, tmp_path):
    run, record = c_run
    for value in (record.text_bytes, record.code_weights_bytes, record.stack_bytes):
        assert isinstance(value, int) and value > 0
    assert record.code_weights_bytes == record.text_bytes + record.data_bytes + record.bss_bytes
    assert record.code_weights_bytes >= 4 * record.params  # the float32 weights are in there
    assert record.code_weights_bytes < 4096 and record.stack_bytes < 1024
    assert record.stack_qualifier == "static"
    obj = tmp_path / "again.o"  # the same numbers from the tools, run here
    subprocess.run(["gcc", *STRICT_FLAGS, "-fstack-usage", "-c", str(run / record.source), "-o",
                    str(obj)], check=True)
    text = int(subprocess.run(["size", str(obj)], capture_output=True, text=True,
                              check=True).stdout.splitlines()[1].split()[0])
    assert text == record.text_bytes
    assert f"kdedge_predict\t{record.stack_bytes}\tstatic" in obj.with_suffix(".su").read_text()


@needs_gcc
def test_write_c_student_from_a_graph_in_memory(full_run, tmp_path):
    """What export_run calls inside its staging step: the graph in memory, the run's rows."""
    rows = load_run(full_run).input_rows("student")
    graph = student_graph(onnx.load(full_run / onnx_file("student")), rows,
                          where=onnx_file("student"), root=tmp_path)
    record = write_c_student(graph, tmp_path / "c")
    assert record.source == "c/kdedge.c" and record.parity.passed and record.parity.rows == len(rows)
    assert record.onnx_sha256 == c_student.rundir.sha256_file(full_run / onnx_file("student"))


@needs_gcc
def test_existing_c_folder_needs_force(c_run):
    run, _ = c_run
    with pytest.raises(KdedgeError, match="--force"):
        export_c(run)


@needs_gcc
def test_export_c_on_a_run_writes_the_bytes_export_run_wrote(c_run, tmp_path):
    """The standalone tool and `kdedge export --c` generate the same files from the same graph."""
    run, exported = c_run
    copy = _without_c(run, tmp_path)
    record = export_c(copy)
    for path in (record.header, record.source):
        assert (copy / path).read_bytes() == (run / path).read_bytes(), path
    assert record.onnx_sha256 == exported.onnx_sha256 and record.parity == exported.parity


def _with_tanh(model: onnx.ModelProto) -> onnx.ModelProto:
    """The student with a Tanh between its last Gemm and the Softmax."""
    softmax = next(node for node in model.graph.node if node.op_type == "Softmax")
    logits = softmax.input[0]
    softmax.input[0] = "squashed"
    index = list(model.graph.node).index(softmax)
    model.graph.node.insert(index, helper.make_node("Tanh", [logits], ["squashed"], name="tanh"))
    onnx.checker.check_model(model, full_check=True)
    return model


def test_unsupported_op_is_refused_naming_it_and_nothing_is_written(full_run, tmp_path):
    model = _with_tanh(onnx.load(full_run / onnx_file("student")))
    (tmp_path / "device").mkdir()
    onnx.save(model, tmp_path / "device" / "student.onnx")
    with pytest.raises(KdedgeError, match=r"node tanh \(Tanh\).*no C translation") as info:
        export_c(tmp_path / "device" / "student.onnx", tmp_path / "out")
    assert "Gemm" in str(info.value)  # the message lists what is supported
    assert not (tmp_path / "out").exists() and _partials(tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "device").iterdir()) == ["student.onnx"]


def _affine_graph(rng) -> onnx.ModelProto:
    """Sub (centring) → Gemm(transB=0, alpha, beta) → Relu → MatMul → Add → Softmax, ArgMax."""
    inits = [numpy_helper.from_array(array.astype(np.float32), name) for name, array in (
        ("offset", 1000.0 + rng.standard_normal(5)), ("w", rng.standard_normal((5, 7))),
        ("b", rng.standard_normal((1, 7))), ("v", rng.standard_normal((7, 3))),
        ("c", rng.standard_normal(3)))]
    nodes = [helper.make_node("Sub", ["features", "offset"], ["centred"]),
             helper.make_node("Gemm", ["centred", "w", "b"], ["h"], alpha=0.5, beta=2.0),
             helper.make_node("Relu", ["h"], ["r"]), helper.make_node("MatMul", ["r", "v"], ["m"]),
             helper.make_node("Add", ["m", "c"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
             helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0)]
    graph = helper.make_graph(
        nodes, "affine",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 5])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    return model


@needs_gcc
def test_gemm_attributes_and_elementwise_constants_are_translated(tmp_path):
    rng = np.random.default_rng(3)
    onnx.save(_affine_graph(rng), tmp_path / "affine.onnx")
    np.savez(tmp_path / "split.npz", feature_names=np.array([f"x{i}" for i in range(5)]),
             X_test=(1000.0 + rng.standard_normal((200, 5))).astype(np.float32))
    record = export_c(tmp_path / "affine.onnx", tmp_path / "c", prefix="affine")
    assert record.parity.passed and record.parity.rows == 1024  # no feature names: random rows
    assert record.ops == {"Sub": 1, "Gemm": 1, "Relu": 1, "MatMul": 1, "Add": 1, "Softmax": 1,
                          "ArgMax": 1}
    source = (tmp_path / "c" / "affine.c").read_text()
    assert "0.5f * acc + 2.0f * affine_b0[j]" in source


@needs_gcc
@pytest.mark.parametrize("had_c", [False, True])
def test_parity_failure_raises_and_writes_nothing(full_run, tmp_path, tree_state, had_c,
                                                  c_parity_failure):
    run = Path(shutil.copytree(full_run, tmp_path / "run")) if had_c else _without_c(full_run,
                                                                                      tmp_path)
    before = tree_state(run)
    with pytest.raises(ParityError, match=r"max \|Δ probability\| vs onnxruntime = 0.001"):
        export_c(run, force=True)
    assert tree_state(run) == before and _partials(run) == []  # an old c/ kept as it was
    assert (run / "c").exists() == had_c


def test_missing_gcc_names_the_package_and_nothing_is_written(full_run, tmp_path, monkeypatch,
                                                              tree_state):
    run = _without_c(full_run, tmp_path)
    before = tree_state(run)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolchainMissing, match=r"gcc.*apt-get install gcc binutils"):
        export_c(run)
    assert tree_state(run) == before and _partials(run) == []


def test_kdedge_run_exports_the_c_student_only_where_gcc_is(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(pipeline._log, "info", logged.append)
    assert pipeline.c_student_wanted() is (toolchain_missing(NATIVE) is None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert pipeline.c_student_wanted() is False
    assert logged[-1].startswith("skipping the C student (kdedge export --c): gcc, size not found")


@pytest.mark.parametrize("prefix", ["1model", "my-model", "", "a" * 40])
def test_bad_prefix_is_refused(full_run, prefix):
    with pytest.raises(KdedgeError, match="prefix"):
        generate_c(onnx.load(full_run / onnx_file("student")), prefix=prefix)


_TWO_STUDENTS = r"""
#include <stdio.h>
#include "first.h"
#include "second.h"
int main(void)
{
    const float features[FIRST_N_FEATURES] = {0};
    float p[FIRST_N_CLASSES], q[SECOND_N_CLASSES];
    static const char *const names[] = FIRST_FEATURE_NAMES;
    printf("%d %d %s\n", first_predict(features, p), second_predict(features, q), names[0]);
    return 0;
}
"""


@needs_gcc
def test_two_students_with_other_prefixes_link_into_one_program(full_run, tmp_path):
    model = onnx.load(full_run / onnx_file("student"))
    for prefix in ("first", "second"):
        sources = generate_c(model, prefix=prefix)
        (tmp_path / f"{prefix}.h").write_text(sources.header)
        (tmp_path / f"{prefix}.c").write_text(sources.source)
    (tmp_path / "main.c").write_text(_TWO_STUDENTS)
    subprocess.run(["gcc", *STRICT_FLAGS, *(str(tmp_path / f) for f in ("main.c", "first.c",
                    "second.c")), "-o", str(tmp_path / "both"), "-lm"], check=True)
    first, second, name = subprocess.run([str(tmp_path / "both")], capture_output=True, text=True,
                                         check=True).stdout.split()
    assert first == second and name == load_run(full_run).input_names("student")[0]


@pytest.mark.skipif(toolchain_missing(AARCH64) is not None,
                    reason=f"{toolchain_missing(AARCH64)}")
def test_aarch64_cross_compiled_student_matches_x86_onnxruntime(full_run):
    parity = check_aarch64(full_run)
    assert parity.platform.startswith("aarch64") and "aarch64-linux-gnu-gcc" in parity.compiler
    assert parity.passed and parity.labels_identical and parity.max_abs_diff <= 1e-5
    assert parity.rows == len(load_run(full_run).input_rows("student"))


def test_main_prints_usage_for_unknown_commands(capsys):
    assert c_student.main(["nonsense"]) == 2
    assert "export|aarch64" in capsys.readouterr().err


def test_generated_files_are_the_same_for_the_same_graph(full_run):
    model = onnx.load(full_run / onnx_file("student"))
    first, second = generate_c(model), generate_c(model)
    assert (first.header, first.source) == (second.header, second.source)
    assert first.params == sum(int(np.prod(t.dims)) for t in model.graph.initializer)
