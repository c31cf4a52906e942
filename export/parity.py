"""The parity gate: an exported graph must reproduce the PyTorch model, or nothing is shipped.

The reference is the trained, unfolded torch model on standardised inputs followed by softmax —
exactly how `kdedge distill` scored it. onnxruntime runs the ONNX graph on the raw test rows twice,
one row per call (batch 1, what the device does) and the whole split in one call, and both must
match: max |Δ probability| <= tolerance and identical labels. Over the tolerance the gate raises
`ParityError`; it never just warns.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch

from kdedge.rundir import KdedgeError

PARITY_TOLERANCE = 1e-5  # max |Δ probability| between onnxruntime and PyTorch


class ParityError(KdedgeError):
    """The exported graph does not reproduce the PyTorch model within the tolerance."""


def torch_probabilities(model: torch.nn.Module, x_raw: np.ndarray, *, mean: np.ndarray,
                        scale: np.ndarray) -> np.ndarray:
    """Softmax probabilities [rows, C] of the unfolded torch model on raw rows (float64 out)."""
    standardised = ((np.asarray(x_raw, dtype=np.float64) - mean) / scale).astype(np.float32)
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(standardised))
    return torch.softmax(logits.double(), dim=-1).numpy()


def make_session(model: onnx.ModelProto | bytes) -> ort.InferenceSession:
    """A single-threaded CPU session with onnxruntime's default (all) graph optimisations."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: the device-side defaults, without chatter
    data = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def onnx_outputs(session: ort.InferenceSession, x: np.ndarray, *,
                 batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities [rows, C] float32, labels [rows] int64) from onnxruntime.

    Args:
        session: a session over a kdedge classifier graph.
        x: raw rows over the model's input features.
        batch_size: rows per call; None runs all rows in one call.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    step = len(x) if batch_size is None else batch_size
    probabilities, labels = [], []
    for start in range(0, len(x), max(step, 1)):
        proba, label = session.run(["probabilities", "label"], {"features": x[start:start + step]})
        probabilities.append(proba)
        labels.append(label)
    return np.concatenate(probabilities), np.concatenate(labels)


def check_parity(model: onnx.ModelProto | bytes, *, reference: np.ndarray, x: np.ndarray,
                 name: str, tolerance: float = PARITY_TOLERANCE) -> dict:
    """Compare onnxruntime with the PyTorch reference at batch 1 and at the full batch.

    Args:
        model: the exported graph.
        reference: PyTorch probabilities [rows, C] for the same rows (`torch_probabilities`).
        x: raw rows [rows, k] in the graph's input order.
        name: the file, for the message (e.g. "student.onnx").
        tolerance: max |Δ probability| allowed.

    Returns:
        The parity record for export.json (all numbers are measured, the gate passed).

    Raises:
        ParityError: the largest difference or a label mismatch, naming the model.
    """
    session = make_session(model)
    expected_labels = np.argmax(reference, axis=1)
    record = {"rows": int(len(x)), "tolerance": float(tolerance)}
    mismatched = 0
    for key, batch_size in (("batch1", 1), ("full_batch", None)):
        proba, labels = onnx_outputs(session, x, batch_size=batch_size)
        record[f"max_abs_diff_{key}"] = float(np.max(np.abs(proba.astype(np.float64) - reference)))
        mismatched = max(mismatched, int(np.sum(labels != expected_labels)))
    record["labels_identical"] = mismatched == 0
    worst = max(record["max_abs_diff_batch1"], record["max_abs_diff_full_batch"])
    record["passed"] = bool(worst <= tolerance and record["labels_identical"])
    if not record["passed"]:
        raise ParityError(
            f"{name} fails the parity gate against PyTorch on {len(x)} test rows: "
            f"max |Δ probability| = {worst:.3g} (batch 1: {record['max_abs_diff_batch1']:.3g}, "
            f"full batch: {record['max_abs_diff_full_batch']:.3g}; tolerance {tolerance:g}), "
            f"{mismatched} labels differ. Nothing was written; the export is wrong — check "
            "kdedge.fold for this model's layers and report the run directory")
    return record
