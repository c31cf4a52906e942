"""`kdedge distill`: data → teacher → feature ranking → KD student (and a no-KD baseline) → run dir.

Top to bottom: `prepare` loads and splits the data and picks the positive class; `train_teacher`
and `train_student` train and score one model each (callable in a loop); `kdedge.baselines` fits
the scikit-learn references on the same split; `paired_comparisons` judges every pair row by row
(`kdedge.verdicts`); the `*_record` builders turn the results into the records of
`kdedge.contract`; `distill` runs them in order and `_write_run` commits the directory.
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
from kdedge.baselines import Baseline, fit_baselines
from kdedge.contract import (BASELINES, CALIBRATION_ROWS, MODEL_NAMES, STUDENT_ALL_FEATURES,
                             BaselineMetrics, DataInfo, History, KDConfig, Manifest, Metrics,
                             ModelMetrics, ModelsFile, PairedComparison, Preprocessing,
                             SplitClassCounts, SplitSizes, StudentConfig, TeacherConfig,
                             TrainingHistory, write_record)
from kdedge.data import (SPLIT_PARAMETERS, Classes, Dataset, Split, dataset_name, load_dataset,
                         positive_class, split_dataset, summarise)
from kdedge.fold import fold_model
from kdedge.log import get_logger
from kdedge.metrics import agreement, classification_metrics, extend
from kdedge.models import build_model, count_params, default_rank, weight_bytes
from kdedge.params import Flag, Optional, Real, Text, Whole, WholeList, check_params
from kdedge.ranking import rank_features
from kdedge.rundir import KdedgeError
from kdedge.train import Progress, TrainConfig, fit, kd_loss, predict_logits
from kdedge.verdicts import bootstrap_weights, paired_accuracy, paired_pr_auc, paired_recall

DEFAULT_FEATURES = 6  # k, as in the seed report (6 of 13)
PACKAGES = ("torch", "numpy", "scikit-learn", "pandas", "pyarrow", "safetensors", "onnx",
            "onnxruntime", "onnxscript", "matplotlib", "fire")
PARAMETERS = {
    "data": Optional(Text()), "target": Optional(Text()), "features": Optional(Whole(1)),
    "positive": Optional(Text()),
    "out": Optional(Text()), "force": Flag(), "seed": Whole(0), **SPLIT_PARAMETERS,
    "teacher_hidden": WholeList(1), "rank": Optional(Whole(1)), "student_hidden": WholeList(1),
    "temperature": Real(0, None, closed="neither"), "alpha": Real(0, 1),
    "max_epochs": Whole(1), "patience": Whole(1),
    "batch_size": Whole(2),  # BatchNorm needs two rows
    "lr": Real(0, None, closed="neither"), "runs_root": Text(), "threads": Whole(1),
}
# The paired verdicts distill records, (a, b): a is the reference, b the model judged, so
# "b_worse" always reads "b is significantly worse than a". Baselines and the teacher are the
# references of the models distilled from or compared with them.
TEACHER_CHECK = ("majority", "teacher", "accuracy")  # Metrics.teacher_useful
ACCURACY_PAIRS = (
    ("majority", "teacher"), ("logreg_k", "teacher"), ("logreg_all", "teacher"),
    ("hgb_all", "teacher"),
    ("teacher", "student"), ("teacher", "student_no_kd"), ("student_no_kd", "student"),
    ("teacher", STUDENT_ALL_FEATURES), (STUDENT_ALL_FEATURES, "student"),
    ("majority", "student"), ("logreg_k", "student"), ("logreg_all", "student"),
    ("hgb_all", "student"),
)
# binary data: positive-class recall and PR-AUC, where a loss can hide behind flat accuracy
POSITIVE_PAIRS = (("teacher", "student"), ("student_no_kd", "student"))
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
def _torch_threads(threads: int):
    """torch's intra-op thread count for one run (recorded in run.json), restored on exit."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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


def _score(model: torch.nn.Module, history: dict, split: Split, index: list[int],
           classes: Classes) -> Trained:
    """Test metrics on the stored float32 test rows (what export and the report re-score) plus
    static cost: params, MACs of the folded inference graph, weight bytes."""
    scaler = split.scaler.subset(index)
    X_test = split.X_test[:, index].astype(np.float32)  # exactly the rows split.npz stores
    proba = probabilities(model, X_test, scaler)
    folded = fold_model(model, scaler)
    quality = classification_metrics(split.y_test, proba, class_names=classes.names,
                                     positive=classes.positive)
    metrics = extend(
        quality, ModelMetrics, params=count_params(model), macs=folded.macs,
        flops=2 * folded.macs, macs_unfolded=folded.macs_before, weight_bytes=weight_bytes(model),
        n_features=model.config.n_features, best_epoch=history["best_epoch"])
    return Trained(model=model, history=TrainingHistory(**history), probabilities=proba,
                   metrics=metrics)


def training_bytes(n_features: int, *, teacher_hidden: list[int], rank: int | None) -> int:
    """About the memory training n features needs beyond the table: float32 weights, gradients
    and two AdamW moments (16 bytes a parameter) of the layers that grow with n, the teacher's
    first (n x hidden[0]) and the all-features student's factors (n x its rank, 2n/3 by default:
    quadratic in n)."""
    return 16 * n_features * (teacher_hidden[0] + (rank or default_rank(n_features)))


def prepare(data: str | None, *, target: str | None, features: int | None,
            positive: str | None, test_size: float, val_size: float, seed: int,
            teacher_hidden: list[int] = (256, 128),
            rank: int | None = None) -> tuple[Dataset, Split, int, Classes]:
    """Load, validate and split the data; resolve k (`features`) against the columns and the
    positive class (`positive`, else the training split's minority class) against the labels.
    A table too large to train on with `teacher_hidden` and `rank` is refused before it is read.

    Returns:
        (dataset, split, k, classes); `features=None` means DEFAULT_FEATURES, or every column
        when the data has fewer.
    """
    ds = load_dataset(data, target=target, training_bytes=lambda n: training_bytes(
        n, teacher_hidden=list(teacher_hidden), rank=rank))
    n = len(ds.feature_names)
    k = min(DEFAULT_FEATURES, n) if features is None else features
    if not 1 <= k <= n:
        dropped = summarise(ds.dropped_constant) if ds.dropped_constant else "none"
        raise KdedgeError(
            f"--features {features} is out of range: the data has {n} usable feature columns "
            f"(constant columns dropped: {dropped}); choose 1..{n}"
        )
    split = split_dataset(ds, test_size=test_size, val_size=val_size, seed=seed)
    return ds, split, k, positive_class(ds.class_names, split.y_train, positive)


def train_teacher(split: Split, classes: Classes, *, hidden: list[int], train: TrainConfig,
                  seed: int) -> Trained:
    """Train the teacher MLP on all features; early-stopped on validation cross-entropy."""
    config = TeacherConfig(n_features=split.X_train.shape[1], n_classes=len(classes.names),
                           hidden=list(hidden))
    with _seeded(seed):
        model = build_model(config)
        history = fit(model, split.scaler.transform(split.X_train), split.y_train,
                      split.scaler.transform(split.X_val), split.y_val, config=train, seed=seed,
                      loss_fn=lambda logits, y, _aux: torch.nn.functional.cross_entropy(logits, y),
                      progress=Progress("teacher"))
    return _score(model, history, split, list(range(config.n_features)), classes)


def train_student(split: Split, teacher: torch.nn.Module, selected_index: list[int],
                  classes: Classes, *, rank: int, hidden: list[int], kd: KDConfig,
                  train: TrainConfig, seed: int, label: str = "student") -> Trained:
    """Distil the teacher into a factorized student that reads only `selected_index` features.

    The teacher (eval mode, no gradients) sees all features; the student sees its k columns.
    `kd.alpha = 1` trains the same student on the labels alone (the no-KD baseline).
    """
    sel = list(selected_index)
    X_train, X_val = split.scaler.transform(split.X_train), split.scaler.transform(split.X_val)
    teacher.eval()
    teacher_train, teacher_val = predict_logits(teacher, X_train), predict_logits(teacher, X_val)
    config = StudentConfig(n_features=len(sel), n_classes=len(classes.names), rank=rank,
                           hidden=list(hidden))

    def loss_fn(logits, y, teacher_logits):
        return kd_loss(logits, teacher_logits, y, temperature=kd.temperature, alpha=kd.alpha)

    with _seeded(seed):  # same seed → same initial weights for the KD and no-KD students
        model = build_model(config)
        history = fit(model, X_train[:, sel], split.y_train, X_val[:, sel], split.y_val,
                      config=train, seed=seed, loss_fn=loss_fn, aux_train=teacher_train,
                      aux_val=teacher_val, progress=Progress(label))
    return _score(model, history, split, sel, classes)


def train_students(split: Split, teacher: torch.nn.Module, selected_index: list[int],
                   classes: Classes, *, rank: int | None, hidden: list[int], kd: KDConfig,
                   train: TrainConfig, seed: int) -> dict[str, Trained]:
    """The KD student and the no-KD student on the k selected features, and the KD student's
    architecture on every feature (`student_all_features`, scored only): if it matches the
    teacher where the k-feature student does not, k is too small; if it loses too, the student
    is. Its rank is `rank` when given, else default_rank of its own inputs (the same rule)."""
    every = list(range(split.X_train.shape[1]))
    plans = (("student", selected_index, kd),
             ("student_no_kd", selected_index, KDConfig(kd.temperature, 1.0)),
             (STUDENT_ALL_FEATURES, every, kd))
    return {label: train_student(split, teacher, index, classes,
                                 rank=rank or default_rank(len(index)), hidden=hidden, kd=config,
                                 train=train, seed=seed, label=label)
            for label, index, config in plans}


def data_record(ds: Dataset, split: Split, classes: Classes) -> DataInfo:
    """metrics.json's `data`: where the data came from, its classes and positive class, and the
    split sizes and class counts."""
    n_classes = len(ds.class_names)
    return DataInfo(
        source=ds.source, name=ds.name, target=ds.target, rows=int(len(ds.y)),
        features=len(ds.feature_names), classes=n_classes, class_names=ds.class_names,
        class_counts=np.bincount(ds.y, minlength=n_classes).tolist(),
        split=SplitSizes(train=int(len(split.y_train)), val=int(len(split.y_val)),
                         test=int(len(split.y_test))),
        split_class_counts=SplitClassCounts(**split.class_counts(n_classes)),
        positive_class=classes.positive_name, positive_rule=classes.rule,
        sha256=ds.sha256, dropped_constant=ds.dropped_constant)


def paired_comparisons(y_test: np.ndarray, predictions: dict[str, np.ndarray], classes: Classes,
                       *, seed: int) -> list[PairedComparison]:
    """Every pair of ACCURACY_PAIRS (and, for binary data, of POSITIVE_PAIRS: positive-class
    recall and PR-AUC) compared row by row on the test split, all on one set of seeded
    bootstrap resamples."""
    resamples = bootstrap_weights(len(y_test), seed=seed)
    labels = {name: proba.argmax(axis=1) for name, proba in predictions.items()}
    found = [paired_accuracy(y_test, labels[a], labels[b], a=a, b=b, weights=resamples)
             for a, b in ACCURACY_PAIRS]
    positive = classes.positive
    for a, b in POSITIVE_PAIRS if positive is not None else ():
        found.append(paired_recall(y_test, labels[a], labels[b], positive, a=a, b=b,
                                   weights=resamples))
        found.append(paired_pr_auc(y_test, predictions[a][:, positive],
                                   predictions[b][:, positive], positive, a=a, b=b,
                                   weights=resamples))
    return [comparison for comparison in found if comparison is not None]


def teacher_is_useful(comparisons: list[PairedComparison]) -> bool:
    """The teacher is significantly more accurate than the majority class (paired)."""
    return next(c for c in comparisons if (c.a, c.b, c.metric) == TEACHER_CHECK).verdict == \
        "b_better"


def _interval(c: PairedComparison) -> str:
    p_value = "" if c.p_value is None else f", McNemar p = {c.p_value:.2g}"
    return (f"{c.value_b:.4f} vs {c.value_a:.4f}, paired 95% interval of the difference "
            f"[{100 * c.ci_low:+.2f}, {100 * c.ci_high:+.2f}] pt{p_value}")


def model_warnings(models: dict[str, ModelMetrics | BaselineMetrics],
                   comparisons: list[PairedComparison], classes: Classes) -> list[str]:
    """Problems worth stopping for, in the order a user should read them: a teacher no better
    than the majority class, a baseline better than the teacher, a model predicting one class."""
    found = []
    by_pair = {(c.a, c.b, c.metric): c for c in comparisons}
    useful = by_pair[TEACHER_CHECK]
    if not teacher_is_useful(comparisons):
        found.append(
            "the teacher is not significantly more accurate than always predicting the majority "
            f"class ({_interval(useful)}): it learned nothing useful from these features; check "
            "the target column and the features before trusting the students")
    for name in BASELINES[1:]:
        beaten = by_pair[name, "teacher", "accuracy"]
        if beaten.verdict == "b_worse":
            found.append(f"baseline {name} ({models[name].description}) is significantly more "
                         f"accurate than the teacher (teacher {_interval(beaten)}); consider it "
                         "instead, or a larger or longer-trained teacher")
    for name in MODEL_NAMES:
        metrics = models[name]
        if metrics.predicted_classes == 1:
            column = int(np.argmax(np.sum(metrics.confusion_matrix, axis=0)))
            found.append(f"{name} predicts one class ({classes.names[column]!r}) for every test "
                         f"row (balanced accuracy {metrics.balanced_accuracy:.3f})")
    return found


def metrics_record(trained: dict[str, Trained], baselines: dict[str, Baseline], ranking: dict,
                   data: DataInfo, comparisons: list[PairedComparison],
                   classes: Classes) -> Metrics:
    """metrics.json from the trained models, the baselines, the paired verdicts (agreement on
    the test split) and the ranking; the warnings of `model_warnings`."""
    labels = {name: t.probabilities.argmax(1) for name, t in trained.items()}
    models = {**{name: t.metrics for name, t in trained.items()},
              **{name: b.metrics for name, b in baselines.items()}}
    agree = agreement(labels["teacher"], labels["student"])
    return Metrics(
        teacher=models["teacher"], student=models["student"],
        student_no_kd=models["student_no_kd"],
        student_all_features=models[STUDENT_ALL_FEATURES],
        baselines={name: b.metrics for name, b in baselines.items()}, comparisons=comparisons,
        teacher_useful=teacher_is_useful(comparisons),
        warnings=model_warnings(models, comparisons, classes),
        agreement=agree, disagreement=1.0 - agree,
        agreement_no_kd=agreement(labels["teacher"], labels["student_no_kd"]),
        kd_gain=models["student"].accuracy - models["student_no_kd"].accuracy,
        selected_features=list(ranking["selected"]),
        feature_importance=ranking["importance"], feature_importance_std=ranking["importance_std"],
        importance_method=ranking["method"], data=data)


def evaluate(trained: dict[str, Trained], ds: Dataset, split: Split, classes: Classes,
             ranking: dict, selected_index: list[int], *,
             seed: int) -> tuple[Metrics, dict[str, np.ndarray]]:
    """Fit the baselines, judge every pair row by row, build metrics.json and log its warnings.

    Returns:
        (metrics.json's record, predictions.npz's arrays: every model's and baseline's
        test-split probabilities)
    """
    baselines = fit_baselines(split, selected_index, classes, seed=seed)
    predictions = {**{name: t.probabilities for name, t in trained.items()},
                   **{name: b.probabilities for name, b in baselines.items()}}
    comparisons = paired_comparisons(split.y_test, predictions, classes, seed=seed)
    metrics = metrics_record(trained, baselines, ranking, data_record(ds, split, classes),
                             comparisons, classes)
    for warning in metrics.warnings:
        _log.warning(warning)  # shown even with --quiet
    return metrics, predictions


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
    """The run directory to write, checked before any work (`rundir.prepare_output_dir`): --out,
    else a fresh runs/<time>-<name>[-2, -3…]."""
    if out is not None:
        return rundir.prepare_output_dir(Path(out), force=force)
    run_id = rundir.new_run_id(name)
    out_dir, n = Path(runs_root) / run_id, 1
    while out_dir.exists():
        n += 1
        out_dir = Path(runs_root) / f"{run_id}-{n}"
    return rundir.prepare_output_dir(out_dir, force=False)


@contextlib.contextmanager
def _claimed(out: str | None, runs_root: str, name: str, force: bool):
    """The run directory, checked, under its writer lock (`rundir.stage_lock`) until distill has
    committed it: a second distill to the same --out fails at once instead of replacing this
    one's run. Checked again under the lock; a successful run removes killed runs' debris."""
    out_dir = _out_dir(out, runs_root, name, force)
    with rundir.stage_lock(out_dir, stage="distill"):
        rundir.prepare_output_dir(out_dir, force=force)
        yield out_dir
        rundir.clean_debris(out_dir)


def _write_run(out_dir: Path, *, models: dict[str, torch.nn.Module],
               predictions: dict[str, np.ndarray], split: Split, ds: Dataset,
               records: list[contract.Record], manifest: Manifest, seed: int) -> None:
    """Build the whole run directory in a staging folder, record every sha256, then commit."""
    calib = np.random.default_rng(seed).permutation(len(split.y_train))[:CALIBRATION_ROWS]
    blobs = {contract.weights_file(name): save_safetensors(model.state_dict())
             for name, model in models.items()}
    blobs[contract.SPLIT_NPZ] = _npz_bytes(
        X_val=split.X_val.astype(np.float32), y_val=split.y_val,
        X_test=split.X_test.astype(np.float32), y_test=split.y_test,
        X_calib=split.X_train[calib].astype(np.float32),
        feature_names=np.array(ds.feature_names, dtype=str),
        class_names=np.array(ds.class_names, dtype=str))
    blobs[contract.PREDICTIONS_NPZ] = _npz_bytes(**predictions)
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


def run_records(trained: dict[str, Trained], metrics: Metrics, preprocessing: Preprocessing,
                kd: KDConfig) -> list[contract.Record]:
    """metrics.json, preprocessing.json, models.json and history.json of the saved models."""
    configs = {name: trained[name].model.config for name in MODEL_NAMES}
    return [metrics, preprocessing, ModelsFile(**configs, kd=kd),
            History(**{name: trained[name].history for name in MODEL_NAMES})]


def manifest_record(out_dir: Path, *, seed: int, config: dict, started: float) -> Manifest:
    """run.json before its artifacts' sha256 are filled in (`_write_run` does that)."""
    return Manifest(
        kdedge_version=kdedge.__version__, run_id=out_dir.name, created=rundir.now_iso(),
        seed=seed, config=config, versions=_versions(), torch_threads=torch.get_num_threads(),
        artifacts={}, stages={"distill": {"finished": rundir.now_iso(),
                                          "seconds": round(time.perf_counter() - started, 2)}})


def distill(*, data: str | None = None, target: str | None = None, features: int | None = None,
            positive: str | None = None, out: str | None = None, force: bool = False,
            seed: int = 0, test_size: float = 0.2, val_size: float = 0.2,
            teacher_hidden: list[int] = (256, 128), rank: int | None = None,
            student_hidden: list[int] = (32,), temperature: float = 4.0, alpha: float = 0.5,
            max_epochs: int = 150, patience: int = 15, batch_size: int = 128, lr: float = 3e-3,
            runs_root: str = "runs", threads: int = 1) -> Path:
    """Train teacher, rank features, distil the k-feature student, fit the baselines and judge
    every pair row by row; write a new run directory.

    Args:
        positive: binary data: the positive class's label (default: the training split's
            minority class).
        threads: torch intra-op threads (models this small only spin a second one).

    Returns:
        The run directory (docs/run-dir.md lists what it holds).
    """
    started = time.perf_counter()
    teacher_hidden, student_hidden = list(teacher_hidden), list(student_hidden)
    check_params(PARAMETERS, locals())
    with _claimed(out, runs_root, dataset_name(data), force) as out_dir, _torch_threads(threads):
        ds, split, k, classes = prepare(data, target=target, features=features, positive=positive,
                                        test_size=test_size, val_size=val_size, seed=seed,
                                        teacher_hidden=teacher_hidden, rank=rank)
        config = dict(data=data, target=target, features=k, positive=positive, seed=seed,
                      test_size=test_size, val_size=val_size, teacher_hidden=teacher_hidden,
                      rank=rank, student_hidden=student_hidden, temperature=temperature,
                      alpha=alpha, max_epochs=max_epochs, patience=patience,
                      batch_size=batch_size, lr=lr)
        train_cfg = TrainConfig(max_epochs=max_epochs, patience=patience, batch_size=batch_size,
                                lr=lr)
        kd = KDConfig(temperature, alpha)

        _log.info(f"[1/4] teacher on {len(ds.feature_names)} features, {len(split.y_train)} "
                  "training rows")
        teacher = train_teacher(split, classes, hidden=teacher_hidden, train=train_cfg, seed=seed)
        _log.info("[2/4] ranking features (permutation importance)")
        ranking = rank_features(lambda X: probabilities(teacher.model, X, split.scaler),
                                split.X_val, split.y_val, ds.feature_names, seed=seed)
        ranking["selected"] = ranking["order"][:k]
        preprocessing = preprocessing_record(ds, split, ranking["selected"])
        _log.info(f"[3/4] students on {k} features (KD and no-KD) and on all "
                  f"{len(ds.feature_names)} features")
        trained = {"teacher": teacher, **train_students(
            split, teacher.model, preprocessing.selected_index, classes, rank=rank,
            hidden=student_hidden, kd=kd, train=train_cfg, seed=seed)}
        _log.info("[4/4] baselines (majority, logistic regressions, gradient boosting) and "
                  "paired verdicts")
        metrics, predictions = evaluate(trained, ds, split, classes, ranking,
                                        preprocessing.selected_index, seed=seed)
        _write_run(out_dir, models={name: trained[name].model for name in MODEL_NAMES},
                   predictions=predictions, split=split, ds=ds,
                   records=run_records(trained, metrics, preprocessing, kd),
                   manifest=manifest_record(out_dir, seed=seed, config=config, started=started),
                   seed=seed)
    _log.info(f"wrote {out_dir}  teacher acc {teacher.metrics.accuracy:.4f}  student acc "
              f"{metrics.student.accuracy:.4f}  agreement {metrics.agreement:.4f}  "
              f"({time.perf_counter() - started:.1f}s)")
    return out_dir
