"""`kdedge distill`: data → teacher → feature ranking → KD student (and a no-KD baseline) → run dir.

The stage is split into functions a budget search can call in a loop: `prepare` and
`train_teacher` once, then `train_student` per candidate (k, rank, hidden) — each a few seconds.
"""

from __future__ import annotations

import io
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as save_safetensors

import kdedge
from kdedge import rundir
from kdedge.data import Dataset, Split, load_dataset, split_dataset
from kdedge.fold import fold_model
from kdedge.metrics import agreement, classification_metrics
from kdedge.models import (StudentConfig, TeacherConfig, build_model, count_params, default_rank,
                           weight_bytes)
from kdedge.ranking import rank_features
from kdedge.rundir import KdedgeError
from kdedge.train import Progress, TrainConfig, fit, kd_loss, predict_logits

DEFAULT_FEATURES = 6  # k, as in the seed report (6 of 13)
CALIBRATION_ROWS = 1024  # training rows kept in split.npz for INT8 static calibration
PACKAGES = ("torch", "numpy", "scikit-learn", "pandas", "pyarrow", "safetensors", "onnx",
            "onnxruntime", "onnxscript", "matplotlib", "fire")


@dataclass
class KDConfig:
    """Hinton KD: soft targets at `temperature`; `alpha` weighs the hard-label cross-entropy."""

    temperature: float = 4.0
    alpha: float = 0.5


@dataclass
class Trained:
    """A trained model with its training curves, test-split probabilities and metrics."""

    model: torch.nn.Module
    history: dict
    probabilities: np.ndarray  # [test rows, C]
    metrics: dict


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def _evaluate(model: torch.nn.Module, history: dict, X_test: np.ndarray, y_test: np.ndarray,
              mean: np.ndarray, scale: np.ndarray) -> Trained:
    """Test metrics plus static cost: params, MACs of the folded inference graph, weight bytes."""
    probabilities = _softmax(predict_logits(model, ((X_test - mean) / scale).astype(np.float32)))
    folded = fold_model(model, mean, scale)
    metrics = classification_metrics(y_test, probabilities)
    metrics.update({
        "params": count_params(model),
        "macs": folded.macs,  # per sample, of the exported (folded) graph
        "flops": 2 * folded.macs,  # FLOPs = 2 × multiply-accumulates
        "macs_unfolded": folded.macs_before,
        "weight_bytes": weight_bytes(model),
        "n_features": model.config.n_features,
        "best_epoch": history["best_epoch"],
    })
    return Trained(model=model, history=history, probabilities=probabilities, metrics=metrics)


def prepare(data: str | None, *, target: str | None, features: int | None, test_size: float,
            val_size: float, seed: int) -> tuple[Dataset, Split, int]:
    """Load, validate and split the data; resolve k (`features`) against the columns.

    Returns:
        (dataset, split, k); `features=None` means DEFAULT_FEATURES, or every column when the
        data has fewer.
    """
    if features is not None and (isinstance(features, bool) or not isinstance(features, int)):
        raise KdedgeError(f"--features must be a whole number, got {features!r}")
    ds = load_dataset(data, target=target)
    n = len(ds.feature_names)
    k = min(DEFAULT_FEATURES, n) if features is None else features
    if not 1 <= k <= n:
        raise KdedgeError(
            f"--features {features} is out of range: the data has {n} usable feature columns "
            f"(constant columns dropped: {ds.dropped_constant or 'none'}); choose 1..{n}"
        )
    return ds, split_dataset(ds, test_size=test_size, val_size=val_size, seed=seed), k


def _check_arguments(*, seed, temperature, alpha, rank, max_epochs, patience, batch_size,
                     lr) -> None:
    """Refuse bad hyper-parameters before any work, naming the flag and the valid range."""
    def whole(name, value, low):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise KdedgeError(f"--{name} must be a whole number >= {low}, got {value!r}")

    def number(name, value, ok, what):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            raise KdedgeError(f"--{name} must be {what}, got {value!r}")

    whole("seed", seed, 0)
    whole("max_epochs", max_epochs, 1)
    whole("patience", patience, 1)
    whole("batch_size", batch_size, 2)  # BatchNorm needs two rows
    if rank is not None:
        whole("rank", rank, 1)
    number("temperature", temperature, lambda v: v > 0, "a number > 0")
    number("alpha", alpha, lambda v: 0 <= v <= 1,
           "a number in [0, 1] (the weight of the hard-label loss)")
    number("lr", lr, lambda v: v > 0, "a number > 0")


def train_teacher(split: Split, n_classes: int, *, hidden: list[int], train: TrainConfig,
                  seed: int, quiet: bool = True) -> Trained:
    """Train the teacher MLP on all features; early-stopped on validation cross-entropy."""
    _seed_everything(seed)
    config = TeacherConfig(n_features=split.X_train.shape[1], n_classes=n_classes,
                           hidden=list(hidden))
    model = build_model(config)
    history = fit(model, split.scaled(split.X_train), split.y_train, split.scaled(split.X_val),
                  split.y_val, config=train, seed=seed,
                  loss_fn=lambda logits, y, _aux: torch.nn.functional.cross_entropy(logits, y),
                  progress=Progress("teacher", quiet=quiet))
    return _evaluate(model, history, split.X_test, split.y_test, split.mean, split.scale)


def train_student(split: Split, teacher: torch.nn.Module, selected_index: list[int], *,
                  n_classes: int, rank: int, hidden: list[int], kd: KDConfig, train: TrainConfig,
                  seed: int, label: str = "student", quiet: bool = True) -> Trained:
    """Distil the teacher into a factorized student that reads only `selected_index` features.

    The teacher (eval mode, no gradients) sees all features; the student sees its k columns.
    `kd.alpha = 1` trains the same student on the labels alone (the no-KD baseline).
    """
    _seed_everything(seed)  # same seed → same initial weights for the KD and no-KD students
    sel = list(selected_index)
    X_train, X_val = split.scaled(split.X_train), split.scaled(split.X_val)
    teacher.eval()
    teacher_train, teacher_val = predict_logits(teacher, X_train), predict_logits(teacher, X_val)
    config = StudentConfig(n_features=len(sel), n_classes=n_classes, rank=rank, hidden=list(hidden))
    model = build_model(config)

    def loss_fn(logits, y, teacher_logits):
        return kd_loss(logits, teacher_logits, y, temperature=kd.temperature, alpha=kd.alpha)

    history = fit(model, X_train[:, sel], split.y_train, X_val[:, sel], split.y_val, config=train,
                  seed=seed, loss_fn=loss_fn, aux_train=teacher_train, aux_val=teacher_val,
                  progress=Progress(label, quiet=quiet))
    return _evaluate(model, history, split.X_test[:, sel], split.y_test, split.mean[sel],
                     split.scale[sel])


def _versions() -> dict:
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


def _log(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def distill(*, data: str | None = None, target: str | None = None, features: int | None = None,
            out: str | None = None, force: bool = False, seed: int = 0,
            test_size: float = 0.2, val_size: float = 0.2,
            teacher_hidden: tuple[int, ...] = (256, 128), rank: int | None = None,
            student_hidden: tuple[int, ...] = (32,), temperature: float = 4.0, alpha: float = 0.5,
            max_epochs: int = 150, patience: int = 15, batch_size: int = 128, lr: float = 3e-3,
            runs_root: str = "runs", quiet: bool = False) -> Path:
    """Train teacher, rank features, distil the k-feature student; write a new run directory.

    Returns:
        The run directory (docs/run-dir.md lists what it holds).
    """
    started = time.perf_counter()
    config = dict(data=data, target=target, features=features, seed=seed, test_size=test_size,
                  val_size=val_size, teacher_hidden=list(teacher_hidden), rank=rank,
                  student_hidden=list(student_hidden), temperature=temperature, alpha=alpha,
                  max_epochs=max_epochs, patience=patience, batch_size=batch_size, lr=lr)
    _check_arguments(seed=seed, temperature=temperature, alpha=alpha, rank=rank,
                     max_epochs=max_epochs, patience=patience, batch_size=batch_size, lr=lr)
    ds, split, features = prepare(data, target=target, features=features, test_size=test_size,
                                  val_size=val_size, seed=seed)
    config["features"] = features
    run_id = rundir.new_run_id(ds.name)
    if out is None:  # a fresh folder; two runs in the same second get -2, -3, …
        out_dir, n = Path(runs_root) / run_id, 1
        while out_dir.exists():
            n += 1
            out_dir = Path(runs_root) / f"{run_id}-{n}"
    else:
        out_dir = rundir.prepare_output_dir(Path(out), force=force)
    torch.use_deterministic_algorithms(True)
    train_cfg = TrainConfig(max_epochs=max_epochs, patience=patience, batch_size=batch_size, lr=lr)
    n_classes = len(ds.class_names)

    _log(f"[1/3] teacher on {len(ds.feature_names)} features, {len(split.y_train)} training rows",
         quiet)
    teacher = train_teacher(split, n_classes, hidden=list(teacher_hidden), train=train_cfg,
                            seed=seed, quiet=quiet)
    _log("[2/3] ranking features (permutation importance)", quiet)
    teacher_model = teacher.model

    def teacher_proba(X_raw: np.ndarray) -> np.ndarray:
        return _softmax(predict_logits(teacher_model, split.scaled(X_raw)))

    ranking = rank_features(teacher_proba, split.X_val, split.y_val, ds.feature_names, seed=seed)
    selected = ranking["order"][:features]
    selected_index = [ds.feature_names.index(name) for name in selected]
    student_rank = rank if rank is not None else default_rank(features)

    _log(f"[3/3] students on {features} features: KD and the no-KD baseline", quiet)
    students = {}
    for label, kd in (("student", KDConfig(temperature, alpha)),
                      ("student_no_kd", KDConfig(temperature, 1.0))):
        students[label] = train_student(split, teacher_model, selected_index, n_classes=n_classes,
                                        rank=student_rank, hidden=list(student_hidden), kd=kd,
                                        train=train_cfg, seed=seed, label=label, quiet=quiet)

    teacher_labels = teacher.probabilities.argmax(1)
    agree = agreement(teacher_labels, students["student"].probabilities.argmax(1))
    metrics = {
        "teacher": teacher.metrics,
        "student": students["student"].metrics,
        "student_no_kd": students["student_no_kd"].metrics,
        "agreement": agree,
        "disagreement": 1.0 - agree,
        "agreement_no_kd": agreement(teacher_labels,
                                     students["student_no_kd"].probabilities.argmax(1)),
        "kd_gain": students["student"].metrics["accuracy"]
        - students["student_no_kd"].metrics["accuracy"],
        "selected_features": selected,
        "feature_importance": ranking["importance"],
        "feature_importance_std": ranking["importance_std"],
        "importance_method": ranking["method"],
        "data": {
            "source": ds.source, "name": ds.name, "target": ds.target,
            "rows": int(len(ds.y)), "features": len(ds.feature_names),
            "classes": len(ds.class_names), "class_names": ds.class_names,
            "class_counts": np.bincount(ds.y, minlength=n_classes).tolist(),
            "split": {"train": int(len(split.y_train)), "val": int(len(split.y_val)),
                      "test": int(len(split.y_test))},
            "sha256": ds.sha256, "dropped_constant": ds.dropped_constant,
        },
    }
    models_json = {"teacher": asdict(teacher_model.config),
                   "student": asdict(students["student"].model.config),
                   "student_no_kd": asdict(students["student_no_kd"].model.config),
                   "kd": asdict(KDConfig(temperature, alpha))}
    preprocessing = {
        "target": ds.target, "feature_names": ds.feature_names, "selected_features": selected,
        "selected_index": selected_index,
        "scaler": {"mean": split.mean.tolist(), "scale": split.scale.tolist()},
        "class_names": ds.class_names, "dropped_constant": ds.dropped_constant,
    }
    history = {"teacher": teacher.history, **{k: v.history for k, v in students.items()}}
    calib = np.random.default_rng(seed).permutation(len(split.y_train))[:CALIBRATION_ROWS]

    staged = rundir.staging_dir(out_dir)
    try:
        files = {
            "teacher.safetensors": save_safetensors(teacher_model.state_dict()),
            "student.safetensors": save_safetensors(students["student"].model.state_dict()),
            "student_no_kd.safetensors": save_safetensors(
                students["student_no_kd"].model.state_dict()),
            "split.npz": _npz_bytes(
                X_val=split.X_val.astype(np.float32), y_val=split.y_val,
                X_test=split.X_test.astype(np.float32), y_test=split.y_test,
                X_calib=split.X_train[calib].astype(np.float32),
                feature_names=np.array(ds.feature_names, dtype=str),
                class_names=np.array(ds.class_names, dtype=str)),
        }
        for name, blob in files.items():
            rundir.write_bytes_atomic(staged / name, blob)
        for name, obj in (("metrics.json", metrics), ("models.json", models_json),
                          ("preprocessing.json", preprocessing), ("history.json", history)):
            rundir.write_json_atomic(staged / name, obj)
        artifacts = {p.name: rundir.sha256_file(p) for p in sorted(staged.iterdir())}
        manifest = {
            "run_format": rundir.RUN_FORMAT, "kdedge_version": kdedge.__version__,
            "run_id": out_dir.name, "created": rundir.now_iso(), "seed": seed,
            "config": config, "versions": _versions(),
            "torch_threads": torch.get_num_threads(), "artifacts": artifacts,
            "stages": {"distill": {"finished": rundir.now_iso(),
                                   "seconds": round(time.perf_counter() - started, 2)}},
        }
        rundir.write_json_atomic(staged / rundir.MANIFEST, manifest)
        rundir.commit_dir(staged, out_dir)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    _log(f"wrote {out_dir}  teacher acc {teacher.metrics['accuracy']:.4f}  student acc "
         f"{metrics['student']['accuracy']:.4f}  agreement {agree:.4f}  "
         f"({time.perf_counter() - started:.1f}s)", quiet)
    return out_dir
