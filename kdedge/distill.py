"""`kdedge distill`: data → teacher → feature ranking → KD student (and a no-KD baseline) → run dir.

Top to bottom: `prepare` loads and splits the data; `train_teacher` and `train_student` train and
score one model each (callable in a loop); the `*_record` builders turn the results into the
records of `kdedge.contract`; `distill` runs them in order and `_write_run` commits the directory.
"""

from __future__ import annotations

import contextlib
import io
import platform
import shutil
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as save_safetensors

import kdedge
from kdedge import contract, rundir
from kdedge.contract import (CALIBRATION_ROWS, DataInfo, History, KDConfig, Manifest, Metrics,
                             ModelMetrics, ModelsFile, Preprocessing, SplitSizes, StudentConfig,
                             TeacherConfig, TrainingHistory, write_record)
from kdedge.data import SPLIT_PARAMETERS, Dataset, Split, load_dataset, split_dataset
from kdedge.fold import fold_model
from kdedge.log import get_logger
from kdedge.metrics import agreement, classification_metrics
from kdedge.models import build_model, count_params, default_rank, weight_bytes
from kdedge.params import Flag, Optional, Real, Text, Whole, WholeList, check_params
from kdedge.ranking import rank_features
from kdedge.rundir import KdedgeError
from kdedge.train import Progress, TrainConfig, fit, kd_loss, predict_logits

DEFAULT_FEATURES = 6  # k, as in the seed report (6 of 13)
PACKAGES = ("torch", "numpy", "scikit-learn", "pandas", "pyarrow", "safetensors", "onnx",
            "onnxruntime", "onnxscript", "matplotlib", "fire")
PARAMETERS = {
    "data": Optional(Text()), "target": Optional(Text()), "features": Optional(Whole(1)),
    "out": Optional(Text()), "force": Flag(), "seed": Whole(0), **SPLIT_PARAMETERS,
    "teacher_hidden": WholeList(1), "rank": Optional(Whole(1)), "student_hidden": WholeList(1),
    "temperature": Real(0, None, closed="neither"), "alpha": Real(0, 1),
    "max_epochs": Whole(1), "patience": Whole(1),
    "batch_size": Whole(2),  # BatchNorm needs two rows
    "lr": Real(0, None, closed="neither"), "runs_root": Text(),
}
_log = get_logger("distill")


@dataclass
class Trained:
    """A trained model with its training curves, test-split probabilities and metrics."""

    model: torch.nn.Module
    history: TrainingHistory
    probabilities: np.ndarray  # [test rows, C], float64
    metrics: ModelMetrics


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def probabilities(model: torch.nn.Module, X_raw: np.ndarray, scaler: contract.Scaler) -> np.ndarray:
    """Class probabilities [rows, C] (float64) of a torch model on raw rows over its inputs."""
    return _softmax(predict_logits(model, scaler.transform(X_raw)))


@contextlib.contextmanager
def _seeded(seed: int):
    """torch's global RNG seeded for model initialisation and deterministic kernels on, both
    restored on exit: a library call leaves no process-wide state behind."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _score(model: torch.nn.Module, history: dict, split: Split, index: list[int]) -> Trained:
    """Test metrics on the stored float32 test rows (what export and the report re-score) plus
    static cost: params, MACs of the folded inference graph, weight bytes."""
    scaler = split.scaler.subset(index)
    X_test = split.X_test[:, index].astype(np.float32)  # exactly the rows split.npz stores
    proba = probabilities(model, X_test, scaler)
    folded = fold_model(model, scaler)
    metrics = ModelMetrics(
        **classification_metrics(split.y_test, proba), params=count_params(model),
        macs=folded.macs, flops=2 * folded.macs, macs_unfolded=folded.macs_before,
        weight_bytes=weight_bytes(model), n_features=model.config.n_features,
        best_epoch=history["best_epoch"])
    return Trained(model=model, history=TrainingHistory(**history), probabilities=proba,
                   metrics=metrics)


def prepare(data: str | None, *, target: str | None, features: int | None, test_size: float,
            val_size: float, seed: int) -> tuple[Dataset, Split, int]:
    """Load, validate and split the data; resolve k (`features`) against the columns.

    Returns:
        (dataset, split, k); `features=None` means DEFAULT_FEATURES, or every column when the
        data has fewer.
    """
    ds = load_dataset(data, target=target)
    n = len(ds.feature_names)
    k = min(DEFAULT_FEATURES, n) if features is None else features
    if not 1 <= k <= n:
        raise KdedgeError(
            f"--features {features} is out of range: the data has {n} usable feature columns "
            f"(constant columns dropped: {ds.dropped_constant or 'none'}); choose 1..{n}"
        )
    return ds, split_dataset(ds, test_size=test_size, val_size=val_size, seed=seed), k


def train_teacher(split: Split, n_classes: int, *, hidden: list[int], train: TrainConfig,
                  seed: int) -> Trained:
    """Train the teacher MLP on all features; early-stopped on validation cross-entropy."""
    config = TeacherConfig(n_features=split.X_train.shape[1], n_classes=n_classes,
                           hidden=list(hidden))
    with _seeded(seed):
        model = build_model(config)
        history = fit(model, split.scaler.transform(split.X_train), split.y_train,
                      split.scaler.transform(split.X_val), split.y_val, config=train, seed=seed,
                      loss_fn=lambda logits, y, _aux: torch.nn.functional.cross_entropy(logits, y),
                      progress=Progress("teacher"))
    return _score(model, history, split, list(range(config.n_features)))


def train_student(split: Split, teacher: torch.nn.Module, selected_index: list[int], *,
                  n_classes: int, rank: int, hidden: list[int], kd: KDConfig, train: TrainConfig,
                  seed: int, label: str = "student") -> Trained:
    """Distil the teacher into a factorized student that reads only `selected_index` features.

    The teacher (eval mode, no gradients) sees all features; the student sees its k columns.
    `kd.alpha = 1` trains the same student on the labels alone (the no-KD baseline).
    """
    sel = list(selected_index)
    X_train, X_val = split.scaler.transform(split.X_train), split.scaler.transform(split.X_val)
    teacher.eval()
    teacher_train, teacher_val = predict_logits(teacher, X_train), predict_logits(teacher, X_val)
    config = StudentConfig(n_features=len(sel), n_classes=n_classes, rank=rank, hidden=list(hidden))

    def loss_fn(logits, y, teacher_logits):
        return kd_loss(logits, teacher_logits, y, temperature=kd.temperature, alpha=kd.alpha)

    with _seeded(seed):  # same seed → same initial weights for the KD and no-KD students
        model = build_model(config)
        history = fit(model, X_train[:, sel], split.y_train, X_val[:, sel], split.y_val,
                      config=train, seed=seed, loss_fn=loss_fn, aux_train=teacher_train,
                      aux_val=teacher_val, progress=Progress(label))
    return _score(model, history, split, sel)


def data_record(ds: Dataset, split: Split) -> DataInfo:
    """metrics.json's `data`: where the data came from, its classes and the split sizes."""
    return DataInfo(
        source=ds.source, name=ds.name, target=ds.target, rows=int(len(ds.y)),
        features=len(ds.feature_names), classes=len(ds.class_names), class_names=ds.class_names,
        class_counts=np.bincount(ds.y, minlength=len(ds.class_names)).tolist(),
        split=SplitSizes(train=int(len(split.y_train)), val=int(len(split.y_val)),
                         test=int(len(split.y_test))),
        sha256=ds.sha256, dropped_constant=ds.dropped_constant)


def metrics_record(teacher: Trained, students: dict[str, Trained], ranking: dict,
                   data: DataInfo) -> Metrics:
    """metrics.json from the trained models (agreement on the test split) and the ranking."""
    teacher_labels = teacher.probabilities.argmax(1)
    student, no_kd = students["student"], students["student_no_kd"]
    agree = agreement(teacher_labels, student.probabilities.argmax(1))
    return Metrics(
        teacher=teacher.metrics, student=student.metrics, student_no_kd=no_kd.metrics,
        agreement=agree, disagreement=1.0 - agree,
        agreement_no_kd=agreement(teacher_labels, no_kd.probabilities.argmax(1)),
        kd_gain=student.metrics.accuracy - no_kd.metrics.accuracy,
        selected_features=list(ranking["selected"]),
        feature_importance=ranking["importance"], feature_importance_std=ranking["importance_std"],
        importance_method=ranking["method"], data=data)


def preprocessing_record(ds: Dataset, split: Split, selected: list[str]) -> Preprocessing:
    """preprocessing.json: every model's inputs (`selected` for the students) and the scaler."""
    return Preprocessing(
        target=ds.target, feature_names=ds.feature_names, selected_features=selected,
        selected_index=[ds.feature_names.index(name) for name in selected], scaler=split.scaler,
        class_names=ds.class_names, dropped_constant=ds.dropped_constant)


def _versions() -> dict:
    """Python, kdedge and the installed version of each of PACKAGES (None where absent)."""
    versions = {"python": platform.python_version(), "kdedge": kdedge.__version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _out_dir(out: str | None, runs_root: str, name: str, force: bool) -> Path:
    """The run directory to write: --out (checked), else a fresh runs/<time>-<name>[-2, -3…]."""
    if out is not None:
        return rundir.prepare_output_dir(Path(out), force=force)
    run_id = rundir.new_run_id(name)
    out_dir, n = Path(runs_root) / run_id, 1
    while out_dir.exists():
        n += 1
        out_dir = Path(runs_root) / f"{run_id}-{n}"
    return out_dir


def _write_run(out_dir: Path, *, models: dict[str, Trained], split: Split, ds: Dataset,
               records: list[contract.Record], manifest: Manifest, seed: int) -> None:
    """Build the whole run directory in a staging folder, record every sha256, then commit."""
    calib = np.random.default_rng(seed).permutation(len(split.y_train))[:CALIBRATION_ROWS]
    blobs = {contract.weights_file(name): save_safetensors(trained.model.state_dict())
             for name, trained in models.items()}
    blobs[contract.SPLIT_NPZ] = _npz_bytes(
        X_val=split.X_val.astype(np.float32), y_val=split.y_val,
        X_test=split.X_test.astype(np.float32), y_test=split.y_test,
        X_calib=split.X_train[calib].astype(np.float32),
        feature_names=np.array(ds.feature_names, dtype=str),
        class_names=np.array(ds.class_names, dtype=str))
    blobs[contract.PREDICTIONS_NPZ] = _npz_bytes(
        **{name: trained.probabilities for name, trained in models.items()})
    staged = rundir.staging_dir(out_dir)
    try:
        for name, blob in blobs.items():
            rundir.write_bytes_atomic(staged / name, blob)
        for record in records:
            write_record(staged / record.FILE, record)
        manifest.artifacts = {p.name: rundir.sha256_file(p) for p in sorted(staged.iterdir())}
        write_record(staged / contract.RUN_JSON, manifest)
        rundir.commit_dir(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def distill(*, data: str | None = None, target: str | None = None, features: int | None = None,
            out: str | None = None, force: bool = False, seed: int = 0,
            test_size: float = 0.2, val_size: float = 0.2,
            teacher_hidden: list[int] = (256, 128), rank: int | None = None,
            student_hidden: list[int] = (32,), temperature: float = 4.0, alpha: float = 0.5,
            max_epochs: int = 150, patience: int = 15, batch_size: int = 128, lr: float = 3e-3,
            runs_root: str = "runs") -> Path:
    """Train teacher, rank features, distil the k-feature student; write a new run directory.

    Returns:
        The run directory (docs/run-dir.md lists what it holds).
    """
    started = time.perf_counter()
    teacher_hidden, student_hidden = list(teacher_hidden), list(student_hidden)
    check_params(PARAMETERS, locals())
    ds, split, k = prepare(data, target=target, features=features, test_size=test_size,
                           val_size=val_size, seed=seed)
    config = dict(data=data, target=target, features=k, seed=seed, test_size=test_size,
                  val_size=val_size, teacher_hidden=teacher_hidden, rank=rank,
                  student_hidden=student_hidden, temperature=temperature, alpha=alpha,
                  max_epochs=max_epochs, patience=patience, batch_size=batch_size, lr=lr)
    out_dir = _out_dir(out, runs_root, ds.name, force)
    train_cfg = TrainConfig(max_epochs=max_epochs, patience=patience, batch_size=batch_size, lr=lr)
    n_classes, kd = len(ds.class_names), KDConfig(temperature, alpha)

    _log.info(f"[1/3] teacher on {len(ds.feature_names)} features, {len(split.y_train)} "
              "training rows")
    teacher = train_teacher(split, n_classes, hidden=teacher_hidden, train=train_cfg, seed=seed)
    _log.info("[2/3] ranking features (permutation importance)")
    ranking = rank_features(lambda X: probabilities(teacher.model, X, split.scaler), split.X_val,
                            split.y_val, ds.feature_names, seed=seed)
    ranking["selected"] = ranking["order"][:k]
    preprocessing = preprocessing_record(ds, split, ranking["selected"])
    _log.info(f"[3/3] students on {k} features: KD and the no-KD baseline")
    students = {label: train_student(
        split, teacher.model, preprocessing.selected_index, n_classes=n_classes,
        rank=rank or default_rank(k), hidden=student_hidden, kd=kd_config, train=train_cfg,
        seed=seed, label=label)
        for label, kd_config in (("student", kd), ("student_no_kd", KDConfig(temperature, 1.0)))}

    models = {"teacher": teacher, **students}
    metrics = metrics_record(teacher, students, ranking, data_record(ds, split))
    records = [metrics, preprocessing,
               ModelsFile(teacher=teacher.model.config, student=students["student"].model.config,
                          student_no_kd=students["student_no_kd"].model.config, kd=kd),
               History(**{name: trained.history for name, trained in models.items()})]
    manifest = Manifest(
        kdedge_version=kdedge.__version__, run_id=out_dir.name, created=rundir.now_iso(),
        seed=seed, config=config, versions=_versions(), torch_threads=torch.get_num_threads(),
        artifacts={}, stages={"distill": {"finished": rundir.now_iso(),
                                          "seconds": round(time.perf_counter() - started, 2)}})
    _write_run(out_dir, models=models, split=split, ds=ds, records=records, manifest=manifest,
               seed=seed)
    _log.info(f"wrote {out_dir}  teacher acc {teacher.metrics.accuracy:.4f}  student acc "
              f"{metrics.student.accuracy:.4f}  agreement {metrics.agreement:.4f}  "
              f"({time.perf_counter() - started:.1f}s)")
    return out_dir
