"""Find the ONNX models of a run (or a bare folder), read and check what each one says it is,
and build their inputs.

Reading here is pure protobuf parsing (`onnx.load(..., load_external_data=False)`); anything
native (onnxruntime session creation) happens in `runtime/_worker.py`, in a subprocess.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from kdedge.rundir import KdedgeError

# Graph optimisation levels users pick by name (`--opt_level`).
OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
_FLOAT32 = onnx.TensorProto.FLOAT


@dataclass
class ModelInfo:
    """What one .onnx file is, as read from its graph and kdedge.* metadata_props."""

    path: Path
    name: str  # file name, the key in the bench JSON
    metadata: dict = field(default_factory=dict)
    input_name: str = ""
    n_features: int = 0
    outputs: list = field(default_factory=list)  # [(name, elem_type, [dims])]
    feature_names: list | None = None
    class_names: list | None = None
    error: str | None = None


def resolve_models(path: str | os.PathLike) -> tuple[Path, Path, bool]:
    """Return (folder with the .onnx files, run dir or folder, is_run_dir) for a user's path."""
    path = Path(path)
    if not path.is_dir():
        raise KdedgeError(f"{path} is not a directory; pass a run directory or a folder of .onnx models")
    if sorted((path / "onnx").glob("*.onnx")):
        return path / "onnx", path, True
    if sorted(path.glob("*.onnx")):
        return path, path, False
    raise KdedgeError(
        f"{path} holds no ONNX models (looked for {path / 'onnx'}/*.onnx and {path}/*.onnx); "
        f"run `kdedge export {path}` first, or pass the folder that holds the .onnx files"
    )


def session_options(*, threads: int, opt_level: str) -> ort.SessionOptions:
    """Sequential execution, `threads` intra- and inter-op threads, named optimisation level."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[opt_level])
    options.log_severity_level = 3  # errors only: keep progress output readable
    return options


def read_model_info(path: Path) -> ModelInfo:
    """Parse one model and check it against its own metadata; problems go to `info.error`."""
    info = ModelInfo(path=path, name=path.name)
    try:
        model = onnx.load(os.fspath(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends: corrupt or truncated file
        info.error = (f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc}); the file is "
                      "corrupt or truncated: copy it again or re-run `kdedge export RUN_DIR --force`")
        return info
    info.metadata = {p.key: p.value for p in model.metadata_props}
    info.error = _check_external_data(model, path) or _check_graph(model, path, info)
    return info


def _check_external_data(model: onnx.ModelProto, path: Path) -> str | None:
    folder = path.parent.resolve()
    for tensor in _all_tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = {e.key: e.value for e in tensor.external_data}.get("location", "")
        target = (folder / location).resolve()
        if not target.is_relative_to(folder) or os.path.isabs(location):
            return (f"{path}: tensor {tensor.name!r} keeps its data in {location!r}, outside the "
                    f"model's folder {folder}; refusing to read it. Re-export the model with its "
                    "weights inside the file (or in a file next to it)")
        if not target.is_file():
            return (f"{path}: tensor {tensor.name!r} keeps its data in {location!r}, which is "
                    f"missing; copy {location} next to the model")
    return None


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


def _check_graph(model: onnx.ModelProto, path: Path, info: ModelInfo) -> str | None:
    fix = "re-export it with `kdedge export RUN_DIR --force`"
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        return f"{path}: the ONNX checker rejects the graph ({exc}); the file is damaged, {fix}"
    inits = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in inits]
    if len(inputs) != 1:
        return f"{path}: expected one input (features [batch, k]), found {[v.name for v in inputs]}; {fix}"
    value = inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
    info.input_name = value.name
    if value.type.tensor_type.elem_type != _FLOAT32 or len(dims) != 2 or not dims[1]:
        return (f"{path}: input {value.name!r} must be float32 [batch, k] with a fixed k, found "
                f"{onnx.helper.tensor_dtype_to_string(value.type.tensor_type.elem_type)} {dims}; {fix}")
    info.n_features = dims[1]
    info.outputs = [
        (o.name, o.type.tensor_type.elem_type,
         [d.dim_value if d.HasField("dim_value") else None for d in o.type.tensor_type.shape.dim])
        for o in model.graph.output
    ]
    try:
        if "kdedge.feature_names" in info.metadata:
            info.feature_names = list(json.loads(info.metadata["kdedge.feature_names"]))
        if "kdedge.class_names" in info.metadata:
            info.class_names = list(json.loads(info.metadata["kdedge.class_names"]))
    except (json.JSONDecodeError, TypeError) as exc:
        return f"{path}: metadata kdedge.feature_names/class_names is not a JSON list ({exc}); {fix}"
    if info.feature_names is not None and len(info.feature_names) != info.n_features:
        return (f"{path}: input {value.name!r} takes {info.n_features} features but metadata "
                f"kdedge.feature_names lists {len(info.feature_names)}; the graph and its metadata "
                f"disagree, {fix}")
    for name, _, out_dims in info.outputs:
        if (name == "probabilities" and info.class_names is not None and len(out_dims) == 2
                and out_dims[1] and out_dims[1] != len(info.class_names)):
            return (f"{path}: output 'probabilities' has {out_dims[1]} classes but metadata "
                    f"kdedge.class_names lists {len(info.class_names)}; {fix}")
    return None


def load_rows(folder: Path) -> tuple[np.ndarray, list[str]] | None:
    """X_test of folder/split.npz (raw feature values: the exported graphs fold the scaler in,
    so a device feeds raw rows) with its feature names; or None when there is no split."""
    split = folder / "split.npz"
    if not split.is_file():
        return None
    try:
        with np.load(split, allow_pickle=False) as data:
            rows = np.asarray(data["X_test"], dtype=np.float32)
            names = [str(n) for n in data["feature_names"]]
    except (OSError, KeyError, ValueError) as exc:
        raise KdedgeError(f"{split} has no readable X_test/feature_names ({exc}); "
                          "re-run `kdedge distill` or delete it to bench on random rows") from exc
    return np.ascontiguousarray(rows, dtype=np.float32), names


def model_rows(info: ModelInfo, rows: tuple[np.ndarray, list[str]] | None,
               *, n_rows: int = 1024, seed: int = 0) -> tuple[np.ndarray, str]:
    """The model's input rows and where they come from: real test rows whose columns are the
    model's kdedge.feature_names, else random normal (fixed seed, identical on every machine)."""
    if rows is not None and info.feature_names is not None:
        matrix, names = rows
        missing = [n for n in info.feature_names if n not in names]
        if not missing and len(matrix):
            index = [names.index(n) for n in info.feature_names]
            return np.ascontiguousarray(matrix[:, index]), "X_test (split.npz)"
    generator = np.random.default_rng(seed)
    return generator.standard_normal((n_rows, info.n_features)).astype(np.float32), "random normal"


def tile_rows(rows: np.ndarray, batch: int) -> np.ndarray:
    """A C-contiguous [batch, k] float32 block, repeating the rows when there are fewer."""
    return np.ascontiguousarray(np.take(rows, np.arange(batch) % len(rows), axis=0), dtype=np.float32)
