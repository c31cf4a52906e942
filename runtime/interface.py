"""The kdedge ONNX interface, checked in one place: export runs it on every graph it writes, the
device side (`bench`, `check`) on every graph it reads. Numpy and onnx only (no torch).

A kdedge graph is a classifier a device feeds raw rows:

1. its tensors are inside the file, or in external-data files inside the model's folder that
   exist (a graph checked in memory, without a path, must hold every tensor itself);
2. it passes the full ONNX checker (`full_check=True`: strict type and shape inference), run on
   the file when there is one, so external data next to the model resolves; operators of the
   `ai.onnx.ml` domain (the tree-ensemble baselines) are checked like any other, against the
   domain's opset the graph imports;
3. it has exactly one input, `features`, float32 [batch, k]: batch symbolic, k a fixed number;
4. its outputs are exactly `probabilities` float32 [batch, C] (C fixed) and `label` int64
   [batch], in that order, with every dimension known after shape inference;
5. the metadata kdedge.feature_names and kdedge.class_names, where present, are JSON lists of
   strings with k and C entries (the device side also reads graphs without kdedge metadata).

`check_interface` raises `InterfaceError` naming the file and the rule; callers add the fix.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import onnx

from kdedge.contract import INPUT_NAME, OUTPUT_NAMES, OnnxMetadata, TensorSpec
from kdedge.errors import KdedgeError

_DTYPES = {INPUT_NAME: "float32", OUTPUT_NAMES[0]: "float32", OUTPUT_NAMES[1]: "int64"}
_RANKS = {INPUT_NAME: 2, OUTPUT_NAMES[0]: 2, OUTPUT_NAMES[1]: 1}


class InterfaceError(KdedgeError):
    """An ONNX graph is not a kdedge classifier graph (the message names the file and the rule)."""


@dataclass(frozen=True)
class Interface:
    """What a graph that passed `check_interface` takes and gives."""

    input: TensorSpec  # features [batch, k] float32
    outputs: list[TensorSpec]  # probabilities [batch, C] float32, label [batch] int64
    feature_names: list[str] | None  # kdedge.feature_names, when the graph has it
    class_names: list[str] | None  # kdedge.class_names, when the graph has it

    @property
    def n_features(self) -> int:
        return int(self.input.shape[1])

    @property
    def n_classes(self) -> int:
        return int(self.outputs[0].shape[1])


def check_interface(model: onnx.ModelProto, *, name: str,
                    path: str | os.PathLike | None = None) -> Interface:
    """Check `model` against the kdedge interface (the rules in the module docstring).

    Args:
        model: the graph (loaded with or without its external data).
        name: how messages name the graph (its path, or its file name).
        path: the file it was read from, if any: external data is resolved next to it and the
            ONNX checker runs on the file.

    Returns:
        The interface: input and output specs (symbolic dims by name), feature and class names.

    Raises:
        InterfaceError: the first rule the graph breaks, naming the file.
    """
    where = name
    _check_external_data(model, where, None if path is None else Path(path))
    try:
        onnx.checker.check_model(os.fspath(path) if path is not None else model, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as exc:  # onnx raises ValidationError / InferenceError
        raise InterfaceError(f"{where} fails the ONNX checker: {exc}") from exc
    graph = inferred.graph
    inputs, outputs = [_spec(v) for v in graph.input], [_spec(v) for v in graph.output]
    if [v.name for v in inputs] != [INPUT_NAME] or [v.name for v in outputs] != list(OUTPUT_NAMES):
        raise InterfaceError(
            f"{where}: expected input {INPUT_NAME!r} and outputs {OUTPUT_NAMES}, got "
            f"{[v.name for v in inputs]} → {[v.name for v in outputs]}")
    for spec in inputs + outputs:
        _check_spec(spec, where)
    props = {p.key: p.value for p in model.metadata_props}
    interface = Interface(input=inputs[0], outputs=outputs,
                          feature_names=_names(props, "feature_names", where),
                          class_names=_names(props, "class_names", where))
    for field, names, count, tensor in (
            ("feature_names", interface.feature_names, interface.n_features, "input"),
            ("class_names", interface.class_names, interface.n_classes, "output")):
        if names is not None and len(names) != count:
            what = (f"input {INPUT_NAME!r} takes {count} features" if tensor == "input" else
                    f"output {OUTPUT_NAMES[0]!r} has {count} classes")
            raise InterfaceError(f"{where}: {what} but metadata {OnnxMetadata.PREFIX}{field} "
                                 f"lists {len(names)}; the graph and its metadata disagree")
    return interface


def _spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
             for d in tensor.shape.dim]
    dtype = (onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
             if tensor.elem_type else "undefined")
    return TensorSpec(name=value.name, shape=shape, dtype=dtype)


def _check_spec(spec: TensorSpec, where: str) -> None:
    """Rule 3 or 4 for one tensor: dtype, rank, a symbolic batch and fixed other dims."""
    rank = _RANKS[spec.name]
    batch_ok = len(spec.shape) == rank and isinstance(spec.shape[0], str)
    fixed_ok = all(isinstance(d, int) and d > 0 for d in spec.shape[1:])
    if spec.dtype != _DTYPES[spec.name] or not batch_ok or not fixed_ok:
        want = "[batch, k]" if spec.name == INPUT_NAME else \
            "[batch, C]" if rank == 2 else "[batch]"
        raise InterfaceError(
            f"{where}: {spec.name!r} must be {_DTYPES[spec.name]} {want} (batch symbolic, the "
            f"other dimension fixed), found {spec.dtype} {spec.shape}")


def _names(props: dict[str, str], field: str, where: str) -> list[str] | None:
    """Metadata list `kdedge.<field>` (None when the graph does not have it)."""
    key = OnnxMetadata.PREFIX + field
    if key not in props:
        return None
    try:
        names = json.loads(props[key])
    except json.JSONDecodeError as exc:
        raise InterfaceError(f"{where}: metadata {key} is not a JSON list ({exc})") from exc
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InterfaceError(f"{where}: metadata {key} must be a JSON list of strings, "
                             f"found {props[key]:.80}")
    return names


def _check_external_data(model: onnx.ModelProto, where: str, path: Path | None) -> None:
    """Rule 1: external data only in existing files inside the model's folder."""
    for tensor in _all_tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = {e.key: e.value for e in tensor.external_data}.get("location", "")
        if path is None:
            raise InterfaceError(f"{where} keeps tensor {tensor.name!r} in external data "
                                 f"({location!r}); a graph checked in memory must hold its tensors")
        folder = path.parent.resolve()
        target = (folder / location).resolve()
        if os.path.isabs(location) or not target.is_relative_to(folder):
            raise InterfaceError(
                f"{where}: tensor {tensor.name!r} keeps its data in {location!r}, outside the "
                f"model's folder {folder}; refusing to read it. Keep the weights inside the "
                "file (or in a file next to it)")
        if not target.is_file():
            raise InterfaceError(f"{where}: tensor {tensor.name!r} keeps its data in "
                                 f"{location!r}, which is missing; copy {location} next to it")


def _all_tensors(graph: onnx.GraphProto):
    """Initializers and attribute tensors of a graph and its subgraphs."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _all_tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _all_tensors(subgraph)
