"""`kdedge export`: run directory → parity-gated ONNX teacher and student (+ quantized students).

Flow, top to bottom (docs/export.md has the file formats):
1. `export_run` checks its arguments (PARAMETERS) and reads the run (weights checked against
   run.json) and the requested variants;
2. `export_fp32`, per model: fold → export (the shipped graph) and export the unfolded model (for
   the before/after node and MAC counts) → write → device-interface check → parity gate;
3. `quantize_variant`: quantize the fp32 student into each variant → write → interface check;
4. every graph is scored by onnxruntime on the test split (`write_graph`), and the pure builders
   `exported_model` (with `judge`'s verdict and, for a variant, its paired accuracy verdict
   against the fp32 graph) and `export_summary` make export.json's records;
5. with `c`, `stage_c` generates the C student from the staged fp32 student graph, compiles it
   and gates it against onnxruntime (`kdedge.export.c_student`) in a temporary sibling of RUN/c/;
6. everything is built in temporary siblings of RUN/onnx/ (and RUN/c/) and renamed at the end
   (`commit_outputs`), so a failure (a parity error included) leaves the previous RUN/onnx/,
   RUN/c/ and export.json as they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import torch

import kdedge
from kdedge import distill, rundir
from kdedge.artifacts import Run, load_run
from kdedge.contract import (C_DIR, CALIBRATION_ROWS, EXPORT_JSON, EXPORTED_MODELS, ONNX_DIR,
                             MIN_AGREEMENT_FP32, REJECT_THRESHOLD, CStudent, ExportedModel,
                             ExportSummary, OnnxMetadata, PairedComparison, Parity, onnx_file,
                             onnx_stem, weights_file, write_record)
from kdedge.export.c_student import stage_c_student, student_graph
from kdedge.export.onnx_export import (OPSET, export_onnx, folded_module, set_metadata,
                                       unfolded_module)
from kdedge.export.parity import PARITY_TOLERANCE, check_parity, make_session, onnx_outputs
from kdedge.export.quantize import QUANTIZERS, parse_quantize
from kdedge.export.sklearn_onnx import sklearn_to_onnx
from kdedge.fold import fold_model
from kdedge.log import get_logger
from kdedge.metrics import agreement, classification_metrics
from kdedge.verdicts import bootstrap_weights, paired_accuracy
from kdedge.params import AnyOf, Flag, Optional, Real, Text, TextList, Whole, check_params
from kdedge.rundir import KdedgeError
from kdedge.runtime.c_bench import NATIVE, require_toolchain
from kdedge.runtime.graph_cost import count_graph_cost
from kdedge.runtime.interface import Interface, InterfaceError, check_interface

PARAMETERS = {
    # a variant name, a comma list, a list of names, or bare --quantize (True); the names are
    # checked against the registry by parse_quantize, which lists the valid ones
    "quantize": Optional(AnyOf((Flag(), Text(), TextList()))),
    "force": Flag(),
    "opset": Whole(13),  # per-axis Softmax semantics and per-channel QDQ need >= 13
    "reject_threshold": Real(0.0, 1.0),  # accuracy points as a fraction
    "calibration_rows": Whole(1),
    "c": Flag(),
}
TEACHER, STUDENT = EXPORTED_MODELS  # the quantized variants are the student's
EXPORTER = "torch.onnx.export(dynamo=True, optimize=True) of the folded model"
VERSIONED = ("torch", "onnx", "onnxruntime", "onnxscript")
# A quantized variant must give the fp32 student's label on at least this share of test rows.
_log = get_logger("export")
COMMITTED = "committed"  # stages.export key: False while an export renames its files in


@dataclass
class Unfolded:
    """An fp32 graph's other side: the unfolded export's counts, what folding did, parity."""

    nodes: int
    ops: dict[str, int]
    macs: int
    steps: list[str]
    parity: Parity


@dataclass
class Graph:
    """One written graph on its way to export.json: the file and its own test-split outputs."""

    model: str  # teacher or student
    variant: str  # fp32, int8, int8-static, fp16
    proto: onnx.ModelProto
    interface: Interface
    feature_names: list[str]
    class_names: list[str]
    file_bytes: int
    probabilities: np.ndarray  # [test rows, C] float64, from onnxruntime
    labels: np.ndarray  # [test rows] int64, from onnxruntime
    unfolded: Unfolded | None = None  # fp32 only

    @property
    def stem(self) -> str:
        return onnx_stem(self.model, self.variant)


def export_run(run_dir: str | Path, *, quantize: str | bool | list[str] | None = None,
               force: bool = False, opset: int = OPSET,
               reject_threshold: float = REJECT_THRESHOLD,
               calibration_rows: int = CALIBRATION_ROWS, c: bool = False) -> Path:
    """Export RUN/onnx/{teacher,student}.onnx (+ quantized students, + RUN/c/), RUN/export.json.

    Args:
        run_dir: a run directory written by `kdedge distill`.
        quantize: None, True (= "int8"), "int8", "int8-static", "fp16", "all", or several
            (a comma string or a list).
        force: replace an existing RUN/onnx/, RUN/c/ and export.json.
        opset: the ONNX opset (default: pinned `OPSET`).
        reject_threshold: a variant whose test accuracy falls more than this below the fp32
            student's is kept on disk but marked "rejected".
        calibration_rows: at most this many training rows (split.npz X_calib) calibrate
            int8-static.
        c: also write RUN/c/kdedge.{h,c}, the fp32 student as C99, compiled with gcc and gated
            against onnxruntime on the test split (docs/c-student.md).

    Returns:
        The path of RUN/export.json.

    Raises:
        KdedgeError: bad input (names the file or argument and the fix), ToolchainMissing (`c`
            without gcc), ParityError (a graph or the C student off its reference): no writes.
    """
    check_params(PARAMETERS, locals())
    with rundir.stage_lock(run_dir, stage="export"):
        export_json = _export(Path(run_dir), parse_quantize(quantize), force=force, opset=opset,
                              reject_threshold=reject_threshold,
                              calibration_rows=calibration_rows, c=c)
        rundir.clean_debris(run_dir)
    return export_json


def _export(run_dir: Path, variants: list[str], *, force: bool, opset: int,
            reject_threshold: float, calibration_rows: int, c: bool) -> Path:
    """`export_run` under the run's writer lock. The commit: run.json first drops the previous
    export's entries (stages.export.committed false), then onnx/ (and c/) are renamed in,
    export.json written and run.json records them all: a kill anywhere in between leaves files
    run.json does not record, which bench and report refuse and the next export replaces."""
    started = time.perf_counter()
    run = load_run(run_dir)
    onnx_dir, export_json, c_dir = _output_paths(run_dir, run.manifest, force=force, c=c)
    torch_models = {name: run.load_model(name) for name in EXPORTED_MODELS
                    if run.is_torch(name)}  # sha256-checked
    calibration = _calibration(run, variants, calibration_rows)
    y_test = np.asarray(run.split["y_test"])
    resamples = bootstrap_weights(len(y_test), seed=run.manifest.seed)  # one set for every variant
    staged, staged_c = rundir.staging_dir(onnx_dir), None
    try:
        graphs = export_graphs(run, torch_models, staged, variants=variants,
                               calibration=calibration, opset=opset)
        records = {stem: exported_model(graph, fp32=graphs[graph.model],
                                        teacher=graphs[TEACHER], y_test=y_test,
                                        positive=run.positive, resamples=resamples,
                                        reject_threshold=reject_threshold)
                   for stem, graph in graphs.items()}
        staged_c, c_record = stage_c(run, staged, c_dir) if c else (None, None)
        rundir.update_manifest(run_dir, stage="export", removed=_export_entries(run_dir),
                               info={COMMITTED: False})
        commit_outputs(staged, onnx_dir, staged_c, c_dir)
    except BaseException:
        _remove(staged, staged_c)
        raise
    write_record(export_json, export_summary(
        run, records, opset=opset, reject_threshold=reject_threshold,
        calibration_rows=len(calibration), test_rows=len(y_test), variants=variants,
        c_student=c_record))
    _record_in_manifest(run_dir, records, c_record, seconds=time.perf_counter() - started,
                        variants=variants, opset=opset)
    _log_records(records)
    _log.info(f"wrote {onnx_dir}{f', {c_dir}' if c else ''} and {export_json}")
    return export_json


def _export_entries(run_dir: Path) -> list[str]:
    """run.json's entries of an export: onnx/ and c/ files and export.json."""
    return [path for path in rundir.read_manifest(run_dir).artifacts
            if path.startswith((f"{ONNX_DIR}/", f"{C_DIR}/")) or path == EXPORT_JSON]


def interrupted(manifest) -> bool:
    """Whether an export was killed while committing (run.json says stages.export.committed
    false): its files are unrecorded, and a new export replaces them without --force."""
    return manifest.stages.get("export", {}).get(COMMITTED) is False


def _calibration(run: Run, variants: list[str], calibration_rows: int) -> np.ndarray:
    """At most `calibration_rows` training rows of the student; none unless int8-static (the
    only variant that calibrates) is asked for."""
    calibration = run.input_rows(STUDENT, "X_calib")[:calibration_rows]
    return calibration if "int8-static" in variants else calibration[:0]


def _output_paths(run_dir: Path, manifest, *, force: bool, c: bool) -> tuple[Path, Path, Path]:
    """RUN/onnx, RUN/export.json and RUN/c, checked before any work: an earlier export is
    replaced only with `force` (or when it was interrupted), and `c` needs gcc
    (ToolchainMissing names the package)."""
    onnx_dir, export_json, c_dir = run_dir / ONNX_DIR, run_dir / EXPORT_JSON, run_dir / C_DIR
    existing = [path for path in (onnx_dir, export_json, c_dir) if path.exists()]
    if existing and interrupted(manifest):
        _log.warning(f"an earlier export of {run_dir} was interrupted before run.json recorded "
                     "it; replacing it")
    elif existing and not force:
        raise KdedgeError(f"{existing[0]} already exists (an earlier export); pass --force to "
                          "replace it, or distill into a new run directory")
    if c:
        require_toolchain(NATIVE)  # before minutes of export, not after
    return onnx_dir, export_json, c_dir


def stage_c(run: Run, staged: Path, c_dir: Path) -> tuple[Path, CStudent]:
    """The C student of the staged fp32 student graph (the bytes onnx/student.onnx will hold),
    generated, gated on the test split and measured in a temporary sibling of RUN/c/:
    (that folder, its record). The folder is removed on error."""
    path = staged / Path(onnx_file(STUDENT)).name
    graph = student_graph(onnx.load(path), run.input_rows(STUDENT), where=onnx_file(STUDENT),
                          root=run.path, sha256=rundir.sha256_file(path))
    staged_c = rundir.staging_dir(c_dir)
    try:
        return staged_c, stage_c_student(graph, staged_c, out=c_dir)
    except BaseException:
        shutil.rmtree(staged_c, ignore_errors=True)
        raise


def commit_outputs(staged: Path, onnx_dir: Path, staged_c: Path | None, c_dir: Path) -> None:
    """Rename the staged onnx/ (and c/) into place. An old RUN/c/ is moved aside first and deleted
    last, so no failure leaves a C student beside graphs it was not generated from: if onnx/
    cannot be replaced, the old c/ comes back beside the old onnx/; if the new c/ cannot be
    renamed, there is none. Without `staged_c` (no --c) the old RUN/c/ is removed."""
    aside = None
    if c_dir.exists():
        aside = Path(tempfile.mkdtemp(prefix=f".{c_dir.name}.", suffix=".old", dir=c_dir.parent))
        os.replace(c_dir, aside / c_dir.name)
    try:
        try:
            rundir.commit_dir(staged, onnx_dir)
        except BaseException:
            if aside is not None:
                os.replace(aside / c_dir.name, c_dir)
            raise
        if staged_c is not None:
            os.replace(staged_c, c_dir)
    finally:
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _remove(*staged: Path | None) -> None:
    """Staging folders of a failed export."""
    for folder in staged:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def export_graphs(run: Run, torch_models: dict[str, torch.nn.Module], staged: Path, *,
                  variants: list[str], calibration: np.ndarray, opset: int) -> dict[str, Graph]:
    """Every graph, written into `staged`: the fp32 teacher and student, each variant of the
    student, then the baselines models.json stores (EXPORTED_BASELINES)."""
    graphs = {name: (export_fp32(run, name, torch_models[name], staged, opset=opset)
                     if name in torch_models else export_sklearn(run, name, staged, opset=opset))
              for name in EXPORTED_MODELS}
    fp32_student = graphs[STUDENT].proto  # the proto write_graph serialised into `staged`
    for variant in variants:
        graph = quantize_variant(run, variant, fp32_student, staged, calibration=calibration)
        graphs[graph.stem] = graph
    for name in run.models.baselines:
        graphs[name] = export_sklearn(run, name, staged, opset=opset)
    return graphs


def export_sklearn(run: Run, name: str, staged: Path, *, opset: int) -> Graph:
    """A stored scikit-learn model (the GBDT teacher, a baseline) built as ONNX from its arrays
    (kdedge.export.sklearn_onnx) and gated on parity with the probabilities distill recorded
    for it from scikit-learn itself (predictions.npz)."""
    metadata = OnnxMetadata(model=name, variant="fp32", feature_names=run.input_names(name),
                            class_names=run.class_names, version=kdedge.__version__,
                            run_id=run.manifest.run_id,
                            weights_sha256=run.manifest.artifacts[weights_file(name)],
                            opset=str(opset))
    model = sklearn_to_onnx(run.models.config(name), run.weights(name), metadata)
    graph = write_graph(run, name, "fp32", model, staged)
    parity = check_parity(model, reference=run.predictions()[name], x=run.input_rows(name),
                          name=Path(onnx_file(name)).name)
    cost = count_graph_cost(model)
    graph.unfolded = Unfolded(nodes=cost.nodes, ops=dict(cost.op_counts), macs=cost.macs,
                              steps=["none: built from the stored scikit-learn arrays"],
                              parity=parity)
    return graph


def export_fp32(run: Run, name: str, torch_model: torch.nn.Module, staged: Path, *,
                opset: int) -> Graph:
    """Fold and export model `name`, count it before/after folding, and pass the parity gate."""
    scaler = run.scaler(name)
    folded = fold_model(torch_model, scaler)
    before = count_graph_cost(export_onnx(unfolded_module(torch_model, scaler),
                                          n_features=len(scaler.mean), opset=opset))
    model = export_onnx(folded_module(folded), n_features=len(scaler.mean), opset=opset)
    set_metadata(model, onnx_metadata(run, name, "fp32", model).to_props())
    graph = write_graph(run, name, "fp32", model, staged)
    x_test = run.input_rows(name)
    reference = distill.probabilities(torch_model, x_test, scaler)  # as distill scored it
    parity = check_parity(model, reference=reference, x=x_test, name=Path(onnx_file(name)).name)
    graph.unfolded = Unfolded(nodes=before.nodes, ops=dict(before.op_counts), macs=before.macs,
                              steps=list(folded.steps), parity=parity)
    return graph


def quantize_variant(run: Run, variant: str, fp32_student: onnx.ModelProto, staged: Path, *,
                     calibration: np.ndarray) -> Graph:
    """The fp32 student quantized by the registry's `variant`, with its own metadata, written."""
    model = QUANTIZERS[variant](fp32_student, calibration=calibration)
    set_metadata(model, onnx_metadata(run, STUDENT, variant, model).to_props())
    return write_graph(run, STUDENT, variant, model, staged)


def write_graph(run: Run, name: str, variant: str, model: onnx.ModelProto,
                staged: Path) -> Graph:
    """Write the graph into the staging folder, check its device interface on the file, and run
    it with onnxruntime on the test split."""
    path = staged / Path(onnx_file(name, variant)).name
    data = model.SerializeToString()
    rundir.write_bytes_atomic(path, data)
    try:
        interface = check_interface(model, name=path.name, path=path)
    except InterfaceError as exc:
        raise InterfaceError(f"{exc}; export made a graph without the device interface, a kdedge "
                             "bug: report it with the run directory") from exc
    proba, labels = onnx_outputs(make_session(data), run.input_rows(name))
    return Graph(model=name, variant=variant, proto=model, interface=interface,
                 feature_names=run.input_names(name), class_names=run.class_names,
                 file_bytes=len(data), probabilities=proba.astype(np.float64), labels=labels)


def onnx_metadata(run: Run, name: str, variant: str, model: onnx.ModelProto) -> OnnxMetadata:
    """The kdedge.* metadata_props the device side reads (runtime/models.py)."""
    return OnnxMetadata(model=name, variant=variant, feature_names=run.input_names(name),
                        class_names=run.class_names, version=kdedge.__version__,
                        run_id=run.manifest.run_id,
                        weights_sha256=run.manifest.artifacts[weights_file(name)],
                        opset=str(_default_opset(model)))


def exported_model(graph: Graph, *, fp32: Graph, teacher: Graph, y_test: np.ndarray,
                   positive: int | None, resamples: np.ndarray,
                   reject_threshold: float) -> ExportedModel:
    """export.json's record of one graph: its cost, its metrics from its own ONNX outputs (the
    run's positive class), agreement with the teacher and with its fp32 graph, a variant's
    paired accuracy verdict against the fp32 graph (on the bootstrap `resamples`), and the
    accept/reject verdict."""
    cost = count_graph_cost(graph.proto)
    with warnings.catch_warnings():
        # float32 softmax rows sum to 1 within ~1e-7, not sklearn's float64 tolerance; the
        # metrics are those of the ONNX outputs as they are, so silence rather than renormalise.
        warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")
        metrics = classification_metrics(y_test, graph.probabilities,
                                         class_names=graph.class_names, positive=positive)
    fp32_accuracy = float(np.mean(np.argmax(fp32.probabilities, axis=1) == y_test))
    agreement_fp32 = agreement(graph.labels, fp32.labels)
    paired = None if graph is fp32 else paired_accuracy(
        y_test, fp32.labels, graph.labels, a=fp32.stem, b=graph.stem, weights=resamples)
    verdict, reason = judge(graph.variant, accuracy=metrics.accuracy, fp32_accuracy=fp32_accuracy,
                            agreement_fp32=agreement_fp32, paired=paired,
                            reject_threshold=reject_threshold)
    unfolded = {} if graph.unfolded is None else dict(
        nodes_before_fold=graph.unfolded.nodes, ops_before_fold=graph.unfolded.ops,
        macs_before_fold=graph.unfolded.macs, fold_steps=graph.unfolded.steps,
        parity=graph.unfolded.parity)
    return ExportedModel(
        path=onnx_file(graph.model, graph.variant), model=graph.model, variant=graph.variant,
        opset=_default_opset(graph.proto), file_bytes=graph.file_bytes,
        input=graph.interface.input, outputs=list(graph.interface.outputs),
        n_features=len(graph.feature_names), feature_names=graph.feature_names,
        class_names=graph.class_names, macs=cost.macs, flops=cost.flops, params=cost.params,
        nodes=cost.nodes, ops=dict(cost.op_counts), metrics=metrics,
        agreement_teacher=agreement(graph.labels, teacher.labels),
        agreement_fp32=agreement_fp32,
        max_abs_diff_vs_fp32=float(np.max(np.abs(graph.probabilities - fp32.probabilities))),
        verdict=verdict, reason=reason, paired_vs_fp32=paired, **unfolded)


def judge(variant: str, *, accuracy: float, fp32_accuracy: float, reject_threshold: float,
          agreement_fp32: float | None = None,
          paired: PairedComparison | None = None) -> tuple[str, str | None]:
    """("accepted", None), or ("rejected", why) for a quantized variant that fails a rule; the
    reason names every rule it fails. fp32 graphs are always accepted. The rules:

    - agreement: its labels equal the fp32 graph's on at least MIN_AGREEMENT_FP32 of the test
      rows (a variant that flips 2% of the labels is another model, even at equal accuracy);
    - paired loss: the paired comparison with the fp32 graph (`paired_vs_fp32`, exact McNemar
      and paired bootstrap) does not detect an accuracy loss (verdict "b_worse");
    - accuracy drop: its accuracy is at most `reject_threshold` below the fp32 student's.

    `agreement_fp32` / `paired` left None skip that rule (export always passes both).
    """
    if variant == "fp32":
        return "accepted", None
    failed = []
    if agreement_fp32 is not None and agreement_fp32 < MIN_AGREEMENT_FP32 - 1e-12:
        failed.append(f"agreement rule: its labels agree with the fp32 student's on "
                      f"{agreement_fp32:.4f} of the test rows, below {MIN_AGREEMENT_FP32:g}")
    if paired is not None and paired.verdict == "b_worse":
        failed.append(f"paired-loss rule: the paired comparison with the fp32 student detects an "
                      f"accuracy loss of {-paired.difference:.4f} (95% interval "
                      f"[{paired.ci_low:+.4f}, {paired.ci_high:+.4f}], McNemar p = "
                      f"{paired.p_value:.2g}: {paired.only_a} rows only fp32 got right, "
                      f"{paired.only_b} only this variant)")
    drop = fp32_accuracy - accuracy
    if drop > reject_threshold + 1e-12:  # 1e-12: float noise in the drop
        failed.append(f"accuracy-drop rule: test accuracy {accuracy:.4f} is {drop:.4f} below the "
                      f"fp32 student's {fp32_accuracy:.4f} (reject_threshold "
                      f"{reject_threshold:g})")
    if not failed:
        return "accepted", None
    return "rejected", "; ".join(failed) + "; kept for inspection, do not deploy"


def export_summary(run: Run, records: dict[str, ExportedModel], *, opset: int,
                   reject_threshold: float, calibration_rows: int, test_rows: int,
                   variants: list[str], c_student: CStudent | None = None) -> ExportSummary:
    """export.json: what was exported, how, the record of every graph and of the C student."""
    return ExportSummary(
        run_id=run.manifest.run_id, kdedge_version=kdedge.__version__,
        created=rundir.now_iso(), opset=opset, exporter=EXPORTER,
        versions={package: _version(package) for package in VERSIONED},
        parity_tolerance=PARITY_TOLERANCE, reject_threshold=float(reject_threshold),
        calibration_rows=int(calibration_rows), test_rows=int(test_rows), quantize=variants,
        models=records, c_student=c_student)


def _record_in_manifest(run_dir: Path, records: dict[str, ExportedModel],
                        c_student: CStudent | None, *, seconds: float, variants: list[str],
                        opset: int) -> None:
    """run.json: the sha256 of every file written, stages.export, and no entries for onnx/ or c/
    files an earlier export wrote that this one did not (a forced re-export may ship fewer
    variants, or no C student)."""
    files = [record.path for record in records.values()] + [EXPORT_JSON]
    files += [] if c_student is None else [c_student.header, c_student.source]
    stale = [path for path in rundir.read_manifest(run_dir).artifacts
             if path.startswith((f"{ONNX_DIR}/", f"{C_DIR}/")) and path not in files]
    rundir.update_manifest(run_dir, stage="export", files=files, removed=stale, info={
        "seconds": round(seconds, 2), "models": list(records), "quantize": variants,
        "opset": opset, "c_student": c_student is not None})


def _log_records(records: dict[str, ExportedModel]) -> None:
    """One progress line per graph; a rejected variant is a warning (shown even with --quiet)."""
    for stem, record in records.items():
        if record.parity is not None:
            worst = max(record.parity.max_abs_diff_batch1, record.parity.max_abs_diff_full_batch)
            _log.info(f"{stem}.onnx: {record.nodes} nodes ({record.nodes_before_fold} before "
                      f"folding), {record.macs} MACs, parity max |Δp| {worst:.2g}")
            continue
        line = (f"{stem}.onnx: {record.file_bytes} bytes, accuracy {record.metrics.accuracy:.4f}, "
                f"agreement with fp32 {record.agreement_fp32:.4f} → {record.verdict}")
        if record.reason:
            _log.warning(f"{line}: {record.reason}")
        else:
            _log.info(line)


def _default_opset(model: onnx.ModelProto) -> int:
    return next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
