"""The student as dependency-free C99: generated from its exported fp32 ONNX graph, then verified.

`kdedge export RUN --c` writes RUN/c/kdedge.{h,c} with the ONNX graphs (export/stage.py calls
`student_graph` and `stage_c_student` on the staged fp32 student, records the `CStudent` in
export.json and the files in run.json). Standalone, `export_c(RUN or .onnx, out_dir)` writes
`<prefix>.h` and `<prefix>.c` (default prefix `kdedge`):
one entry point `int kdedge_predict(const float features[K], float probabilities[C])` returning
the class index; no allocation, no state, no globals but the `static const` weights, nothing
beyond `<math.h>` (`expf`). The generator reads the graph's nodes and initializers — the folded
student is Gemm [Gemm] Relu Gemm Softmax ArgMax — and translates each node; a node it cannot
translate is refused with a `KdedgeError` naming the op, before anything is written.

Verified, not assumed: the files are compiled with the machine's gcc (`-std=c99 -O2 -Wall
-Wextra -Werror -pedantic`, -lm) with a harness (`kdedge.runtime.c_bench`) that runs every test
row; onnxruntime runs the graph on the same rows (batch 1); max |Δp| <= 1e-5 and identical labels,
or `ParityError` and nothing is written (files are staged in a temporary sibling and renamed at
the end). Code + weights bytes (`size` of the object: text + data + bss, the weights being
read-only data in text) and stack bytes (`-fstack-usage` of the entry point) are measured.
`check_aarch64` runs the same gate with Debian's aarch64 cross gcc under qemu user emulation.
No int8 C variant: the static-quantized graph's QDQ arithmetic would need its own gate.

Hand-written: onnx2c/emlearn/m2cgen are not dependencies, and the graph here is a few dense
layers. Imports no torch.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

import kdedge
from kdedge import rundir
from kdedge.contract import (C_DIR, INPUT_NAME, OUTPUT_NAMES, CParity, CStudent, OnnxMetadata,
                             onnx_file)
from kdedge.errors import KdedgeError
from kdedge.export.parity import PARITY_TOLERANCE, ParityError, make_session, onnx_outputs
from kdedge.log import get_logger
from kdedge.params import Flag, Optional, Text, check_params
from kdedge.runtime.c_bench import (AARCH64, DEFAULT_PREFIX, NATIVE, STRICT_FLAGS,
                                    Toolchain, build_harness, compiler_version, object_size,
                                    require_toolchain, run_predict)
from kdedge.runtime.interface import Interface, check_interface
from kdedge.runtime.models import load_rows, model_rows, read_model_info

PARAMETERS = {"prefix": Text(), "force": Flag(), "out_dir": Optional(Text())}
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
_log = get_logger("export")


@dataclass
class CSources:
    """Generated text of one C student."""

    header: str
    source: str
    ops: dict[str, int]
    params: int


@dataclass
class CGraph:
    """A student graph to write as C, with the rows it is verified on (`student_graph`)."""

    model: onnx.ModelProto
    where: str  # how records name the graph (RUN-relative in a run)
    sha256: str
    feature_names: list[str]
    class_names: list[str]
    rows: np.ndarray  # raw float32 [rows, k], in the graph's input order
    input_rows: str
    root: Path | None  # the run directory (record paths are relative to it), if any


# ---------------------------------------------------------------------------------------------
# Translation: ONNX nodes → C statements.

@dataclass
class _Emitter:
    """C being generated: weight arrays, local buffers and statements of <prefix>_predict."""

    prefix: str
    constants: dict[str, np.ndarray]  # initializers and Constant outputs
    buffers: dict[str, tuple[str, int]] = field(default_factory=dict)  # tensor → (C name, width)
    arrays: list[str] = field(default_factory=list)
    locals: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    label: str | None = None  # the C variable holding the ArgMax
    params: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # arrays made per kind (w, b, c)

    def fail(self, node: onnx.NodeProto, why: str) -> KdedgeError:
        return KdedgeError(f"cannot translate node {node.name or '(unnamed)'} ({node.op_type}) "
                           f"to C: {why}; the C export supports {', '.join(sorted(_OPS))} over "
                           "float32 [1, n] rows — export the fp32 student graph")

    def activation(self, node: onnx.NodeProto, name: str) -> tuple[str, int]:
        if name not in self.buffers:
            raise self.fail(node, f"input {name!r} is not a float32 row computed from `features`")
        return self.buffers[name]

    def constant(self, node: onnx.NodeProto, name: str) -> np.ndarray:
        value = self.constants.get(name)
        if value is None or value.dtype != np.float32 or not np.all(np.isfinite(value)):
            raise self.fail(node, f"input {name!r} is not a finite float32 initializer")
        return value

    def row(self, node: onnx.NodeProto, name: str, width: int) -> np.ndarray:
        """A constant broadcast to one row of `width` values ([width], [1, width], scalar)."""
        value = self.constant(node, name)
        if value.size not in (1, width) or any(d != 1 for d in value.shape[:-1]):
            raise self.fail(node, f"constant {name!r} of shape {list(value.shape)} does not "
                                  f"broadcast over one row of {width}")
        return np.broadcast_to(value.reshape(-1), (width,))

    def output(self, node: onnx.NodeProto, width: int) -> str:
        """The C buffer of a node's output: the `probabilities` argument or a new local."""
        name = node.output[0]
        c_name = OUTPUT_NAMES[0] if name == OUTPUT_NAMES[0] else f"t{len(self.buffers)}"
        if c_name != OUTPUT_NAMES[0]:
            self.locals.append(f"    float {c_name}[{width}];")
        self.buffers[name] = (c_name, width)
        return c_name

    def array(self, node: onnx.NodeProto, kind: str, values: np.ndarray) -> str:
        """A `static const float` array of a node's weights; its C name (w0, b0, w1, …)."""
        self.counts[kind] = self.counts.get(kind, -1) + 1
        c_name = f"{self.prefix}_{kind}{self.counts[kind]}"
        dims = "".join(f"[{d}]" for d in values.shape)
        self.arrays += [f"/* {node.op_type} {_comment(node.name)} */",
                        f"static const float {c_name}{dims} = {_c_initializer(values)};"]
        self.params += int(values.size)
        return c_name


def _c_float(value: float) -> str:
    """A float32 as a C literal that reads back to the same bits (9 significant digits)."""
    text = "%.9g" % float(np.float32(value))
    return text + ("f" if any(c in text for c in ".e") else ".0f")


def _c_initializer(values: np.ndarray) -> str:
    if values.ndim == 1:
        return "{" + ", ".join(_c_float(v) for v in values) + "}"
    rows = ",\n    ".join(_c_initializer(row) for row in values)
    return "{\n    " + rows + "\n}"


def _attributes(node: onnx.NodeProto) -> dict:
    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _dense(em: _Emitter, node: onnx.NodeProto, x: tuple[str, int], weight: np.ndarray,
           bias: np.ndarray | None, alpha: float = 1.0, beta: float = 1.0) -> None:
    """y[j] = alpha * sum_i weight[j][i] x[i] + beta * bias[j]; weight is [out, in]."""
    (x_name, width), outputs = x, weight.shape[0]
    if weight.shape[1] != width:
        raise em.fail(node, f"weight of shape {list(weight.shape)} does not take {width} inputs")
    w = em.array(node, "w", np.ascontiguousarray(weight))
    value = "acc" if alpha == 1.0 else f"{_c_float(alpha)} * acc"
    if bias is not None:
        b = em.array(node, "b", np.ascontiguousarray(bias))
        value += f" + {b}[j]" if beta == 1.0 else f" + {_c_float(beta)} * {b}[j]"
    y = em.output(node, outputs)
    em.body += [f"    for (int j = 0; j < {outputs}; ++j) {{", "        float acc = 0.0f;",
                f"        for (int i = 0; i < {width}; ++i) {{",
                f"            acc += {w}[j][i] * {x_name}[i];", "        }",
                f"        {y}[j] = {value};", "    }"]


def _gemm(em: _Emitter, node: onnx.NodeProto) -> None:
    """Y = alpha · A · op(B) + beta · C: A the row, B and C initializers, transB respected."""
    attributes = _attributes(node)
    if attributes.get("transA", 0):
        raise em.fail(node, "transA=1 on a [1, n] row")
    x = em.activation(node, node.input[0])
    weight = em.constant(node, node.input[1])
    if weight.ndim != 2:
        raise em.fail(node, f"B has shape {list(weight.shape)}, not a matrix")
    weight = weight if attributes.get("transB", 0) else weight.T
    has_bias = len(node.input) > 2 and node.input[2] != ""
    bias = em.row(node, node.input[2], weight.shape[0]) if has_bias else None
    _dense(em, node, x, weight, bias, float(attributes.get("alpha", 1.0)),
           float(attributes.get("beta", 1.0)))


def _matmul(em: _Emitter, node: onnx.NodeProto) -> None:
    weight = em.constant(node, node.input[1])
    if weight.ndim != 2:
        raise em.fail(node, f"B has shape {list(weight.shape)}, not a matrix")
    _dense(em, node, em.activation(node, node.input[0]), weight.T, None)


_BINARY = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/"}


def _binary(em: _Emitter, node: onnx.NodeProto) -> None:
    """Elementwise row ∘ constant (or constant ∘ row), the constant broadcast over the row."""
    side = [name in em.buffers for name in node.input]
    if side.count(True) != 1:
        raise em.fail(node, "needs exactly one computed row and one constant")
    x_name, width = em.activation(node, node.input[side.index(True)])
    constant = em.row(node, node.input[side.index(False)], width)
    c = (_c_float(constant[0]) if np.all(constant == constant[0])
         else f"{em.array(node, 'c', np.ascontiguousarray(constant))}[i]")
    terms = (f"{x_name}[i]", c) if side[0] else (c, f"{x_name}[i]")
    y = em.output(node, width)
    em.body += [f"    for (int i = 0; i < {width}; ++i) {{",
                f"        {y}[i] = {terms[0]} {_BINARY[node.op_type]} {terms[1]};", "    }"]


def _relu(em: _Emitter, node: onnx.NodeProto) -> None:
    x_name, width = em.activation(node, node.input[0])
    y = em.output(node, width)
    em.body += [f"    for (int i = 0; i < {width}; ++i) {{",
                f"        {y}[i] = {x_name}[i] > 0.0f ? {x_name}[i] : 0.0f;", "    }"]


def _last_axis(em: _Emitter, node: onnx.NodeProto, default: int) -> None:
    if _attributes(node).get("axis", default) not in (1, -1):
        raise em.fail(node, "only the class axis (1 or -1) of a [1, n] row is supported")


def _softmax(em: _Emitter, node: onnx.NodeProto) -> None:
    """Numerically stable: exp(x - max) / sum, as onnxruntime computes it."""
    _last_axis(em, node, default=-1)
    x_name, width = em.activation(node, node.input[0])
    y = em.output(node, width)
    em.body += [
        "    {", f"        float max = {x_name}[0], sum = 0.0f;",
        f"        for (int i = 1; i < {width}; ++i) {{",
        f"            max = {x_name}[i] > max ? {x_name}[i] : max;", "        }",
        f"        for (int i = 0; i < {width}; ++i) {{",
        f"            {y}[i] = expf({x_name}[i] - max);", f"            sum += {y}[i];",
        "        }",
        f"        for (int i = 0; i < {width}; ++i) {{", f"            {y}[i] /= sum;", "        }",
        "    }"]


def _argmax(em: _Emitter, node: onnx.NodeProto) -> None:
    """The first index of the largest value (the last one with select_last_index=1)."""
    _last_axis(em, node, default=0)
    if node.output[0] != OUTPUT_NAMES[1] or em.label is not None:
        raise em.fail(node, f"an ArgMax must produce the graph output {OUTPUT_NAMES[1]!r}, once")
    x_name, width = em.activation(node, node.input[0])
    compare = ">=" if _attributes(node).get("select_last_index", 0) else ">"
    em.label = "label"
    em.locals.append("    int label = 0;")
    em.body += [f"    for (int i = 1; i < {width}; ++i) {{",
                f"        if ({x_name}[i] {compare} {x_name}[label]) {{", "            label = i;",
                "        }", "    }"]


def _identity(em: _Emitter, node: onnx.NodeProto) -> None:
    if node.input[0] in em.constants:
        em.constants[node.output[0]] = em.constants[node.input[0]]
    else:
        em.buffers[node.output[0]] = em.activation(node, node.input[0])


def _constant(em: _Emitter, node: onnx.NodeProto) -> None:
    attributes = _attributes(node)
    if "value" in attributes:
        em.constants[node.output[0]] = numpy_helper.to_array(attributes["value"])
    elif {"value_float", "value_floats"} & set(attributes):
        value = attributes.get("value_float", attributes.get("value_floats"))
        em.constants[node.output[0]] = np.asarray(value, dtype=np.float32)
    else:
        raise em.fail(node, f"a Constant with {sorted(attributes)} (not a float tensor)")


_OPS = {"Gemm": _gemm, "MatMul": _matmul, "Relu": _relu, "Softmax": _softmax,
        "ArgMax": _argmax, "Identity": _identity, "Constant": _constant,
        **{op: _binary for op in _BINARY}}


def translate(model: onnx.ModelProto, *, prefix: str, n_features: int) -> _Emitter:
    """Every node of the graph (input `features` [1, n_features]) as C, in graph order;
    `KdedgeError` names the first node that cannot be translated."""
    graph = model.graph
    em = _Emitter(prefix=prefix, constants={t.name: numpy_helper.to_array(t)
                                            for t in graph.initializer})
    em.buffers[INPUT_NAME] = (INPUT_NAME, n_features)
    for node in graph.node:
        if node.domain not in ("", "ai.onnx") or node.op_type not in _OPS:
            raise em.fail(node, f"op {node.domain + '.' if node.domain else ''}{node.op_type} has "
                                "no C translation")
        em.body.append(f"    /* {node.op_type} {_comment(node.name)} */")
        _OPS[node.op_type](em, node)
    probabilities = em.buffers.get(OUTPUT_NAMES[0], (None, 0))[0]
    if probabilities is None or em.label is None:
        raise KdedgeError(f"graph {graph.name!r}: no float row reaches {OUTPUT_NAMES[0]!r} or no "
                          f"ArgMax gives {OUTPUT_NAMES[1]!r}; not a kdedge classifier graph")
    if probabilities != OUTPUT_NAMES[0]:  # an Identity made the output an alias of a buffer
        em.body += [f"    for (int i = 0; i < {em.buffers[OUTPUT_NAMES[0]][1]}; ++i) {{",
                    f"        probabilities[i] = {probabilities}[i];", "    }"]
    return em


# ---------------------------------------------------------------------------------------------
# The files: header (the interface, documented) and source (weights + the function).

def _comment(text: str) -> str:
    """Text safe inside a /* */ comment: one line, no comment end, no trigraph."""
    return re.sub(r"[\x00-\x1f]", " ", str(text)).replace("*/", "* /").replace("??", "? ?")


def _c_string(text: str) -> str:
    """A C string literal of the UTF-8 bytes: printable ASCII as is, the rest octal-escaped."""
    out = []
    for byte in str(text).encode("utf-8"):
        char = chr(byte)
        printable = 32 <= byte < 127 and char not in '"\\?'
        out.append(char if printable else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _listing(names: list[str], array: str) -> list[str]:
    return [f" *            {array}[{i}]  {_comment(name)}" for i, name in enumerate(names)]


def header_text(*, prefix: str, where: str, sha256: str, run_id: str | None,
                feature_names: list[str], class_names: list[str]) -> str:
    """<prefix>.h: the entry point, the feature order, the classes, and that inputs are raw."""
    upper = prefix.upper()
    signature = (f"int {prefix}_predict(const float {INPUT_NAME}[{upper}_N_FEATURES], "
                 f"float {OUTPUT_NAMES[0]}[{upper}_N_CLASSES])")
    lines = [
        f"/* {prefix}.h: the kdedge student as dependency-free C99. Generated by kdedge "
        f"{kdedge.__version__}; do not edit.", " *",
        f" * From:    {_comment(where)} (sha256 {sha256}), run {_comment(run_id or 'unknown')}",
        f" * Call:    {signature};",
        f" *          writes {len(class_names)} class probabilities (they sum to 1) and returns "
        "the index of", " *          the most probable class (the first one on ties): the ONNX "
        "graph's outputs.",
        " * Inputs:  RAW feature values, in the units of the training data. Do NOT standardise "
        "them:", " *          the training scaler is applied inside (folded into the first "
        "layer, after a centring step for large offsets).", f" *          {INPUT_NAME}[i] is feature:",
        *_listing(feature_names, INPUT_NAME),
        f" * Classes: {OUTPUT_NAMES[0]}[c] is the probability of class:",
        *_listing(class_names, OUTPUT_NAMES[0]),
        " * Memory:  no malloc, no state, no globals but the static const weights (re-entrant).",
        " *          Needs only <math.h> (expf): link with -lm. Measured code + weights and stack",
        " *          bytes: RUN/export.json.", " */",
        f"#ifndef {upper}_H", f"#define {upper}_H", "",
        f"#define {upper}_N_FEATURES {len(feature_names)}",
        f"#define {upper}_N_CLASSES {len(class_names)}",
        "/* initialisers: static const char *const names[] = " f"{upper}_FEATURE_NAMES; */",
        f"#define {upper}_FEATURE_NAMES {{{', '.join(map(_c_string, feature_names))}}}",
        f"#define {upper}_CLASS_NAMES {{{', '.join(map(_c_string, class_names))}}}", "",
        "#ifdef __cplusplus", 'extern "C" {', "#endif", "", f"{signature};", "",
        "#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {upper}_H */"]
    return "\n".join(lines) + "\n"


def source_text(em: _Emitter, *, where: str) -> str:
    """<prefix>.c: the weights ([out][in], float32 bit-exact) and <prefix>_predict."""
    upper = em.prefix.upper()
    lines = [f"/* {em.prefix}.c: generated by kdedge {kdedge.__version__} from {_comment(where)}; "
             f"do not edit. Interface: {em.prefix}.h */", "#include <math.h>", "",
             f'#include "{em.prefix}.h"', "", *em.arrays, "",
             f"int {em.prefix}_predict(const float {INPUT_NAME}[{upper}_N_FEATURES], "
             f"float {OUTPUT_NAMES[0]}[{upper}_N_CLASSES])", "{", *em.locals, "", *em.body,
             f"    return {em.label};", "}"]
    return "\n".join(lines) + "\n"


def generate_c(model: onnx.ModelProto, *, prefix: str = DEFAULT_PREFIX,
               where: str = "student.onnx", sha256: str | None = None) -> CSources:
    """Header and source of the C student for a kdedge classifier graph (pure: writes nothing).

    Raises:
        KdedgeError: a bad prefix, or a node with no C translation (named, with its op).
    """
    if not _PREFIX.fullmatch(prefix):
        raise KdedgeError(f"--prefix must be a C identifier of at most 31 characters starting "
                          f"with a letter (e.g. kdedge or fault_model), got {prefix!r}")
    interface = check_interface(model, name=where)
    em = translate(model, prefix=prefix, n_features=interface.n_features)
    props = {p.key: p.value for p in model.metadata_props}
    feature_names, class_names = interface_names(interface)
    header = header_text(
        prefix=prefix, where=where,
        sha256=sha256 or hashlib.sha256(model.SerializeToString()).hexdigest(),
        run_id=props.get(OnnxMetadata.PREFIX + "run_id"), feature_names=feature_names,
        class_names=class_names)
    ops: dict[str, int] = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return CSources(header=header, source=source_text(em, where=where), ops=ops, params=em.params)


# ---------------------------------------------------------------------------------------------
# Reading the graph, the gate, the export.

def read_student(source: str | Path) -> CGraph:
    """The fp32 student of a run directory (sha256-checked against run.json, rows = the test
    split) or an .onnx file (rows from a split.npz beside it or one folder up, else random)."""
    path = Path(source)
    student = onnx_file("student")
    if path.is_dir():
        from kdedge.artifacts import load_run

        if not (path / student).is_file():
            raise KdedgeError(f"{path / student} does not exist: run `kdedge export {path}` first")
        run = load_run(path)
        onnx_path = rundir.verify_artifact(path, student, run.manifest)
        sha256 = run.manifest.artifacts[student]  # verify_artifact just checked the file against it
        rows, input_rows, where = run.input_rows("student"), "X_test (split.npz)", student
        names = run.input_names("student")
    elif path.suffix == ".onnx" and path.is_file():
        info = read_model_info(path)
        if info.error is not None:
            raise KdedgeError(info.error)
        split = load_rows(path.parent) or load_rows(path.parent.parent)
        (rows, input_rows), onnx_path, where, names = model_rows(info, split), path, str(path), None
        sha256 = rundir.sha256_file(path)
    else:
        raise KdedgeError(f"{path} is neither a run directory nor an .onnx file; pass RUN_DIR "
                          "(written by `kdedge export`) or RUN/onnx/student.onnx")
    graph = student_graph(onnx.load(onnx_path), rows, where=where, input_rows=input_rows,
                          root=path if path.is_dir() else None,
                          sha256=sha256)
    if names is not None and graph.feature_names != names:
        raise KdedgeError(f"{onnx_path}: kdedge.feature_names {graph.feature_names} differ "
                          f"from the run's student inputs {names}; re-export the run")
    return graph


def student_graph(model: onnx.ModelProto, rows: np.ndarray, *, where: str,
                  input_rows: str = "X_test (split.npz)", root: Path | None = None,
                  sha256: str | None = None) -> CGraph:
    """A graph in memory (e.g. export's staged fp32 student) and its verification rows, ready
    for `write_c_student`; the device interface is checked."""
    interface = check_interface(model, name=where)
    feature_names, class_names = interface_names(interface)
    return CGraph(model=model, where=where,
                  sha256=sha256 or hashlib.sha256(model.SerializeToString()).hexdigest(),
                  feature_names=feature_names, class_names=class_names,
                  rows=np.ascontiguousarray(rows, dtype=np.float32), input_rows=input_rows,
                  root=None if root is None else Path(root))


def interface_names(interface: Interface) -> tuple[list[str], list[str]]:
    """(feature names, class names) of a graph: its kdedge metadata, else x0…, 0…"""
    return (interface.feature_names or [f"x{i}" for i in range(interface.n_features)],
            interface.class_names or [str(c) for c in range(interface.n_classes)])


def verify_c(c_dir: Path, graph: CGraph, *, prefix: str, toolchain: Toolchain = NATIVE,
             tolerance: float = PARITY_TOLERANCE) -> CParity:
    """Build c_dir/<prefix>.c with the harness and compare its outputs on every row with
    onnxruntime's (batch 1, one row per call, as a device calls it)."""
    require_toolchain(toolchain)
    with tempfile.TemporaryDirectory(prefix="kdedge-c-") as build:
        program = build_harness(toolchain, c_dir, prefix, Path(build))
        proba, labels = run_predict(toolchain, program, graph.rows,
                                    n_classes=len(graph.class_names))
    reference, expected = onnx_outputs(make_session(graph.model), graph.rows, batch_size=1)
    worst = float(np.max(np.abs(proba.astype(np.float64) - reference.astype(np.float64))))
    same = bool(np.array_equal(labels, expected))
    return CParity(platform=toolchain.name, compiler=compiler_version(toolchain),
                   rows=int(len(graph.rows)), input_rows=graph.input_rows,
                   tolerance=float(tolerance), max_abs_diff=worst, labels_identical=same,
                   passed=bool(worst <= tolerance and same))


def _gate(parity: CParity, where: str) -> None:
    if not parity.passed:
        raise ParityError(
            f"the C student generated from {where} fails its gate on {parity.rows} rows "
            f"({parity.platform}): max |Δ probability| vs onnxruntime = {parity.max_abs_diff:.3g} "
            f"(tolerance {parity.tolerance:g}), labels identical: {parity.labels_identical}. "
            "Nothing was written; report the .onnx file (a kdedge bug)")


def export_c(source: str | Path, out_dir: str | Path | None = None, *,
             prefix: str = DEFAULT_PREFIX, force: bool = False) -> CStudent:
    """Generate, compile, verify and measure the C student; write <prefix>.{h,c} into out_dir.

    Args:
        source: a run directory exported by `kdedge export` (its onnx/student.onnx) or an .onnx
            file of a kdedge classifier graph.
        out_dir: where the two files go; default RUN/c/ (or c/ beside the .onnx file).
        prefix: C symbol prefix (<prefix>_predict, <PREFIX>_N_FEATURES, <prefix>.h), so that
            several students link into one program.
        force: replace an existing out_dir.

    Returns:
        The record for export.json (paths RUN-relative in a run).

    Raises:
        KdedgeError: bad input, an untranslatable node (named); ToolchainMissing: no gcc/size;
        ParityError: the compiled C disagrees with onnxruntime. Nothing is written on error.
    """
    check_params(PARAMETERS, {"prefix": prefix, "force": force,
                              "out_dir": None if out_dir is None else str(out_dir)})
    graph = read_student(source)
    default = (graph.root if graph.root is not None else Path(source).parent) / C_DIR
    return write_c_student(graph, Path(out_dir) if out_dir is not None else default,
                           prefix=prefix, force=force)


def write_c_student(graph: CGraph, out: Path, *, prefix: str = DEFAULT_PREFIX,
                    force: bool = False) -> CStudent:
    """Generate the C of `graph`, pass the gate, measure it, then write out/<prefix>.{h,c}
    (staged in a temporary sibling, renamed at the end: nothing is written on any error)."""
    if out.exists() and not force:
        raise KdedgeError(f"{out} already exists (an earlier C export); pass --force to replace it")
    staged = rundir.staging_dir(out)
    try:
        record = stage_c_student(graph, staged, out=out, prefix=prefix)
        rundir.commit_dir(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return record


def stage_c_student(graph: CGraph, staged: Path, *, out: Path,
                    prefix: str = DEFAULT_PREFIX) -> CStudent:
    """Generate the C of `graph` into the folder `staged`, pass the gate and measure it; the
    record names the files as they will be once `staged` is renamed to `out`. The caller renames
    it (`write_c_student`, or `kdedge export --c` together with onnx/) or removes it on error.

    Raises:
        KdedgeError: an untranslatable node; ToolchainMissing: no gcc/size; ParityError: the
        compiled C disagrees with onnxruntime.
    """
    sources = generate_c(graph.model, prefix=prefix, where=graph.where, sha256=graph.sha256)
    require_toolchain(NATIVE)
    for suffix, text in ((".h", sources.header), (".c", sources.source)):
        rundir.write_bytes_atomic(staged / f"{prefix}{suffix}", text.encode("utf-8"))
    parity = verify_c(staged, graph, prefix=prefix)
    _gate(parity, graph.where)
    with tempfile.TemporaryDirectory(prefix="kdedge-c-size-") as build:
        size = object_size(NATIVE, staged, prefix, Path(build))
    record = c_student_record(graph, sources, size, parity, out=out, prefix=prefix)
    _log.info(f"{record.source}: {record.code_weights_bytes} bytes code + weights, stack "
              f"{record.stack_bytes} bytes, max |Δp| vs onnxruntime {parity.max_abs_diff:.2g} on "
              f"{parity.rows} rows")
    return record


def c_student_record(graph: CGraph, sources: CSources, size, parity: CParity, *, out: Path,
                     prefix: str) -> CStudent:
    """export.json's record of the C student (pure)."""
    def relative(path: Path) -> str:
        if graph.root is not None and path.resolve().is_relative_to(graph.root.resolve()):
            return path.resolve().relative_to(graph.root.resolve()).as_posix()
        return str(path)

    return CStudent(
        header=relative(out / f"{prefix}.h"), source=relative(out / f"{prefix}.c"),
        onnx=graph.where, onnx_sha256=graph.sha256, prefix=prefix,
        entry_point=f"{prefix}_predict", n_features=int(graph.rows.shape[1]),
        n_classes=len(graph.class_names), feature_names=list(graph.feature_names),
        class_names=list(graph.class_names), ops=sources.ops, params=sources.params,
        compiler=parity.compiler, flags=[*STRICT_FLAGS, "-lm"], text_bytes=size.text,
        data_bytes=size.data, bss_bytes=size.bss, code_weights_bytes=size.total,
        stack_bytes=size.stack_bytes, stack_qualifier=size.stack_qualifier, parity=parity)


def check_aarch64(source: str | Path, *, prefix: str = DEFAULT_PREFIX) -> CParity:
    """The C student's gate on aarch64: generated from the graph (the same bytes `export_c`
    writes), cross-compiled statically with Debian's aarch64-linux-gnu-gcc and run under
    qemu-aarch64-static (no chroot), compared with this machine's onnxruntime.

    Raises:
        ToolchainMissing: the cross compiler or qemu is not installed (the packages named).
    """
    graph = read_student(source)
    sources = generate_c(graph.model, prefix=prefix, where=graph.where, sha256=graph.sha256)
    require_toolchain(AARCH64)
    with tempfile.TemporaryDirectory(prefix="kdedge-c-arm-") as c_dir:
        for suffix, text in ((".h", sources.header), (".c", sources.source)):
            (Path(c_dir) / f"{prefix}{suffix}").write_text(text, encoding="utf-8")
        return verify_c(Path(c_dir), graph, prefix=prefix, toolchain=AARCH64)


def main(argv: list[str] | None = None) -> int:
    """`python -m kdedge.export.c_student export|aarch64 RUN_OR_ONNX [OUT_DIR] [--force]`:
    prints the record as JSON. aarch64: exit 0 pass, 1 fail, 2 error or toolchain missing."""
    args = list(sys.argv[1:] if argv is None else argv)
    force = "--force" in args
    args = [a for a in args if a != "--force"]
    if len(args) < 2 or args[0] not in ("export", "aarch64"):
        print(main.__doc__, file=sys.stderr)
        return 2
    try:
        if args[0] == "export":
            record = export_c(args[1], args[2] if len(args) > 2 else None, force=force)
        else:
            record = check_aarch64(args[1])
    except KdedgeError as exc:
        print(f"kdedge: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(record.to_json(), indent=2))
    return 0 if getattr(record, "passed", True) else 1


if __name__ == "__main__":
    sys.exit(main())
