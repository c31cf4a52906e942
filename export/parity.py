"""The parity gate: an exported graph must reproduce the PyTorch model, or nothing is shipped.

The reference is `kdedge.distill.probabilities` — the trained, unfolded torch model on the
scaler's standardised rows, then softmax — on the stored float32 test rows: the function and the
rows distill scored (predictions.npz holds the same numbers). onnxruntime runs the ONNX graph on
the same raw rows twice, one row per call (batch 1, what the device does) and the whole split in
one call, and both must match: max |Δ probability| <= tolerance and identical labels. Otherwise
the gate raises `ParityError`; it never just warns.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort

from kdedge.contract import INPUT_NAME, OUTPUT_NAMES, Parity
from kdedge.rundir import KdedgeError

PARITY_TOLERANCE = 1e-5  # max |Δ probability| between onnxruntime and PyTorch


class ParityError(KdedgeError):
    """The exported graph does not reproduce the PyTorch model within the tolerance."""


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
        proba, label = session.run(list(OUTPUT_NAMES), {INPUT_NAME: x[start:start + step]})
        probabilities.append(proba)
        labels.append(label)
    return np.concatenate(probabilities), np.concatenate(labels)


def check_parity(model: onnx.ModelProto | bytes, *, reference: np.ndarray, x: np.ndarray,
                 name: str, tolerance: float = PARITY_TOLERANCE) -> Parity:
    """Compare onnxruntime with the PyTorch reference at batch 1 and at the full batch.

    Args:
        model: the exported graph.
        reference: PyTorch probabilities [rows, C] for the same rows
            (`kdedge.distill.probabilities`).
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
    differences, mismatched = [], 0
    for batch_size in (1, None):
        proba, labels = onnx_outputs(session, x, batch_size=batch_size)
        differences.append(float(np.max(np.abs(proba.astype(np.float64) - reference))))
        mismatched = max(mismatched, int(np.sum(labels != expected_labels)))
    worst = max(differences)
    parity = Parity(rows=int(len(x)), tolerance=float(tolerance),
                    max_abs_diff_batch1=differences[0], max_abs_diff_full_batch=differences[1],
                    labels_identical=mismatched == 0,
                    passed=bool(worst <= tolerance and mismatched == 0))
    if not parity.passed:
        raise ParityError(
            f"{name} fails the parity gate against PyTorch on {len(x)} test rows: "
            f"max |Δ probability| = {worst:.3g} (batch 1: {differences[0]:.3g}, "
            f"full batch: {differences[1]:.3g}; tolerance {tolerance:g}), "
            f"{mismatched} labels differ. Nothing was written; the export is wrong — check "
            "kdedge.fold for this model's layers and report the run directory")
    return parity
