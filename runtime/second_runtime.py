"""A second runtime as a real client: run exported graphs under OpenVINO and tract, and compare.

kdedge proves its graphs against PyTorch with onnxruntime (the parity gate); a user deploying with
another runtime gets that runtime's reading of the file and its defaults. This module runs a graph
the way such a user would and compares it with onnxruntime (CPU, fp32, one session) on the same
rows: label agreement and max |Δ probability|. Runtimes, each only when its package is installed
(`pip install 'kdedge[runtimes]'`):

- `openvino`: `openvino.Core().compile_model(path, "CPU")` with its default settings. On a CPU
  with bfloat16 arithmetic (AVX512-BF16, AMX) its default `INFERENCE_PRECISION_HINT` is bf16: its
  runtime model runs every matrix product (FullyConnected) in bf16, with bf16 weights, bias,
  inputs and outputs, while an elementwise node that reads the float32 input (kdedge's centring
  Sub) and the tail after the last matrix product (Softmax, ArgMax) stay float32;
- `tract`: Sonos' tract (`tract.onnx().load(path).into_model().into_runnable()`), pure Rust;
- `onnxruntime-bf16`: that bf16 arithmetic emulated with onnxruntime on any CPU (`bf16_emulated`):
  every operand and result of a Gemm/MatMul rounded to bfloat16 (round to nearest even, in
  float32 containers). On an AVX512-BF16 CPU it reproduces OpenVINO 2026.4's outputs within
  1.2e-7 (docs/results-conditioning.md). Float32 graphs only.

A runtime that is missing, refuses the graph or fails is reported as such, never raised: the
comparison is a check, like `python -m kdedge.runtime check`. A graph with `ai.onnx.ml` operators
(the tree-ensemble baselines) is "not applicable" to OpenVINO and tract, with that reason, and
not tried: neither implements them (measured: OpenVINO 2026.4 fails with "unconverted ops",
tract 0.23 with "Unimplemented(TreeEnsembleRegressor)"). Torch-free (numpy, onnx, onnxruntime;
openvino and tract imported only when used).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from kdedge.contract import INPUT_NAME, MIN_AGREEMENT_FP32, OUTPUT_NAMES
from kdedge.runtime.models import (load_rows, model_rows, read_model_info, resolve_models,
                                   session_options)

MIN_AGREEMENT = MIN_AGREEMENT_FP32  # the acceptance rule export applies to a variant vs fp32
_MATRIX_PRODUCTS = {"Gemm", "MatMul"}
ML_DOMAIN = "ai.onnx.ml"
_WITHOUT_ML_OPS = {"openvino": "OpenVINO", "tract": "tract"}  # runtimes that lack ai.onnx.ml
Outputs = tuple[np.ndarray, np.ndarray]  # probabilities [rows, C] float32, labels [rows] int64


@dataclass
class RuntimeComparison:
    """One graph under one runtime, against onnxruntime on the same rows."""

    model: str  # file name
    runtime: str  # openvino, tract or onnxruntime-bf16
    status: str  # ran, not installed, not applicable, failed
    rows: int = 0
    agreement: float | None = None  # share of rows whose label equals onnxruntime's
    max_abs_diff: float | None = None  # max |Δ probability| vs onnxruntime
    settings: str = ""  # version and the settings it ran with
    note: str | None = None  # why it did not run

    @property
    def ok(self) -> bool:
        """Ran and agrees on at least MIN_AGREEMENT of the rows."""
        return self.status == "ran" and self.agreement is not None and \
            self.agreement >= MIN_AGREEMENT

    def line(self) -> str:
        """One human-readable line, for the log."""
        if self.status != "ran":
            return f"{self.model:<28} {self.runtime:<17} {self.status}: {self.note}"
        return (f"{self.model:<28} {self.runtime:<17} agreement {self.agreement:.4f}  max |Δp| "
                f"{self.max_abs_diff:.2g}  ({self.settings})")


class _NotApplicable(Exception):
    """The runtime does not apply to this graph (said in the comparison, not raised)."""


def bf16_round(values: np.ndarray) -> np.ndarray:
    """float32 values rounded to the nearest bfloat16 (ties to even), kept in float32."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32).reshape(np.shape(values))


def bf16_emulated(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of a float32 graph that computes its matrix products as a bf16 CPU does.

    Every float32 initializer a Gemm/MatMul reads (weights, bias) is rounded to bf16; every other
    operand and every result of a Gemm/MatMul is rounded by Cast(bfloat16) → Cast(float).
    Elementwise nodes, Softmax and ArgMax stay float32.

    Raises:
        _NotApplicable: the graph is not float32 (float16 or quantized weights).
    """
    emulated = onnx.ModelProto()
    emulated.CopyFrom(model)
    graph = emulated.graph
    weights = {t.name: t for t in graph.initializer}
    if any(t.data_type not in (TensorProto.FLOAT, TensorProto.INT64) for t in weights.values()):
        raise _NotApplicable("bf16 emulation applies to float32 graphs (this one has float16 or "
                             "quantized weights)")
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type not in _MATRIX_PRODUCTS:
            nodes.append(node)
            continue
        for i, name in enumerate(node.input):
            if name in weights:
                rounded = bf16_round(numpy_helper.to_array(weights[name]))
                weights[name].CopyFrom(numpy_helper.from_array(rounded, name))
            elif name:
                nodes += _round_trip(name, f"{name}_bf16")
                node.input[i] = f"{name}_bf16"
        exact = f"{node.output[0]}_fp32"
        nodes += [node] + _round_trip(exact, node.output[0])
        node.output[0] = exact
    del graph.node[:]
    graph.node.extend(nodes)
    return emulated


def _round_trip(source: str, target: str) -> list[onnx.NodeProto]:
    """target = source rounded to bfloat16 (Cast → bfloat16 → float)."""
    return [helper.make_node("Cast", [source], [f"{target}_as_bf16"], to=TensorProto.BFLOAT16),
            helper.make_node("Cast", [f"{target}_as_bf16"], [target], to=TensorProto.FLOAT)]


def run_onnxruntime(model: onnx.ModelProto | str | os.PathLike, rows: np.ndarray) -> Outputs:
    """The reference: onnxruntime, CPU, one thread, all graph optimisations, all rows at once."""
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else os.fspath(model)
    session = ort.InferenceSession(data, session_options(threads=1, opt_level="all"),
                                   providers=["CPUExecutionProvider"])
    probabilities, labels = session.run(list(OUTPUT_NAMES), {INPUT_NAME: rows})
    return probabilities, labels


def run_openvino(path: Path, rows: np.ndarray) -> tuple[Outputs, str]:
    """OpenVINO on the CPU with its default settings; the settings it chose, said."""
    import openvino

    compiled = openvino.Core().compile_model(os.fspath(path), "CPU")
    result = compiled([rows])
    precision = compiled.get_property("INFERENCE_PRECISION_HINT")
    precision = precision.get_type_name() if hasattr(precision, "get_type_name") else precision
    settings = f"OpenVINO {openvino.__version__.split('-')[0]} CPU, default settings: " \
               f"INFERENCE_PRECISION_HINT {precision}"
    outputs = tuple(np.asarray(result[compiled.output(name)]) for name in OUTPUT_NAMES)
    return outputs, settings


def run_tract(path: Path, rows: np.ndarray) -> tuple[Outputs, str]:
    """tract: load, type and optimise the graph (into_model), run all rows at once."""
    import tract

    runnable = tract.onnx().load(os.fspath(path)).into_model().into_runnable()
    probabilities, labels = (value.to_numpy() for value in runnable.run([rows])[:2])
    return (probabilities, labels), f"tract {tract.version()}"


def run_bf16_emulated(path: Path, rows: np.ndarray) -> tuple[Outputs, str]:
    """onnxruntime on `bf16_emulated(graph)`."""
    outputs = run_onnxruntime(bf16_emulated(onnx.load(os.fspath(path))), rows)
    return outputs, f"onnxruntime {ort.__version__}, bf16 matrix products emulated"


RUNNERS: dict[str, tuple[str | None, Callable[[Path, np.ndarray], tuple[Outputs, str]]]] = {
    "openvino": ("openvino", run_openvino),
    "tract": ("tract", run_tract),
    "onnxruntime-bf16": (None, run_bf16_emulated),
}


def compare_runtimes(path: str | os.PathLike, rows: np.ndarray, *,
                     runtimes: tuple[str, ...] | list[str] = tuple(RUNNERS),
                     reference: Outputs | None = None) -> list[RuntimeComparison]:
    """Run one graph under each runtime and compare with onnxruntime on `rows`.

    Args:
        path: an exported .onnx file (`features` float32 [batch, k] → probabilities, label).
        rows: raw float32 rows [rows, k] in the graph's input order.
        runtimes: names from RUNNERS.
        reference: onnxruntime's outputs on `rows`, if already computed.
    """
    path = Path(path)
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    probabilities, labels = reference or run_onnxruntime(path, rows)
    ml_ops = ml_operators(path)
    comparisons = []
    for runtime in runtimes:
        package, runner = RUNNERS[runtime]
        entry = RuntimeComparison(model=path.name, runtime=runtime, status="ran", rows=len(rows))
        if ml_ops and runtime in _WITHOUT_ML_OPS:
            entry.status = "not applicable"
            entry.note = (f"{_WITHOUT_ML_OPS[runtime]} does not run {ML_DOMAIN} operators "
                          f"({', '.join(ml_ops)}); onnxruntime runs this graph")
            comparisons.append(entry)
            continue
        if package is not None and not _installed(package):
            entry.status = "not installed"
            entry.note = f"pip install {package} (or 'kdedge[runtimes]')"
            comparisons.append(entry)
            continue
        try:
            (other, other_labels), entry.settings = runner(path, rows)
        except _NotApplicable as exc:
            entry.status, entry.note = "not applicable", str(exc)
        except Exception as exc:  # a runtime refusing a graph is a finding, not a crash
            entry.status, entry.note = "failed", f"{type(exc).__name__}: {_first_lines(exc)}"
        else:
            entry.agreement = float(np.mean(np.asarray(other_labels) == labels))
            entry.max_abs_diff = float(np.max(np.abs(np.asarray(other, np.float64) -
                                                     probabilities), initial=0.0))
        comparisons.append(entry)
    return comparisons


def ml_operators(path: str | os.PathLike) -> list[str]:
    """The `ai.onnx.ml` operator types of a graph (its tree ensembles), sorted; [] for none."""
    graph = onnx.load(os.fspath(path), load_external_data=False).graph
    return sorted({node.op_type for node in graph.node if node.domain == ML_DOMAIN})


def check_runtimes(path: str | os.PathLike, *, max_rows: int | None = None,
                   runtimes: tuple[str, ...] | list[str] = tuple(RUNNERS)
                   ) -> list[RuntimeComparison]:
    """`compare_runtimes` for every model of a run directory or folder of .onnx files, on the
    rows `kdedge bench` feeds them (the run's X_test in each model's columns, else 256 random
    normal rows); `max_rows` caps them. A model whose interface check fails is skipped."""
    onnx_dir, root, _ = resolve_models(path)
    rows = load_rows(root)
    comparisons: list[RuntimeComparison] = []
    for model_path in sorted(onnx_dir.glob("*.onnx")):
        info = read_model_info(model_path)
        if info.error is not None:
            comparisons.append(RuntimeComparison(model=info.name, runtime="-", status="failed",
                                                 note=info.error))
            continue
        matrix, _ = model_rows(info, rows, n_rows=256)
        comparisons += compare_runtimes(model_path, matrix[:max_rows] if max_rows else matrix,
                                        runtimes=runtimes)
    return comparisons


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except ImportError:  # an import blocker (tests) or a broken install
        return False


def _first_lines(exc: Exception, lines: int = 3) -> str:
    """A runtime's error without its stack trace (tract appends a Rust backtrace)."""
    text = str(exc).split("Stack backtrace")[0]
    return " ".join([line.strip() for line in text.splitlines() if line.strip()][:lines])
