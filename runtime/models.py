"""Find the ONNX models of a run (or a bare folder), read and check what each one says it is,
and build their inputs.

Reading here is onnx only (`onnx.load(..., load_external_data=False)`, then the one interface
check, `runtime/interface.py`); anything native (onnxruntime session creation) happens in
`runtime/_worker.py`, in a subprocess.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from kdedge.contract import ONNX_DIR, SPLIT_NPZ
from kdedge.rundir import KdedgeError, recorded_files
from kdedge.runtime.interface import InterfaceError, check_interface

# Graph optimisation levels users pick by name (`--opt_level`).
OPT_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


@dataclass
class ModelInfo:
    """What one .onnx file is, as read from its graph and kdedge.* metadata_props."""

    path: Path
    name: str  # file name, the key in the bench JSON
    metadata: dict = field(default_factory=dict)
    input_name: str = ""
    n_features: int = 0
    outputs: list = field(default_factory=list)  # [(name, elem_type, [dims])], batch dim None
    feature_names: list | None = None
    class_names: list | None = None
    error: str | None = None


def resolve_models(path: str | os.PathLike) -> tuple[Path, Path, bool]:
    """Return (folder with the .onnx files, run dir or folder, is_run_dir) for a user's path."""
    path = Path(path)
    if not path.is_dir():
        raise KdedgeError(f"{path} is not a directory; pass a run directory or a folder of .onnx models")
    if sorted((path / ONNX_DIR).glob("*.onnx")):
        return path / ONNX_DIR, path, True
    if sorted(path.glob("*.onnx")):
        return path, path, False
    raise KdedgeError(
        f"{path} holds no ONNX models (looked for {path / ONNX_DIR}/*.onnx and {path}/*.onnx); "
        f"run `kdedge export {path}` first, or pass the folder that holds the .onnx files"
    )


def run_model_problems(root: Path, manifest) -> list[str]:
    """What is wrong with RUN/onnx/*.onnx against run.json: recorded models that are missing, and
    models on disk run.json does not record (an interrupted export). [] when all agree."""
    recorded = [name for name in recorded_files(manifest, ONNX_DIR) if name.endswith(".onnx")]
    on_disk = sorted(f"{ONNX_DIR}/{path.name}" for path in (root / ONNX_DIR).glob("*.onnx"))
    missing = [name for name in recorded if name not in on_disk]
    unrecorded = [name for name in on_disk if name not in manifest.artifacts]
    problems = [f"{root / name} is recorded in run.json but missing" for name in missing]
    if unrecorded:
        problems.append(f"{', '.join(unrecorded)} in {root} not recorded in run.json (an export "
                        "was interrupted, or the files were added by hand)")
    return problems


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
    """Parse one model and check its interface (`check_interface`); problems go to `info.error`."""
    info = ModelInfo(path=path, name=path.name)
    if not path.is_file():  # a FIFO or device named *.onnx would block the read forever
        info.error = (f"{path}: not a regular file (a FIFO, device or socket named .onnx); "
                      "replace it with the model file")
        return info
    try:
        model = onnx.load(os.fspath(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends: corrupt or truncated file
        info.error = (f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc}); the file is "
                      "corrupt or truncated: copy it again or re-run `kdedge export RUN_DIR --force`")
        return info
    info.metadata = {p.key: p.value for p in model.metadata_props}
    try:
        interface = check_interface(model, name=str(path), path=path)
    except InterfaceError as exc:
        info.error = f"{exc}; re-export it with `kdedge export RUN_DIR --force`"
        return info
    info.input_name, info.n_features = interface.input.name, interface.n_features
    info.outputs = [(spec.name, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(spec.dtype)),
                     [d if isinstance(d, int) else None for d in spec.shape])
                    for spec in interface.outputs]
    info.feature_names, info.class_names = interface.feature_names, interface.class_names
    return info


def load_rows(folder: Path) -> tuple[np.ndarray, list[str]] | None:
    """X_test of folder/split.npz (raw feature values: the exported graphs fold the scaler in,
    so a device feeds raw rows) with its feature names; or None when there is no split."""
    split = folder / SPLIT_NPZ
    if not split.is_file():
        return None
    try:
        with np.load(split, allow_pickle=False) as data:
            rows = np.asarray(data["X_test"], dtype=np.float32)
            names = [str(n) for n in data["feature_names"]]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
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
