"""`kdedge distill`: data → teacher → feature ranking → the smallest student that keeps the
teacher (and a no-KD twin) → baselines and paired verdicts → run dir.

Top to bottom: `prepare` loads and splits the data and picks the positive class;
`train_teacher` fits the MLP or GBDT teacher (kdedge.teacher); `train_all` ranks the features,
builds the students' training set (kdedge.student, with optional transfer rows), chooses the KD
student — searched (kdedge.search) or fixed — and trains its no-KD and all-features twins;
`evaluate` fits the scikit-learn references (kdedge.baselines) and judges every pair row by row
(kdedge.verdicts); the `*_record` builders turn the results into the records of
`kdedge.contract`; `distill` runs them in order and kdedge.run_files commits the directory. kdedge.evaluation
scores and judges (baselines, paired verdicts, metrics.json).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from scipy.special import softmax

from kdedge import contract, rundir
from kdedge.contract import (STREAM_CHOICES, STUDENT_ALL_FEATURES, TEACHER_KINDS,
                             TRANSFER_METHODS, KDConfig, ModelMetrics, Preprocessing, Search,
                             StudentConfig, TrainingHistory)
from kdedge.data import (SPLIT_PARAMETERS, Classes, Dataset, Split, dataset_name, load_dataset,
                         positive_class, split_dataset, summarise)
from kdedge.distributed import (LAUNCH_ENV, SINGLE, TIMEOUT_SECONDS, World, launch, process_group,
                                world_from_env)
from kdedge.evaluation import Trained, evaluate
from kdedge.fold import fold_model
from kdedge.log import ROOT as LOG_ROOT
from kdedge.log import get_logger
from kdedge.metrics import classification_metrics, extend
from kdedge.models import count_params, default_rank, weight_bytes
from kdedge.params import Flag, OneOf, Optional, Real, Text, Whole, WholeList, check_params
from kdedge.ranking import rank_features
from kdedge.reading import StreamedSplit, data_reading, load_streamed, read_mode
from kdedge.rundir import KdedgeError
from kdedge.run_files import claimed, manifest_record, out_dir_for, run_records, weight_blobs, \
    write_run
from kdedge.search import (SCREEN_ROWS, VAL_ROWS, Architecture, Fitted, Screening, fit_candidate,
                           fixed_student, make_judge, search_student)
from kdedge.sklearn_models import tree_arrays, trees_config
from kdedge.student import StreamedTrainingSet, TrainingSet, fit_student, training_set
from kdedge.teacher import FittedTeacher, Logits, batched, fit_gbdt, fit_mlp
from kdedge.train import TrainConfig, predict_logits, seeded

DEFAULT_FEATURES = 6  # k, as in the seed report (6 of 13)
PARAMETERS = {
    "data": Optional(Text()), "target": Optional(Text()), "no_header": Flag(),
    "features": Optional(Whole(1)), "positive": Optional(Text()),
    "out": Optional(Text()), "force": Flag(), "seed": Whole(0), **SPLIT_PARAMETERS,
    "teacher": OneOf(TEACHER_KINDS), "teacher_hidden": WholeList(1),
    "student": OneOf(("search", "fixed")), "rank": Optional(Whole(1)),
    "student_hidden": Optional(WholeList(1)), "fidelity": Real(0, 1, closed="right"),
    "search_seconds": Real(0, None), "transfer": OneOf(TRANSFER_METHODS),
    "temperature": Real(0, None, closed="neither"), "alpha": Real(0, 1),
    "max_epochs": Whole(1), "patience": Whole(1),
    "batch_size": Whole(2),  # BatchNorm needs two rows
    "lr": Real(0, None, closed="neither"), "runs_root": Text(), "threads": Whole(1),
    "stream": OneOf(STREAM_CHOICES), "nproc": Whole(1),
}
FIXED_HIDDEN = [32]  # the fixed-size student's head (--student fixed)
RANKING_ROWS = 20_000  # validation rows permutation importance uses at most (seeded subsample)
_log = get_logger("distill")


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row softmax in float64 (scipy's: exp(z − max) / sum)."""
    return softmax(np.asarray(logits, dtype=np.float64), axis=1)


def probabilities(model: torch.nn.Module, X_raw: np.ndarray, scaler: contract.Scaler) -> np.ndarray:
    """Class probabilities [rows, C] (float64) of a torch model on raw rows over its inputs."""
    return _softmax(batched(lambda X: predict_logits(model, scaler.transform(X)))(X_raw))


@contextlib.contextmanager
def _torch_threads(threads: int):
    """torch's intra-op thread count for one run (recorded in run.json), restored on exit."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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
        n_features=model.config.n_features, best_epoch=history["best_epoch"],
        family=model.config.kind if model.config.kind == "student" else "mlp")
    return Trained(model=model, history=TrainingHistory(**history), probabilities=proba,
                   metrics=metrics)


def _score_gbdt(teacher: FittedTeacher, split: Split, classes: Classes) -> Trained:
    """The GBDT teacher's test metrics; its cost is its nodes (params) and stored bytes: trees
    compare, they do not multiply (0 MACs)."""
    proba = np.asarray(teacher.model.predict_proba(split.X_test.astype(np.float32)),
                       dtype=np.float64)
    arrays = tree_arrays(teacher.model)
    config = trees_config(teacher.model, list(range(split.X_train.shape[1])))
    quality = classification_metrics(split.y_test, proba, class_names=classes.names,
                                      positive=classes.positive)
    metrics = extend(quality, ModelMetrics, params=config.nodes, macs=0, flops=0,
                     macs_unfolded=0, weight_bytes=sum(a.nbytes for a in arrays.values()),
                     n_features=config.n_features, best_epoch=teacher.history["best_epoch"],
                     family="gbdt")
    return Trained(model=teacher.model, history=TrainingHistory(**teacher.history),
                   probabilities=proba, metrics=metrics)


def training_bytes(n_features: int, *, teacher_hidden: list[int], rank: int | None) -> int:
    """About the memory training n features needs beyond the table: float32 weights, gradients
    and two AdamW moments (16 bytes a parameter) of the layers that grow with n, the teacher's
    first (n x hidden[0]) and the all-features student's factors (n x its rank, 2n/3 by default:
    quadratic in n)."""
    return 16 * n_features * (teacher_hidden[0] + (rank or default_rank(n_features)))


def prepare(data: str | None, *, target: str | None, features: int | None,
            positive: str | None, test_size: float, val_size: float, seed: int,
            no_header: bool = False,
            teacher_hidden: list[int] = (256, 128),
            rank: int | None = None,
            mode: str = "memory",
            hash_data: bool = True) -> tuple[Dataset, Split, int | None, Classes]:
    """Load, validate and split the data — whole (`mode` memory) or in one streaming pass
    (streamed, kdedge.reading) — check k (`features`) against the columns and resolve the
    positive class (`positive`, else the training split's minority class) against the labels.
    A table too large to hold and train on with `teacher_hidden` and `rank` is refused before
    it is read (in memory).

    Returns:
        (dataset, split, k or None (the search picks it), classes)
    """
    if mode == "streamed":
        ds, split = load_streamed(data, target=target, no_header=no_header,
                                  test_size=test_size, val_size=val_size, seed=seed,
                                  hash_data=hash_data)
    else:
        ds = load_dataset(data, target=target, no_header=no_header,
                          training_bytes=lambda n: training_bytes(
                              n, teacher_hidden=list(teacher_hidden), rank=rank))
    n = len(ds.feature_names)
    if features is not None and not 1 <= features <= n:
        dropped = summarise(ds.dropped_constant) if ds.dropped_constant else "none"
        raise KdedgeError(
            f"--features {features} is out of range: the data has {n} usable feature columns "
            f"(constant columns dropped: {dropped}); choose 1..{n}"
        )
    if mode != "streamed":
        split = split_dataset(ds, test_size=test_size, val_size=val_size, seed=seed)
    classes = positive_class(ds.class_names, split.y_train, positive,
                             train_counts=split.class_counts(len(ds.class_names))["train"])
    return ds, split, features, classes


def train_teacher(split: Split, classes: Classes, *, kind: str, hidden: list[int],
                  train: TrainConfig, seed: int, threads: int,
                  world: World = SINGLE) -> tuple[FittedTeacher, Trained | None]:
    """The teacher of `kind` (mlp or gbdt) on every feature, scored on the test split (by rank
    0; the other processes get None). The MLP trains on every process (DDP); every process
    fits the same GBDT (scikit-learn's is not distributed; same rows, same seed)."""
    if kind == "gbdt":
        teacher = fit_gbdt(split, seed=seed, threads=threads)
        return teacher, _score_gbdt(teacher, split, classes) if world.is_main else None
    with seeded(seed):
        teacher = fit_mlp(split, len(classes.names), hidden=hidden, train=train, seed=seed,
                          world=world)
    every = list(range(split.X_train.shape[1]))
    scored = _score(teacher.model, teacher.history, split, every, classes) if world.is_main \
        else None
    return teacher, scored


def _subsample(rows: int, limit: int, seed: int) -> np.ndarray | None:
    """A seeded sorted subsample of `limit` of `rows` row indices; None when rows <= limit."""
    if rows <= limit:
        return None
    return np.sort(np.random.default_rng(seed).permutation(rows)[:limit])


def full_training_set(split: Split, teacher: Logits, *, transfer: str, seed: int,
                      world: World) -> TrainingSet | StreamedTrainingSet:
    """Every training row the students learn from, shared by `world`'s processes: in memory
    with the teacher's logits computed once, or streamed with them computed as rows pass."""
    if not isinstance(split, StreamedSplit):
        return dataclasses.replace(training_set(split, teacher, transfer=transfer, seed=seed),
                                   world=world)
    return StreamedTrainingSet(stream=split.stream, teacher=teacher, scaler=split.scaler,
                               X_val=split.scaler.transform(split.X_val), y_val=split.y_val,
                               teacher_val=teacher(split.X_val), world=world)


def screening(split: Split, full: TrainingSet | StreamedTrainingSet, teacher: Logits,
              order: list[int], classes: Classes, *, kd: KDConfig, train: TrainConfig,
              seed: int, subsample: bool = True) -> Screening:
    """The rows the size search fits candidates on, in this process alone: the full training
    set when it is in memory and at most SCREEN_ROWS training and VAL_ROWS validation rows,
    else a seeded subsample of each (of the training sample when streamed; `refit`: the winner
    is refitted on every row, as it is whenever several processes train). Without `subsample` (a fixed student fits once, on every row and
    every process) the full training set itself."""
    if not subsample:
        return Screening(data=full, order=order, scaler=split.scaler,
                         n_classes=len(classes.names), positive=classes.positive, kd=kd,
                         train=train, seed=seed)
    train_rows = _subsample(len(split.y_train), SCREEN_ROWS, seed)
    val_rows = _subsample(len(split.y_val), VAL_ROWS, seed + 1)
    # several processes: rank 0 searches alone, and the winner is refitted by all of them like
    # its no-KD and all-features twins (the KD verdicts then compare like with like)
    refit = isinstance(full, StreamedTrainingSet) or full.world.is_distributed \
        or train_rows is not None or val_rows is not None
    data = training_set(split, teacher, transfer=full.transfer, seed=seed,
                        train_rows=train_rows, val_rows=val_rows) if refit \
        else dataclasses.replace(full, world=SINGLE)
    return Screening(data=data, order=order, scaler=split.scaler, n_classes=len(classes.names),
                     positive=classes.positive, kd=kd, train=train, seed=seed, refit=refit)


def choose_student(screen: Screening, full: TrainingSet | StreamedTrainingSet, *, plan: dict,
                   n_features: int, fixed_k: int | None,
                   world: World = SINGLE) -> tuple[Search | None, Fitted]:
    """The KD student: searched (plan["student"] == "search") by rank 0 alone and the winner's
    architecture broadcast; refitted on every training row by every process when the screening
    rows were a subsample or several processes train (`screen.refit`), else the winner's
    screening fit. Or of the fixed size plan gives, fitted on every training row by every
    process. The processes other than rank 0 get no search record."""
    if plan["student"] != "search":  # one fit, on every training row (screen.data is full)
        k = fixed_k or min(DEFAULT_FEATURES, n_features)
        arch = Architecture(k, plan["rank"] or default_rank(k), tuple(plan["student_hidden"]))
        return fixed_student(screen, arch, fidelity=plan["fidelity"])
    record = winner = None
    if world.is_main:
        record, winner = search_student(screen, n_features=n_features, fixed_k=fixed_k,
                                        fidelity=plan["fidelity"],
                                        budget_seconds=plan["search_seconds"])
        _log.info(record.message)
    k, rank, hidden = world.broadcast_json(
        [winner.arch.k, winner.arch.rank, list(winner.arch.hidden)] if world.is_main else None)
    arch = Architecture(k, rank, tuple(hidden))
    if not screen.refit:  # one process: its screening fit saw every training row
        return record, winner
    judge = make_judge(full, positive=screen.positive, fidelity=plan["fidelity"],
                       seed=screen.seed)
    refit = fit_candidate(arch, "refit", full, screen.order, screen.scaler, judge,
                          n_classes=screen.n_classes, kd=screen.kd, train=screen.train,
                          seed=screen.seed, label="student")
    if record is not None:
        record.candidates.append(refit.record)
    return record, refit


def train_students(split: Split, full: TrainingSet | StreamedTrainingSet, winner: Fitted,
                   order: list[int], classes: Classes, *, kd: KDConfig, train: TrainConfig,
                   seed: int, world: World = SINGLE) -> dict[str, Trained]:
    """The chosen KD student scored, the same student without KD (labels only) and its
    architecture on every feature (`student_all_features`, scored only: if it matches the
    teacher where the k-feature student does not, k is too small; if it loses too, the
    student is), its rank scaled by n/k. Every process trains; rank 0 scores (the others
    return {})."""
    n, arch = split.X_train.shape[1], winner.arch
    columns = order[:arch.k]
    trained = {"student": _score(winner.model, winner.history, split, columns, classes)} \
        if world.is_main else {}
    plans = (("student_no_kd", columns, arch.rank, KDConfig(kd.temperature, 1.0)),
             (STUDENT_ALL_FEATURES, order, math.ceil(arch.rank * n / arch.k), kd))
    for label, index, rank, config in plans:
        student = StudentConfig(n_features=len(index), n_classes=len(classes.names), rank=rank,
                                hidden=list(arch.hidden))
        with seeded(seed):  # same seed → same initial weights for the KD and no-KD students
            model, history = fit_student(full, index, student, kd=config, train=train, seed=seed,
                                         label=label)
        if world.is_main:
            trained[label] = _score(model, history, split, index, classes)
    return trained


def preprocessing_record(ds: Dataset, split: Split, selected: list[str]) -> Preprocessing:
    """preprocessing.json: every model's inputs (`selected` for the students) and the scaler."""
    return Preprocessing(
        target=ds.target, feature_names=ds.feature_names, selected_features=selected,
        selected_index=[ds.feature_names.index(name) for name in selected], scaler=split.scaler,
        class_names=ds.class_names, dropped_constant=ds.dropped_constant)


def distill(*, data: str | None = None, target: str | None = None, no_header: bool = False,
            features: int | None = None, positive: str | None = None, out: str | None = None,
            force: bool = False, seed: int = 0, test_size: float = 0.2, val_size: float = 0.2,
            teacher: str = "mlp", teacher_hidden: list[int] = (256, 128),
            student: str = "search", rank: int | None = None,
            student_hidden: list[int] | None = None, fidelity: float = 0.98,
            search_seconds: float = 60.0, transfer: str = "none", temperature: float = 4.0,
            alpha: float = 0.5, max_epochs: int = 150, patience: int = 15, batch_size: int = 128,
            lr: float = 3e-3, runs_root: str = "runs", threads: int = 1, stream: str = "auto",
            nproc: int = 1) -> Path | None:
    """Train the teacher, rank features, find and distil the smallest student that keeps the
    teacher (or a fixed-size one), fit the baselines and judge every pair row by row; write a
    new run directory.

    Args:
        no_header: the file has no header row: columns are col_0.., --target may be an index.
        features: k; None lets the size search pick it (fixed size: 6, or every column).
        positive: binary data: the positive class's label (default: the training split's
            minority class).
        teacher: mlp (the original report's) or gbdt (HistGradientBoostingClassifier).
        student: search (kdedge.search) or fixed; --rank or --student_hidden imply fixed.
        fidelity: validation agreement with the teacher the searched student must reach.
        search_seconds: wall-clock budget of the search's candidate fits.
        transfer: none, or munge: synthetic rows labelled by the teacher (kdedge.transfer).
        threads: torch intra-op threads per process (models this small only spin a second).
        stream: auto, on or off: read the data in record batches from disk (kdedge.reading).
        nproc: train on this many processes of this machine (torchrun, DDP; kdedge.distributed).
            Under torchrun itself the launcher's world size applies.

    Returns the run directory (docs/run-dir.md lists what it holds); None on the processes
    other than rank 0 of a distributed run, which write nothing, and on the processes `nproc`
    launched (the launching call returns it).
    """
    started = time.perf_counter()
    teacher_hidden = list(teacher_hidden)
    student_hidden = None if student_hidden is None else list(student_hidden)
    check_params(PARAMETERS, locals())
    args = SimpleNamespace(**{name: value for name, value in locals().items()
                              if name in PARAMETERS})
    mode = read_mode(data, stream)
    if mode == "streamed" and transfer != "none":
        raise KdedgeError(f"--transfer {transfer} makes synthetic rows from the training rows in "
                          "memory, but this data is streamed: drop --transfer, or --stream off")
    world = world_from_env()
    if nproc > 1 and not world.is_distributed and os.environ.get(LAUNCH_ENV) != "1":
        return _launch(args)
    with process_group(world, timeout_seconds=_collective_timeout(search_seconds)), \
            claimed(out, runs_root, dataset_name(data), force, world) as out_dir, \
            _torch_threads(threads), _main_logs_only(world):
        metrics = _distill_into(out_dir, args, mode=mode, world=world, started=started)
        # every process leaves the group together, once rank 0 has written the run: a rank
        # tearing gloo down while rank 0 still works was seen to abort at exit (2 in 31 runs)
        world.barrier()
    if metrics is None:
        return None  # not rank 0: it scored, judged and wrote
    _log.info(f"wrote {out_dir}  teacher acc {metrics.teacher.accuracy:.4f}  student acc "
              f"{metrics.student.accuracy:.4f}  agreement {metrics.agreement:.4f}  "
              f"({time.perf_counter() - started:.1f}s)")
    # a process `--nproc` launched leaves saying where the run is to the launcher
    return None if os.environ.get(LAUNCH_ENV) == "1" else out_dir


def _collective_timeout(search_seconds: float) -> float:
    """How long a process waits for its peers: the others wait while rank 0 searches alone,
    and the search may overrun its budget by a fit, so a long budget lengthens the wait."""
    return max(TIMEOUT_SECONDS, 2 * search_seconds + 600)


def _launch(args: SimpleNamespace) -> Path:
    """`--nproc N` outside torchrun: the run directory resolved here, then N processes of
    `kdedge distill` on this machine under torchrun (kdedge.distributed.launch)."""
    out_dir = out_dir_for(args.out, args.runs_root, dataset_name(args.data), args.force)
    flags = {name: value for name, value in vars(args).items()
             if name not in ("nproc", "runs_root")}  # --out is resolved: runs_root is not a flag
    launch({**flags, "out": str(out_dir)}, nproc=args.nproc, out=str(out_dir))
    return out_dir


def _distill_into(out_dir: Path | None, a: SimpleNamespace, *, mode: str, world: World,
                  started: float) -> contract.Metrics | None:
    """distill's work in this process: prepare, train (every process), then on rank 0 evaluate
    and write `out_dir`. Returns metrics.json's record (None off rank 0)."""
    plan = student_plan(a.student, rank=a.rank, student_hidden=a.student_hidden,
                        fidelity=a.fidelity, search_seconds=a.search_seconds)
    ds, split, k, classes = prepare(a.data, target=a.target, features=a.features,
                                    positive=a.positive, test_size=a.test_size,
                                    val_size=a.val_size, seed=a.seed, no_header=a.no_header,
                                    teacher_hidden=a.teacher_hidden, rank=a.rank, mode=mode,
                                    hash_data=world.is_main)
    trained, preprocessing, ranking, search, kd = train_all(
        ds, split, classes, k=k, plan=plan, teacher_kind=a.teacher,
        teacher_hidden=a.teacher_hidden, transfer=a.transfer,
        kd=KDConfig(a.temperature, a.alpha),
        train=TrainConfig(max_epochs=a.max_epochs, patience=a.patience,
                          batch_size=a.batch_size, lr=a.lr), seed=a.seed, threads=a.threads,
        world=world)
    if not world.is_main:
        return None
    config = dict(data=a.data, target=a.target, no_header=a.no_header,
                  features=len(preprocessing.selected_features),  # k as resolved
                  positive=a.positive, seed=a.seed, test_size=a.test_size, val_size=a.val_size,
                  teacher=a.teacher, teacher_hidden=a.teacher_hidden, **plan,
                  transfer=a.transfer, temperature=a.temperature, alpha=a.alpha,
                  max_epochs=a.max_epochs, patience=a.patience, batch_size=a.batch_size,
                  lr=a.lr, stream=a.stream)
    metrics, predictions, baselines = evaluate(trained, ds, split, classes, ranking,
                                               preprocessing.selected_index, search, seed=a.seed)
    manifest = manifest_record(out_dir, seed=a.seed, config=config, started=started,
                               reading=data_reading(mode, world, split))
    write_run(out_dir, blobs=weight_blobs(trained, baselines), predictions=predictions,
              split=split, ds=ds,
              records=run_records(trained, baselines, metrics, preprocessing, kd, search),
              manifest=manifest, seed=a.seed)
    return metrics


@contextlib.contextmanager
def _main_logs_only(world: World):
    """Progress lines from rank 0 only (every process runs the same stages); warnings from all."""
    logger = logging.getLogger(LOG_ROOT)
    level = logger.level
    if not world.is_main:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def student_plan(student: str, *, rank: int | None, student_hidden: list[int] | None,
                 fidelity: float, search_seconds: float) -> dict:
    """How the KD student's size is chosen: searched, or fixed when asked for or when --rank
    or --student_hidden is given (run.json's config records it)."""
    fixed = student == "fixed" or rank is not None or student_hidden is not None
    return dict(student="fixed" if fixed else "search", rank=rank, fidelity=fidelity,
                student_hidden=student_hidden or FIXED_HIDDEN, search_seconds=search_seconds)


def train_all(ds: Dataset, split: Split, classes: Classes, *, k: int | None, plan: dict,
              teacher_kind: str, teacher_hidden: list[int], transfer: str, kd: KDConfig,
              train: TrainConfig, seed: int, threads: int, world: World = SINGLE):
    """Teacher → ranking → the students' training set → the KD student (searched or fixed) →
    the no-KD and all-features students. Every process of `world` trains; rank 0 ranks the
    features and runs the search, and broadcasts both.

    Returns:
        (trained models by name ({} off rank 0), preprocessing.json, the ranking, search.json
        (None off rank 0), the KD settings with the transfer rows recorded)
    """
    names = ds.feature_names
    _log.info(f"[1/5] {teacher_kind} teacher on {len(names)} features, {split.n_train:,} "
              f"training rows{_processes(world)}")
    fitted, teacher = train_teacher(split, classes, kind=teacher_kind, hidden=teacher_hidden,
                                    train=train, seed=seed, threads=threads, world=world)
    logits = fitted.logits(split.scaler)
    _log.info("[2/5] ranking features (permutation importance)")
    ranking = None
    if world.is_main:
        val_rows = _subsample(len(split.y_val), RANKING_ROWS, seed + 2)
        X_rank, y_rank = ((split.X_val, split.y_val) if val_rows is None
                          else (split.X_val[val_rows], split.y_val[val_rows]))
        ranking = rank_features(lambda X: _softmax(logits(X)), X_rank, y_rank, names, seed=seed)
    ranking = world.broadcast_json(rundir.json_safe(ranking) if world.is_distributed
                                   else ranking)
    order = [names.index(name) for name in ranking["order"]]
    shown = ranking["order"][:8]
    _log.info(f"      ranked: {', '.join(shown)}{' …' if len(names) > len(shown) else ''}")
    _log.info(f"[3/5] the students' training set (transfer: {transfer})")
    full = full_training_set(split, logits, transfer=transfer, seed=seed, world=world)
    kd = KDConfig(kd.temperature, kd.alpha, transfer=transfer, transfer_rows=full.transfer_rows)
    screen = screening(split, full, logits, order, classes, kd=kd, train=train, seed=seed,
                       subsample=plan["student"] == "search")
    _log.info("[4/5] " + ("size search" if plan["student"] == "search" else "fixed-size student")
              + " and the no-KD and all-features students")
    search, winner = choose_student(screen, full, plan=plan, n_features=len(names), fixed_k=k,
                                    world=world)
    ranking["selected"] = ranking["order"][:winner.arch.k]
    preprocessing = preprocessing_record(ds, split, ranking["selected"])
    students = train_students(split, full, winner, order, classes, kd=kd, train=train, seed=seed,
                              world=world)
    trained = {"teacher": teacher, **students} if world.is_main else {}
    return trained, preprocessing, ranking, search, kd


def _processes(world: World) -> str:
    return f", {world.describe()}" if world.is_distributed else ""
