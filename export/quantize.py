"""Quantized variants of the fp32 student, by name: int8, int8-static, fp16 (`--quantize`).

Each quantizer is "fp32 model in, calibration rows → quantized model out" and only calls the
library (onnxruntime.quantization, onnxruntime.transformers.float16); nothing is hand-quantized.

The fp32 graph starts with the centring Sub (x − training mean, see kdedge/fold.py): the raw
features carry their information in digits a low-precision type drops (a feature at 1000 ± 0.01
is 1000 in float16 and bfloat16), so **every variant keeps that Sub in float32**.

One decision applies to both int8 modes: the first dense layer stays float32 too. Its weight
columns hold 1/scale and its inputs are the centred features, whose ranges still differ by orders
of magnitude (wine: proline ±300 next to ash ±0.3). A single per-tensor int8 scale for that input
or those weights crushes the small-range features: measured on the wine run, quantizing it drops
agreement with fp32 to ~40 %; keeping it float gives 100 %. It is k·r of the student's MACs (24
of 216 by default), so the cost is small.

fp16 writes its dense layers as MatMul + Add rather than Gemm: tract (a second runtime,
kdedge.runtime.second_runtime) cannot translate a float16 Gemm ("expected batch,4,F16 got
batch,4,F32" — its Gemm expansion multiplies by a float32 alpha) and loads MatMul + Add;
onnxruntime and OpenVINO run either form.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import onnx

from kdedge.contract import INPUT_NAME
from kdedge.rundir import KdedgeError

_CALIBRATION_BATCH = 128
_QUANTIZE_OPS = {"DynamicQuantizeLinear", "QuantizeLinear"}
_CENTRING_OP = "Sub"  # x − centre, the first node of a kdedge fp32 graph (kdedge.fold)
_LAYER_OPS = {"Gemm", "MatMul"}


class QuantizeError(KdedgeError):
    """A quantizer's graph breaks a rule kdedge relies on: the raw-feature input must feed the
    float32 centring and one named float layer, never a quantize op (see the module docstring)."""


def quantize_int8(model: onnx.ModelProto, *, calibration: np.ndarray) -> onnx.ModelProto:
    """Dynamic int8: int8 weights, activation scales computed per call (`quantize_dynamic`).

    `calibration` is unused (dynamic quantization needs none); it keeps one signature for all.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="kdedge-int8-") as work:
        source = _pre_process(model, Path(work))
        first = _first_layer(model)
        # quantize_dynamic rewrites Gemm as MatMul + Add and names the MatMul "<gemm>_MatMul";
        # exclude both names so the first layer stays float (see the module docstring).
        out = Path(work) / "int8.onnx"
        with _quiet_quantizer():
            quantize_dynamic(source, out, weight_type=QuantType.QInt8, per_channel=False,
                             nodes_to_exclude=[first, f"{first}_MatMul"])
        quantized = onnx.load(out)
    _check_first_layer_float(quantized, "int8")
    return _drop_unused_opsets(quantized)


def quantize_int8_static(model: onnx.ModelProto, *, calibration: np.ndarray) -> onnx.ModelProto:
    """Static int8 in QDQ format, calibrated (MinMax) on training rows; per-channel weights.

    Per-channel (one scale per output row of each weight) rather than per-tensor: measured on the
    digits run it raises agreement with fp32 from 99.2 % to 99.7 % (default data: 99.8 % →
    99.9 %), for a few hundred bytes of scales. The CPU pays nothing for it: onnxruntime fuses
    either form into the same graph (Gemm, QuantizeLinear, QGemm, QGemm, DequantizeLinear,
    Softmax, ArgMax after its extended optimisations; QGemm takes per-column scales).
    Only Gemm and Relu are quantized: Softmax and ArgMax stay float so `probabilities` are not
    rounded to 1/256 steps.
    """
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    class Rows(CalibrationDataReader):
        """Feeds the calibration rows to the graph input, a batch at a time."""

        def __init__(self, rows: np.ndarray):
            self._batches = iter([{INPUT_NAME: rows[i:i + _CALIBRATION_BATCH]}
                                  for i in range(0, len(rows), _CALIBRATION_BATCH)])

        def get_next(self) -> dict | None:
            return next(self._batches, None)

    rows = np.ascontiguousarray(calibration, dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="kdedge-int8-static-") as work:
        source = _pre_process(model, Path(work))
        out = Path(work) / "int8-static.onnx"
        with _quiet_quantizer():
            quantize_static(source, out, Rows(rows), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QInt8,
                            weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                            op_types_to_quantize=["Gemm", "Relu"],
                            nodes_to_exclude=[_first_layer(model)])
        quantized = onnx.load(out)
    _check_first_layer_float(quantized, "int8-static")
    return _drop_unused_opsets(quantized)


def quantize_fp16(model: onnx.ModelProto, *, calibration: np.ndarray) -> onnx.ModelProto:
    """float16 weights and compute after the float32 centring; float32 `features`/`probabilities`.

    The library converter (keep_io_types=True) does the conversion, with the centring Sub on its
    block list; its dense layers are first rewritten as MatMul + Add (tract, see the module
    docstring). `calibration` is unused. The converter appends its Cast nodes at the end of the
    node list; onnx_ir (onnxscript's IR) sorts the graph topologically, as the checker requires.
    """
    import onnx_ir
    from onnxruntime.transformers.float16 import convert_float_to_float16

    centring = _centring_node(model)
    converted = convert_float_to_float16(_gemm_as_matmul_add(model), keep_io_types=True,
                                         node_block_list=[] if centring is None else [centring])
    _drop_input_round_trip(converted)
    graph = onnx_ir.from_proto(converted)
    graph.graph.sort()
    return onnx_ir.to_proto(graph)


def _gemm_as_matmul_add(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy with every Gemm (alpha = beta = 1, no transA) as MatMul(x, Bᵀ) + Add(bias), and no
    value_info.

    Hand-written: no library pass splits Gemm (onnxruntime's optimiser fuses the other way).
    """
    model = _copy(model)
    weights = {t.name: t for t in model.graph.initializer}
    nodes: list[onnx.NodeProto] = []
    for node in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        plain = (attrs.get("alpha", 1.0), attrs.get("beta", 1.0), attrs.get("transA", 0)) \
            == (1, 1, 0)
        if node.op_type != "Gemm" or not plain or len(node.input) < 3 or \
                node.input[1] not in weights:
            nodes.append(node)
            continue
        weight = onnx.numpy_helper.to_array(weights[node.input[1]])
        weight = weight.T if attrs.get("transB", 0) else weight
        name = f"{node.input[1]}_matmul"
        model.graph.initializer.append(
            onnx.numpy_helper.from_array(np.ascontiguousarray(weight), name))
        product = f"{node.output[0]}_product"
        nodes += [onnx.helper.make_node("MatMul", [node.input[0], name], [product],
                                        name=f"{node.name}_matmul"),
                  onnx.helper.make_node("Add", [product, node.input[2]], [node.output[0]],
                                        name=f"{node.name}_bias")]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    # The exporter lists initializers in value_info; the converter would then mark the centring's
    # float32 constant float16 and cast it back. Its own shape inference rebuilds what it needs.
    del model.graph.value_info[:]
    return model


def _drop_input_round_trip(model: onnx.ModelProto) -> None:
    """Let the blocked centring read the float32 input itself (in place).

    With keep_io_types the converter casts the float32 input to float16 first and casts it back
    for a blocked node: Cast(fp16) → Cast(fp32) → Sub, which rounds 1000.0013 to 1000 before the
    centring. Rewire such a node to the input and drop the Casts nothing reads any more.
    """
    graph, source = model.graph, model.graph.input[0].name
    producer = {out: node for node in graph.node for out in node.output if node.op_type == "Cast"}
    for node in graph.node:
        for i, name in enumerate(node.input):
            back = producer.get(name)
            there = None if back is None else producer.get(back.input[0])
            if there is not None and there.input[0] == source and \
                    onnx.helper.get_node_attr_value(back, "to") == onnx.TensorProto.FLOAT:
                node.input[i] = source
    outputs = {out.name for out in graph.output}
    while True:
        read = {name for node in graph.node for name in node.input} | outputs
        dead = [node for node in graph.node if not read.intersection(node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    live = {out for node in graph.node for out in node.output}
    kept = [info for info in graph.value_info if info.name in live]
    del graph.value_info[:]
    graph.value_info.extend(kept)


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


Quantizer = Callable[..., onnx.ModelProto]
QUANTIZERS: dict[str, Quantizer] = {
    "int8": quantize_int8,
    "int8-static": quantize_int8_static,
    "fp16": quantize_fp16,
}


def parse_quantize(value: str | bool | Iterable[str] | None) -> list[str]:
    """The variants `--quantize` asks for, in registry order.

    Args:
        value: None/False (none), True (bare `--quantize`: int8), "all", a name, a comma list
            "int8,fp16", or a list of names (its type is checked by `export_run`'s PARAMETERS).

    Raises:
        KdedgeError: an unknown name, listing the valid ones.
    """
    if value is None or value is False:
        return []
    if value is True:
        return ["int8"]
    wanted = set()
    for name in value.split(",") if isinstance(value, str) else value:
        name = name.strip().lower()
        if name == "all":
            wanted.update(QUANTIZERS)
        elif name in QUANTIZERS:
            wanted.add(name)
        else:
            raise KdedgeError(f"--quantize {value!r}: unknown variant {name!r}; choose from "
                              f"{', '.join(QUANTIZERS)} or all (comma-separate several)")
    return [name for name in QUANTIZERS if name in wanted]


def _pre_process(model: onnx.ModelProto, work: Path) -> Path:
    """onnxruntime's recommended quantization pre-processing (shape inference, graph cleanup)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source, out = work / "fp32.onnx", work / "fp32.pre.onnx"
    onnx.save(model, source)
    with _quiet_quantizer():
        quant_pre_process(source, out)
    return out


def _drop_unused_opsets(model: onnx.ModelProto) -> onnx.ModelProto:
    """quant_pre_process leaves imports of every onnxruntime domain (training, aten, nchwc...);
    keep the default domain and those a node uses, so minimal device builds load the file."""
    used = {node.domain for node in model.graph.node} | {""}
    kept = [entry for entry in model.opset_import if entry.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return model


def _readers(model: onnx.ModelProto, tensor: str) -> list[onnx.NodeProto]:
    """The nodes that read `tensor`."""
    return [node for node in model.graph.node if tensor in node.input]


def _input_readers(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The nodes that read the graph input (the raw features)."""
    return _readers(model, model.graph.input[0].name)


def _centring_node(model: onnx.ModelProto) -> str | None:
    """Name of the centring Sub when it is the only reader of the input, else None."""
    readers = _input_readers(model)
    if len(readers) == 1 and readers[0].op_type == _CENTRING_OP:
        if not readers[0].name:
            raise QuantizeError("the centring Sub has no name: the float32 block list needs it "
                                "(a kdedge bug, report it with the run directory)")
        return readers[0].name
    return None


def _layer_input_readers(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """The nodes reading what the first layer reads: the centred features behind the centring
    Sub, or the raw input of a graph without one."""
    readers = _input_readers(model)
    if len(readers) == 1 and readers[0].op_type == _CENTRING_OP:
        return _readers(model, readers[0].output[0])
    return readers


def _first_layer(model: onnx.ModelProto) -> str:
    """Name of the first dense layer (the one holding 1/scale), behind the centring Sub."""
    readers = _layer_input_readers(model)
    names = [node.name for node in readers]
    if len(readers) != 1 or not names[0] or readers[0].op_type not in _LAYER_OPS:
        raise QuantizeError(f"expected one named node reading the input, found {names}: the "
                            "first-layer exclusion needs it (the fp32 graph is not the folded "
                            "kdedge chain; a kdedge bug, report it with the run directory)")
    return names[0]


def _check_first_layer_float(model: onnx.ModelProto, variant: str) -> None:
    """The exclusion must have worked: neither the raw nor the centred features may enter a
    quantize op."""
    readers = _input_readers(model)
    readers = [node.op_type for node in
               readers + [node for node in _layer_input_readers(model) if node not in readers]]
    if _QUANTIZE_OPS.intersection(readers):
        raise QuantizeError(
            f"{variant}: onnxruntime quantized the raw-feature input ({readers}); the "
            "first-layer exclusion no longer matches its node names (a newer onnxruntime?); "
            "quantize without this variant, or report it")


@contextlib.contextmanager
def _quiet_quantizer():
    """Keep onnxruntime.quantization's advice out of kdedge's output, for one call only.

    It logs through the root logger itself (module-level `logging.info/warning`), so there is
    no narrower logger to raise: the root logger's level goes to ERROR and is restored on exit.
    Those module-level calls also run `logging.basicConfig()` when the root logger has no
    handler, which would leave a stderr handler installed for the rest of the process; any
    handler that appears on the root logger during the call is removed again.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)
