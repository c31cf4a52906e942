"""Output dump for cross-machine correctness: run every model on the same rows, save the outputs.

`python -m kdedge.runtime check RUN_DIR --out=arm64.npz` on the device and on x86, then
`compare_outputs` (or `python -m kdedge.runtime compare a.npz b.npz`): labels must be equal and
probabilities agree within `atol`. Rows: RUN's X_test (as `kdedge bench` feeds them), else 256
random normal rows from a fixed seed (numpy's generator gives the same rows on every machine).
`--runtimes` also runs every model under the second runtimes that are installed (OpenVINO with
its default settings, tract, emulated bf16: `kdedge.runtime.second_runtime`) and logs their
agreement with onnxruntime; below 99 % is a warning.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from kdedge.log import get_logger
from kdedge.rundir import KdedgeError, write_bytes_atomic
from kdedge.runtime.models import load_rows, model_rows, read_model_info, resolve_models, session_options
from kdedge.runtime.second_runtime import MIN_AGREEMENT, check_runtimes

_log = get_logger("check")
_SEP = "::"  # npz key = "<model file>::<output name>"


def predict_folder(path: str | os.PathLike, *, max_rows: int | None = None,
                   opt_level: str = "all") -> dict[str, dict[str, np.ndarray] | str]:
    """Run every model of a run dir / model folder on its rows.

    Args:
        path: A run directory or a folder of .onnx files.
        max_rows: Use at most this many rows (default: all of X_test, or 256 random rows).
        opt_level: Graph optimisation level (see `kdedge.runtime.models.OPT_LEVELS`).

    Returns:
        {model file: {output name: array, "input": the rows fed}} or {model file: error message}.
    """
    onnx_dir, root, _ = resolve_models(path)
    rows = load_rows(root)
    results: dict[str, dict[str, np.ndarray] | str] = {}
    options = session_options(threads=1, opt_level=opt_level)
    for model_path in sorted(onnx_dir.glob("*.onnx")):
        info = read_model_info(model_path)
        if info.error is not None:
            results[info.name] = info.error
            continue
        matrix, _ = model_rows(info, rows, n_rows=256)
        matrix = matrix[:max_rows] if max_rows else matrix
        try:
            session = ort.InferenceSession(str(model_path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
            values = session.run(None, {info.input_name: matrix})
        except Exception as exc:
            results[info.name] = f"{model_path}: {exc}"
            continue
        outputs = {o.name: v for o, v in zip(session.get_outputs(), values)}
        results[info.name] = dict(outputs, input=matrix)
    return results


def check(path: str | os.PathLike, *, out: str | os.PathLike, max_rows: int | None = None,
          runtimes: bool = False) -> Path:
    """Write every model's outputs on the rows of `path` to the .npz `out` (see `predict_folder`).

    A model that cannot run is logged as a warning and saved as `<file>::error` (the comparison
    then fails for it). `runtimes`: also compare every model under the installed second runtimes
    with onnxruntime (`log_runtimes`); the dump does not change.
    """
    if runtimes:
        log_runtimes(path, max_rows=max_rows)
    arrays = {}
    for name, outputs in predict_folder(path, max_rows=max_rows).items():
        if isinstance(outputs, str):
            _log.warning(f"not run: {outputs}")
            arrays[f"{name}{_SEP}error"] = np.array(outputs)
            continue
        for key, value in outputs.items():
            arrays[f"{name}{_SEP}{key}"] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_bytes_atomic(out, buffer.getvalue())


def log_runtimes(path: str | os.PathLike, *, max_rows: int | None = None) -> bool:
    """Log `check_runtimes` line by line; True when every runtime that ran agrees on at least
    MIN_AGREEMENT of the rows (a runtime that refuses a graph or fails is a warning too)."""
    everything_agrees = True
    for comparison in check_runtimes(path, max_rows=max_rows):
        if comparison.ok or comparison.status in ("not installed", "not applicable"):
            _log.info(comparison.line())
        else:
            everything_agrees = False
            _log.warning(f"{comparison.line()} (below {MIN_AGREEMENT:g} or not run)")
    return everything_agrees


# Variants whose arithmetic legitimately differs between CPUs: aarch64 runs fp16 natively (x86
# converts to fp32), and static-INT8 QDQ kernels round differently, so a row near a quantization
# step moves by one step. Measured x86 vs aarch64 (qemu): fp16 up to 2.1e-3 (float16 keeps ~3
# significant digits), int8-static up to 3.9e-3 with 6/500 labels flipped on near-ties. These get
# a looser, stated tolerance; fp32 and dynamic INT8 must match to `atol` with identical labels.
PLATFORM_TOLERANCE = {".fp16": (1e-2, 0.01), ".int8-static": (2e-2, 0.02)}


def _tolerance(model: str, atol: float) -> tuple[float, float]:
    """(probability atol, allowed fraction of differing labels) for a model file name."""
    for marker, tolerance in PLATFORM_TOLERANCE.items():
        if marker in model:
            return tolerance
    return atol, 0.0


def compare_outputs(reference: str | os.PathLike, candidate: str | os.PathLike, *,
                    atol: float = 1e-5) -> dict:
    """Compare two `check` dumps; {"ok": bool, "models": {model: {...}}}.

    A model agrees when both sides ran it, on identical rows, with equal integer outputs (labels)
    and float outputs (probabilities) within `atol` — or, for fp16 and int8-static variants,
    within PLATFORM_TOLERANCE (recorded per model as `atol` and `max_label_mismatch_fraction`).
    """
    with np.load(reference, allow_pickle=False) as a, np.load(candidate, allow_pickle=False) as b:
        a, b = dict(a), dict(b)
    if not a:
        raise KdedgeError(f"{reference} holds no outputs; re-run `python -m kdedge.runtime check`")
    report = {}
    for model in sorted({k.split(_SEP)[0] for k in list(a) + list(b)}):
        keys = sorted({k for k in list(a) + list(b) if k.startswith(model + _SEP)})
        model_atol, label_fraction = _tolerance(model, atol)
        entry = {"ok": True, "max_abs_diff": 0.0, "label_mismatches": 0, "atol": model_atol,
                 "max_label_mismatch_fraction": label_fraction}
        for key in keys:
            output = key.split(_SEP, 1)[1]
            if key not in a or key not in b or output == "error":
                entry.update(ok=False, problem=f"{output}: " + (str(a.get(key, b.get(key))) if output == "error"
                                                                else "present on one side only"))
                continue
            x, y = a[key], b[key]
            if x.shape != y.shape:
                entry.update(ok=False, problem=f"{output}: shape {x.shape} vs {y.shape}")
            elif np.issubdtype(x.dtype, np.floating):
                diff = float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)), initial=0.0))
                if output == "input":
                    entry["ok"] &= diff == 0.0
                else:
                    entry["max_abs_diff"] = max(entry["max_abs_diff"], diff)
                    entry["ok"] &= diff <= model_atol
            else:
                mismatches = int(np.count_nonzero(x != y))
                entry["label_mismatches"] += mismatches
                entry["ok"] &= mismatches <= label_fraction * x.size
        report[model] = entry
    return {"ok": all(e["ok"] for e in report.values()), "atol": atol, "models": report}
