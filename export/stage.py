"""`kdedge export`: run directory → parity-gated ONNX teacher and student (+ quantized students).

Flow, top to bottom (docs/export.md has the file formats):
1. read the run (weights checked against run.json) and the requested variants;
2. per model: fold → export (the shipped graph) and export the unfolded model (for the
   before/after node and MAC counts) → ONNX checker → parity gate against PyTorch;
3. quantize the fp32 student into each variant and judge it against fp32 on the test split;
4. everything is built in a temporary sibling of RUN/onnx/ and renamed at the end, so a failure
   (a parity error included) leaves the previous RUN/onnx/ and export.json as they were.
"""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import torch

import kdedge
from kdedge import rundir
from kdedge.artifacts import Run, load_run
from kdedge.export.onnx_export import (OPSET, check_onnx, export_onnx, folded_module,
                                       set_metadata, unfolded_module)
from kdedge.export.parity import (PARITY_TOLERANCE, check_parity, make_session, onnx_outputs,
                                  torch_probabilities)
from kdedge.export.quantize import CALIBRATION_ROWS, QUANTIZERS, parse_quantize
from kdedge.fold import fold_model
from kdedge.metrics import agreement, classification_metrics
from kdedge.rundir import KdedgeError
from kdedge.runtime.graph_cost import count_graph_cost

EXPORTED_MODELS = ("teacher", "student")
ONNX_DIR = "onnx"
EXPORT_JSON = "export.json"
_MIN_OPSET = 13  # per-axis Softmax semantics and per-channel QDQ


def export_run(run_dir: str | Path, *, quantize: str | bool | tuple | list | None = None,
               force: bool = False, quiet: bool = False, opset: int = OPSET,
               reject_threshold: float = 0.01,
               calibration_rows: int = CALIBRATION_ROWS) -> Path:
    """Export RUN/onnx/{teacher,student}.onnx (+ quantized students) and write RUN/export.json.

    Args:
        run_dir: a run directory written by `kdedge distill`.
        quantize: None, True (= "int8"), "int8", "int8-static", "fp16", "all", or several
            (comma string or tuple).
        force: replace an existing RUN/onnx/ and export.json.
        quiet: print nothing.
        opset: the ONNX opset (default: pinned `OPSET`).
        reject_threshold: a variant whose test accuracy falls more than this below the fp32
            student's is kept on disk but marked "rejected".
        calibration_rows: at most this many training rows (split.npz X_calib) calibrate
            int8-static.

    Returns:
        The path of RUN/export.json.

    Raises:
        KdedgeError: bad input (names the file or argument and the fix).
        ParityError: an exported graph does not reproduce PyTorch; nothing is written.
    """
    started = time.perf_counter()
    variants = parse_quantize(quantize)
    _check_arguments(opset=opset, reject_threshold=reject_threshold,
                     calibration_rows=calibration_rows)
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    onnx_dir, export_json = run_dir / ONNX_DIR, run_dir / EXPORT_JSON
    if (onnx_dir.exists() or export_json.exists()) and not force:
        raise KdedgeError(f"{onnx_dir} already exists (an earlier export); pass --force to "
                          "replace it, or distill into a new run directory")
    def say(message: str) -> None:
        if not quiet:
            print(f"[export] {message}", file=sys.stderr, flush=True)

    torch_models = {name: run.load_model(name) for name in EXPORTED_MODELS}  # sha256-checked
    y_test = np.asarray(run.split["y_test"])
    calibration = _calibration_rows(run, limit=calibration_rows, needed="int8-static" in variants)

    staged = rundir.staging_dir(onnx_dir)
    try:
        records: dict[str, dict] = {}
        outputs: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # stem → (probabilities, labels)
        for name in EXPORTED_MODELS:
            model, records[name] = _export_fp32(run, name, torch_models[name], opset=opset)
            outputs[name] = _write_and_score(model, records[name], staged, run, name)
            record, parity = records[name], records[name]["parity"]
            worst = max(parity["max_abs_diff_batch1"], parity["max_abs_diff_full_batch"])
            say(f"{name}.onnx: {record['nodes']} nodes ({record['nodes_before_fold']} before "
                f"folding), {record['macs']} MACs, parity max |Δp| {worst:.2g}")
        fp32_student = onnx.load(staged / "student.onnx")
        for variant in variants:
            stem = f"student.{variant}"
            model = QUANTIZERS[variant](fp32_student, calibration=calibration)
            records[stem] = _variant_record(run, variant, model)
            outputs[stem] = _write_and_score(model, records[stem], staged, run, "student")
        for stem, record in records.items():
            _judge(record, stem=stem, outputs=outputs, y_test=y_test,
                   reject_threshold=reject_threshold)
            if record["variant"] != "fp32":
                say(f"{stem}.onnx: {record['file_bytes']} bytes, accuracy "
                    f"{record['metrics']['accuracy']:.4f}, agreement with fp32 "
                    f"{record['agreement_fp32']:.4f} → {record['verdict']}")
        rundir.commit_dir(staged, onnx_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise

    summary = {
        "run_id": run.manifest.get("run_id"),
        "kdedge_version": kdedge.__version__,
        "created": rundir.now_iso(),
        "opset": opset,
        "exporter": "torch.onnx.export(dynamo=True, optimize=True) of the folded model",
        "versions": {pkg: _version(pkg) for pkg in ("torch", "onnx", "onnxruntime", "onnxscript")},
        "parity_tolerance": PARITY_TOLERANCE,
        "reject_threshold": reject_threshold,
        "calibration_rows": int(len(calibration)),
        "test_rows": int(len(y_test)),
        "quantize": variants,
        "models": records,
    }
    rundir.write_json_atomic(export_json, summary)
    files = [record["path"] for record in records.values()] + [EXPORT_JSON]
    _forget_old_onnx_files(run_dir)
    rundir.update_manifest(run_dir, stage="export", files=files, info={
        "seconds": round(time.perf_counter() - started, 2), "models": list(records),
        "quantize": variants, "opset": opset})
    say(f"wrote {onnx_dir} and {export_json}")
    return export_json


def _check_arguments(*, opset: int, reject_threshold: float, calibration_rows: int) -> None:
    if not isinstance(opset, int) or isinstance(opset, bool) or opset < _MIN_OPSET:
        raise KdedgeError(f"opset must be a whole number >= {_MIN_OPSET}, got {opset!r}; "
                          f"leave it at the pinned {OPSET}")
    if not isinstance(reject_threshold, (int, float)) or not 0.0 <= reject_threshold <= 1.0:
        raise KdedgeError(f"reject_threshold must be in [0, 1] (accuracy points as a fraction), "
                          f"got {reject_threshold!r}")
    if not isinstance(calibration_rows, int) or isinstance(calibration_rows, bool) \
            or calibration_rows < 1:
        raise KdedgeError(f"calibration_rows must be a whole number >= 1, got {calibration_rows!r}")


def _calibration_rows(run: Run, *, limit: int, needed: bool) -> np.ndarray:
    """The student's columns of split.npz X_calib (training rows only), at most `limit` rows."""
    if not needed:
        return np.empty((0, len(run.input_index("student"))), dtype=np.float32)
    if "X_calib" not in run.split:
        raise KdedgeError(f"{run.path / 'split.npz'} has no X_calib (training rows for int8-static "
                          "calibration); re-run `kdedge distill`, or quantize without int8-static")
    return _input_rows(run, "student", "X_calib")[:limit]


def _input_rows(run: Run, name: str, key: str) -> np.ndarray:
    """Raw rows of split.npz[key] over model `name`'s inputs, in its input order (float32)."""
    return np.ascontiguousarray(run.split[key][:, run.input_index(name)], dtype=np.float32)


def _feature_names(run: Run, name: str) -> list[str]:
    """Model `name`'s inputs in graph order (run.input_index order)."""
    return [run.feature_names[i] for i in run.input_index(name)]


def _metadata(run: Run, name: str, variant: str, model: onnx.ModelProto) -> dict:
    """The kdedge.* metadata_props the device side reads (runtime/models.py)."""
    return {
        "kdedge.model": name,
        "kdedge.variant": variant,
        "kdedge.feature_names": _feature_names(run, name),
        "kdedge.class_names": run.class_names,
        "kdedge.version": kdedge.__version__,
        "kdedge.run_id": str(run.manifest.get("run_id", "")),
        "kdedge.weights_sha256": run.manifest["artifacts"][f"{name}.safetensors"],
        "kdedge.opset": str(_default_opset(model)),
    }


def _default_opset(model: onnx.ModelProto) -> int:
    return next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def _export_fp32(run: Run, name: str, torch_model: torch.nn.Module, *,
                 opset: int) -> tuple[onnx.ModelProto, dict]:
    """Fold and export model `name`, count it before/after folding, and pass the parity gate."""
    mean, scale = run.scaler(name)
    n_features = len(mean)
    folded = fold_model(torch_model, mean, scale)
    before = count_graph_cost(export_onnx(unfolded_module(torch_model, mean, scale),
                                          n_features=n_features, opset=opset)).to_json()
    model = export_onnx(folded_module(folded), n_features=n_features, opset=opset)
    set_metadata(model, _metadata(run, name, "fp32", model))
    x_test = _input_rows(run, name, "X_test")
    reference = torch_probabilities(torch_model, x_test, mean=mean, scale=scale)
    record = _base_record(run, name, "fp32", model, f"{name}.onnx")
    record.update({
        "nodes_before_fold": before["nodes"],
        "ops_before_fold": _ops(before),
        "macs_before_fold": before["macs"],
        "fold_steps": list(folded.steps),
        "parity": check_parity(model, reference=reference, x=x_test, name=f"{name}.onnx"),
    })
    return model, record


def _variant_record(run: Run, variant: str, model: onnx.ModelProto) -> dict:
    set_metadata(model, _metadata(run, "student", variant, model))
    record = _base_record(run, "student", variant, model, f"student.{variant}.onnx")
    record.update({"nodes_before_fold": None, "ops_before_fold": None, "macs_before_fold": None,
                   "fold_steps": None, "parity": None})
    return record


def _base_record(run: Run, name: str, variant: str, model: onnx.ModelProto,
                 file_name: str) -> dict:
    interface = check_onnx(model, name=file_name)
    cost = count_graph_cost(model).to_json()
    features = _feature_names(run, name)
    return {
        "path": f"{ONNX_DIR}/{file_name}",
        "model": name,
        "variant": variant,
        "opset": _default_opset(model),
        "file_bytes": None,  # set when written
        "input": interface["input"],
        "outputs": interface["outputs"],
        "n_features": len(features),
        "feature_names": features,
        "class_names": run.class_names,
        "macs": cost["macs"],
        "flops": cost["flops"],
        "params": cost["params"],
        "nodes": cost["nodes"],
        "ops": _ops(cost),
    }


def _ops(cost: dict) -> dict:
    return dict(cost["op_counts"])


def _write_and_score(model: onnx.ModelProto, record: dict, staged: Path, run: Run,
                     name: str) -> tuple[np.ndarray, np.ndarray]:
    """Write the model into the staging folder; return its own test-split outputs."""
    data = model.SerializeToString()
    rundir.write_bytes_atomic(staged / Path(record["path"]).name, data)
    record["file_bytes"] = len(data)
    probabilities, labels = onnx_outputs(make_session(data), _input_rows(run, name, "X_test"))
    return probabilities.astype(np.float64), labels


def _judge(record: dict, *, stem: str, outputs: dict, y_test: np.ndarray,
           reject_threshold: float) -> None:
    """Metrics from the model's own ONNX outputs, agreement, and the accept/reject verdict."""
    probabilities, labels = outputs[stem]
    fp32_probabilities, fp32_labels = outputs[record["model"]]
    with warnings.catch_warnings():
        # float32 softmax rows sum to 1 within ~1e-7, not sklearn's float64 tolerance; the
        # metrics are those of the ONNX outputs as they are, so silence rather than renormalise.
        warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")
        record["metrics"] = classification_metrics(y_test, probabilities)
    record["agreement_teacher"] = agreement(labels, outputs["teacher"][1])
    record["agreement_fp32"] = agreement(labels, fp32_labels)
    record["max_abs_diff_vs_fp32"] = float(np.max(np.abs(probabilities - fp32_probabilities)))
    record["verdict"], record["reason"] = "accepted", None
    if record["variant"] != "fp32":
        fp32_accuracy = float(np.mean(np.argmax(fp32_probabilities, axis=1) == y_test))
        drop = fp32_accuracy - record["metrics"]["accuracy"]
        if drop > reject_threshold + 1e-12:
            record["verdict"] = "rejected"
            record["reason"] = (f"test accuracy {record['metrics']['accuracy']:.4f} is "
                                f"{drop:.4f} below the fp32 student's {fp32_accuracy:.4f} "
                                f"(reject_threshold {reject_threshold:g}); kept for inspection, "
                                "do not deploy")


def _forget_old_onnx_files(run_dir: Path) -> None:
    """A forced re-export may ship fewer variants: drop run.json entries of files now gone."""
    manifest = rundir.read_manifest(run_dir)
    artifacts = manifest.get("artifacts", {})
    stale = [path for path in artifacts
             if path.startswith(f"{ONNX_DIR}/") and not (run_dir / path).is_file()]
    if stale:
        for path in stale:
            del artifacts[path]
        rundir.write_json_atomic(run_dir / rundir.MANIFEST, manifest)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
