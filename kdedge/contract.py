"""The run directory's contract: every file name and every field of every file, defined once.

Stages talk only through the run directory. Writers build the records below and write them with
`write_record`; readers parse them with `read_record`, which checks each field's presence and type
and the file's format version, and fails with a `ContractError` naming the file, the field and the
fix. Nothing else in kdedge spells a key of these files as a string.

Standard library and numpy only: the device runtime (no torch) reads the same definitions.
docs/run-dir.md's field tables are generated from this module (`python -m kdedge.contract`);
a test fails when they disagree.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Union

import numpy as np

from kdedge.errors import KdedgeError

# ---------------------------------------------------------------------------------------------
# File names of the run directory, and the names every stage shares.
RUN_JSON = "run.json"
METRICS_JSON = "metrics.json"
MODELS_JSON = "models.json"
PREPROCESSING_JSON = "preprocessing.json"
HISTORY_JSON = "history.json"
SPLIT_NPZ = "split.npz"
PREDICTIONS_NPZ = "predictions.npz"
EXPORT_JSON = "export.json"
ONNX_DIR = "onnx"
C_DIR = "c"  # the C student: c/kdedge.h and c/kdedge.c (`kdedge export --c`)
BENCH_DIR = "bench"
PLOTS_DIR = "plots"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"

MODEL_NAMES = ("teacher", "student", "student_no_kd")  # the models distill trains and saves
STUDENT_ALL_FEATURES = "student_all_features"  # scored only: the student on every feature
BASELINES = ("majority", "logreg_k", "logreg_all", "hgb_all")  # scikit-learn references
PREDICTION_KEYS = MODEL_NAMES + (STUDENT_ALL_FEATURES,) + BASELINES  # arrays of predictions.npz
EXPORTED_MODELS = ("teacher", "student")  # the models export ships as ONNX (and quantizes)
# baselines distill stores as weights (safetensors) and export ships as ONNX beside the models,
# so the bench measures what a user would pick instead
EXPORTED_BASELINES = ("logreg_k", "logreg_all", "hgb_all")
SEARCH_JSON = "search.json"
TEACHER_KINDS = ("mlp", "gbdt")  # --teacher
TRANSFER_METHODS = ("none", "munge")  # --transfer: synthetic rows the teacher labels
READ_MODES = ("memory", "streamed")  # how distill read the data (run.json's data_reading.mode)
STREAM_CHOICES = ("auto", "on", "off")  # --stream
INPUT_NAME = "features"  # the ONNX graph input: float32 [batch, k], raw (unscaled) values
OUTPUT_NAMES = ("probabilities", "label")  # float32 [batch, C] and int64 [batch]
SPLIT_KEYS = ("X_val", "y_val", "X_test", "y_test", "X_calib", "feature_names", "class_names")
CALIBRATION_ROWS = 1024  # training rows kept in split.npz for int8-static calibration
# A quantized variant whose test accuracy is more than this below the fp32 student's is rejected.
REJECT_THRESHOLD = 0.01
# ...and one that agrees with the fp32 graph on fewer than this fraction of test rows.
MIN_AGREEMENT_FP32 = 0.99


def weights_file(model: str) -> str:
    """RUN-relative path of a model's weights: `student.safetensors`."""
    return f"{model}.safetensors"


def onnx_file(model: str, variant: str = "fp32") -> str:
    """RUN-relative path of an exported graph: `onnx/student.onnx`, `onnx/student.int8.onnx`."""
    return f"{ONNX_DIR}/{onnx_stem(model, variant)}.onnx"


def onnx_stem(model: str, variant: str = "fp32") -> str:
    """The name export.json and the bench use for a graph: `student`, `student.int8`."""
    return model if variant == "fp32" else f"{model}.{variant}"


def bench_file(target: str) -> str:
    """RUN-relative path of a bench result: `bench/<target>.json`."""
    return f"{BENCH_DIR}/{target}.json"


class ContractError(KdedgeError):
    """A run-directory file does not match this contract (names the file, the field and the fix)."""


# ---------------------------------------------------------------------------------------------
# The machinery: dataclass records that serialise to JSON and parse with type checks.

def doc(text: str, default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING):
    """A record field with its meaning (shown in docs/run-dir.md) and an optional default."""
    return field(default=default, default_factory=factory, metadata={"doc": text})


class Record:
    """Base of every record. Top-level files set FILE, STAGE, FORMAT and VERSION_FIELD."""

    FILE: ClassVar[str | None] = None  # file name in the run directory (None: a nested record)
    STAGE: ClassVar[str] = "distill"  # the command that writes it (named in error messages)
    FORMAT: ClassVar[int] = 1
    VERSION_FIELD: ClassVar[str | None] = None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls, data: Any, *, where: str = "") -> "Record":
        """Parse `data` (a decoded JSON object); `where` names the file for error messages."""
        where = where or cls.FILE or cls.__name__
        if cls.VERSION_FIELD and isinstance(data, dict):
            found = data.get(cls.VERSION_FIELD)
            if found != cls.FORMAT:
                raise ContractError(
                    f"{where}: {cls.VERSION_FIELD} is {found!r} but this kdedge reads "
                    f"{cls.FORMAT}; re-run `kdedge {cls.STAGE}` with this version")
        record = _parse(cls, data, where, "")
        record.validate(where)
        return record

    def validate(self, where: str) -> None:
        """Checks across fields (lengths that must match); overridden where there are any."""


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " | ".join("null" if a is type(None) else _type_name(a) for a in args)
    if origin is list:
        return f"list[{_type_name(args[0])}]"
    if origin is dict:
        return f"dict[str, {_type_name(args[1])}]"
    if hint is Any:
        return "any"
    return getattr(hint, "__name__", str(hint))


def _fail(where: str, path: str, expected: Any, value: Any) -> ContractError:
    return ContractError(
        f"{where}: field {path or '(top level)'} should be {_type_name(expected)}, found "
        f"{value!r:.80} ({type(value).__name__}); the file was edited or written by another "
        "kdedge version: re-run the stage that writes it")


def _parse(hint: Any, value: Any, where: str, path: str) -> Any:
    """`value` checked against the type `hint` (dataclass, list, dict, union, scalar)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _parse(option, value, where, path)
            except ContractError:
                continue
        raise _fail(where, path, hint, value)
    if dataclasses.is_dataclass(hint):
        return _parse_record(hint, value, where, path)
    if origin is list:
        if not isinstance(value, list):
            raise _fail(where, path, hint, value)
        return [_parse(args[0], v, where, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(where, path, hint, value)
        return {k: _parse(args[1], v, where, f"{path}.{k}" if path else k)
                for k, v in value.items()}
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (str, bool) and isinstance(value, hint):
        return value
    raise _fail(where, path, hint, value)


def _parse_record(cls: type, value: Any, where: str, path: str) -> Any:
    if not isinstance(value, dict):
        raise _fail(where, path, cls, value)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ContractError(f"{where}: unknown field(s) {unknown} in {path or 'the file'} "
                            f"({cls.__name__}); written by another kdedge version? re-run the "
                            "stage that writes it")
    kwargs = {}
    for name, spec in fields.items():
        sub = f"{path}.{name}" if path else name
        if name in value:
            kwargs[name] = _parse(hints[name], value[name], where, sub)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ContractError(f"{where}: field {sub} is missing; re-run the stage that writes it")
    return cls(**kwargs)


def read_record(cls: type, path: str | Path):
    """Read and check one JSON file of the run directory as record `cls`."""
    from kdedge.rundir import read_json

    return cls.from_json(read_json(path), where=str(path))


def write_record(path: str | Path, record: Record) -> Path:
    """Write a record atomically (temporary file + rename)."""
    from kdedge.rundir import write_json_atomic

    return write_json_atomic(path, record.to_json())


# ---------------------------------------------------------------------------------------------
# preprocessing.json

@dataclass
class Scaler(Record):
    """Standardisation fitted on the training split: z = (x_raw − mean) / scale, per column."""

    mean: list[float] = doc("per-column mean of the training split")
    scale: list[float] = doc("per-column standard deviation of the training split (1 where 0)")

    @classmethod
    def fit(cls, X_train: np.ndarray) -> "Scaler":
        """Mean and population std of each column; a column constant in training gets scale 1."""
        std = X_train.std(axis=0)
        return cls(mean=X_train.mean(axis=0).tolist(),
                   scale=np.where(std > 0, std, 1.0).tolist())

    def subset(self, index: list[int]) -> "Scaler":
        """The scaler over the columns `index` (a student's inputs), in that order."""
        return Scaler(mean=[self.mean[i] for i in index], scale=[self.scale[i] for i in index])

    @property
    def mean_array(self) -> np.ndarray:
        return np.asarray(self.mean, dtype=np.float64)

    @property
    def scale_array(self) -> np.ndarray:
        return np.asarray(self.scale, dtype=np.float64)

    def transform(self, X_raw: np.ndarray) -> np.ndarray:
        """Raw rows → standardised float32 rows, computed in float64 (the training inputs)."""
        z = (np.asarray(X_raw, dtype=np.float64) - self.mean_array) / self.scale_array
        return z.astype(np.float32)

    def inverse_transform(self, X_scaled: np.ndarray) -> np.ndarray:
        """Standardised rows → raw float64 rows (synthetic transfer rows made in the scaled space)."""
        return np.asarray(X_scaled, dtype=np.float64) * self.scale_array + self.mean_array


@dataclass
class Preprocessing(Record):
    """What a model's inputs are and how raw values become them."""

    FILE: ClassVar[str] = PREPROCESSING_JSON
    VERSION_FIELD: ClassVar[str] = "preprocessing_format"

    target: str = doc("the label column")
    feature_names: list[str] = doc("every feature the teacher reads, in its input order")
    selected_features: list[str] = doc("the student's inputs, most important first")
    selected_index: list[int] = doc("positions of selected_features in feature_names")
    scaler: Scaler = doc("fitted on the training split, over feature_names")
    class_names: list[str] = doc("index i of a probability vector is class_names[i]")
    dropped_constant: list[str] = doc("constant columns removed when the data was read")
    preprocessing_format: int = doc("format version of this file", 1)

    def input_index(self, model_kind: str) -> list[int]:
        """Columns of the raw feature table a model reads, in its input order."""
        if model_kind == "teacher":
            return list(range(len(self.feature_names)))
        return list(self.selected_index)

    def scaler_for(self, model_kind: str) -> Scaler:
        return self.scaler.subset(self.input_index(model_kind))

    def validate(self, where: str) -> None:
        n = len(self.feature_names)
        if len(self.scaler.mean) != n or len(self.scaler.scale) != n:
            raise ContractError(f"{where}: scaler has {len(self.scaler.mean)} columns but "
                                f"feature_names has {n}; re-run `kdedge distill`")
        wrong = [i for i, name in zip(self.selected_index, self.selected_features)
                 if not 0 <= i < n or self.feature_names[i] != name]
        if wrong or len(self.selected_index) != len(self.selected_features):
            raise ContractError(f"{where}: selected_index does not point at selected_features "
                                f"in feature_names; re-run `kdedge distill`")


# ---------------------------------------------------------------------------------------------
# models.json: the model hyper-parameters (models.py builds torch modules from them)

@dataclass
class TeacherConfig(Record):
    """The teacher MLP: n_features → hidden… → n_classes, BatchNorm + ReLU after each hidden."""

    n_features: int = doc("inputs (every feature)")
    n_classes: int = doc("outputs")
    hidden: list[int] = doc("hidden layer widths", factory=lambda: [256, 128])
    batchnorm: bool = doc("BatchNorm after each hidden layer", True)
    kind: str = doc("always teacher", "teacher")


@dataclass
class StudentConfig(Record):
    """The gated low-rank student: k inputs → rank gated factors → ReLU head → n_classes."""

    n_features: int = doc("inputs (the k selected features)")
    n_classes: int = doc("outputs")
    rank: int = doc("gated factors of the low-rank first layer")
    hidden: list[int] = doc("head widths", factory=lambda: [32])
    kind: str = doc("always student", "student")


@dataclass
class TreesConfig(Record):
    """A gradient-boosted tree ensemble (scikit-learn HistGradientBoostingClassifier), stored as
    flat node arrays in its safetensors; export builds an ONNX TreeEnsembleRegressor from them."""

    n_features: int = doc("inputs it reads")
    n_classes: int = doc("outputs")
    feature_index: list[int] = doc("its inputs: columns of preprocessing.feature_names")
    iterations: int = doc("boosting iterations kept")
    trees: int = doc("trees (iterations × score columns: 1 for binary, C for multi-class)")
    nodes: int = doc("nodes over all trees (splits and leaves)")
    learning_rate: float = doc("shrinkage")
    max_leaf_nodes: int = doc("leaves per tree at most")
    kind: str = doc("always gbdt", "gbdt")


@dataclass
class LinearConfig(Record):
    """StandardScaler + LogisticRegression with the scaler folded in: logits = x·weight + bias,
    stored as weight [n_features, n_classes] and bias [n_classes] in its safetensors."""

    n_features: int = doc("inputs it reads")
    n_classes: int = doc("outputs")
    feature_index: list[int] = doc("its inputs: columns of preprocessing.feature_names")
    kind: str = doc("always linear", "linear")


@dataclass
class KDConfig(Record):
    """Hinton KD: soft targets at `temperature`; `alpha` weighs the hard-label cross-entropy.
    Transfer rows (synthetic, labelled only by the teacher's soft targets) add to the real
    training rows where `transfer` is not none."""

    temperature: float = doc("softmax temperature T of the soft targets", 4.0)
    alpha: float = doc("weight of the hard-label loss; 1 − alpha on the soft KD term", 0.5)
    transfer: str = doc("synthetic transfer rows: none or munge (Bucilă et al. 2006)", "none")
    transfer_rows: int = doc("synthetic rows added to the students' training set", 0)


@dataclass
class ModelsFile(Record):
    FILE: ClassVar[str] = MODELS_JSON
    VERSION_FIELD: ClassVar[str] = "models_format"

    FORMAT: ClassVar[int] = 2

    teacher: TeacherConfig | TreesConfig = doc("the teacher's configuration (an MLP, or a GBDT "
                                               "with --teacher gbdt)")
    student: StudentConfig = doc("the KD student's configuration")
    student_no_kd: StudentConfig = doc("the same student trained on labels only")
    kd: KDConfig = doc("the KD loss settings of `student`")
    baselines: dict[str, LinearConfig | TreesConfig] = doc(
        "the exported baselines (EXPORTED_BASELINES) and their stored form", factory=dict)
    models_format: int = doc("format version of this file", 2)

    def config(self, name: str) -> TeacherConfig | StudentConfig | TreesConfig | LinearConfig:
        if name in self.baselines:
            return self.baselines[name]
        return getattr(self, name)


# ---------------------------------------------------------------------------------------------
# metrics.json

@dataclass
class ClassScore(Record):
    """One class's scores on the test split, the class taken as positive (one-vs-rest)."""

    name: str = doc("the class label")
    precision: float = doc("of the rows predicted as this class, the fraction that are")
    recall: float = doc("of the rows of this class, the fraction predicted as it")
    f1: float = doc("harmonic mean of precision and recall")
    support: int = doc("test rows of this class")


@dataclass
class ClassificationMetrics(Record):
    """Quality on the test split, from the model's own probabilities. Averages say which they are:
    weighted (by class support), macro (unweighted mean over classes)."""

    accuracy: float = doc("fraction of test rows predicted right")
    balanced_accuracy: float = doc("macro-averaged recall: each class counts the same")
    precision_weighted: float = doc("precision, support-weighted average over classes")
    recall_weighted: float = doc("recall, support-weighted average over classes (= accuracy)")
    f1_weighted: float = doc("F1, support-weighted average over classes")
    f1_macro: float = doc("F1, unweighted mean over classes")
    log_loss: float = doc("cross-entropy of the probabilities")
    roc_auc: float | None = doc("binary: of the positive class; multi-class: macro one-vs-rest; "
                                "null where undefined")
    pr_auc: float | None = doc("average precision, binary: of the positive class; multi-class: "
                               "macro one-vs-rest; null where undefined")
    per_class: list[ClassScore] = doc("precision/recall/F1/support of each class")
    confusion_matrix: list[list[int]] = doc("rows: true class, columns: predicted class, "
                                            "in class_names order")
    predicted_classes: int = doc("distinct classes the model predicts on the test split "
                                 "(1: it predicts a single class)")
    positive: ClassScore | None = doc("binary data: the positive class's scores (see "
                                      "data.positive_class); null for multi-class")


@dataclass
class ModelMetrics(ClassificationMetrics):
    """Quality plus static cost of one trained model."""

    params: int = doc("trained parameters")
    macs: int = doc("multiply-accumulates per sample of the folded (exported) graph")
    flops: int = doc("2 × macs")
    macs_unfolded: int = doc("MACs per sample before folding the scaler/BatchNorm/gates")
    weight_bytes: int = doc("bytes of the float32 parameters")
    n_features: int = doc("inputs the model reads")
    best_epoch: int = doc("the epoch whose weights were kept (lowest validation loss); GBDT: "
                          "boosting iterations kept")
    family: str = doc("mlp, student or gbdt: a GBDT's params are its tree nodes and its macs 0 "
                      "(it compares, it does not multiply)", "mlp")


@dataclass
class SplitSizes(Record):
    train: int = doc("training rows")
    val: int = doc("validation rows (early stopping, feature ranking)")
    test: int = doc("test rows (every metric)")


@dataclass
class SplitClassCounts(Record):
    train: list[int] = doc("rows per class in the training split")
    val: list[int] = doc("rows per class in the validation split")
    test: list[int] = doc("rows per class in the test split")


@dataclass
class DataInfo(Record):
    """Where the data came from and how it was split."""

    source: str = doc("builtin, sklearn or file")
    name: str = doc("data set name (file stem for a file)")
    target: str = doc("the label column")
    rows: int = doc("rows read")
    features: int = doc("usable feature columns (after dropping constant ones)")
    classes: int = doc("number of classes")
    class_names: list[str] = doc("the user's class labels, sorted")
    class_counts: list[int] = doc("rows per class, all splits")
    split: SplitSizes = doc("rows per split")
    split_class_counts: SplitClassCounts = doc("rows per class in each split")
    positive_class: str | None = doc("binary data: the class whose recall, precision and PR-AUC "
                                     "are reported; null for multi-class")
    positive_rule: str | None = doc("how it was chosen: the minority class of the training "
                                    "split, or --positive")
    sha256: str | None = doc("of the data file; null for built-in sets")
    dropped_constant: list[str] = doc("constant columns removed at load time")


@dataclass
class PairedComparison(Record):
    """Two models scored on the same test rows, compared row by row (never as two independent
    error bars). `difference` = value_b − value_a; the verdict comes from the paired bootstrap
    interval: it excludes 0 (and McNemar's p < 0.05 where there is one) → b_worse / b_better,
    else no_difference."""

    a: str = doc("the reference model (e.g. teacher)")
    b: str = doc("the model compared with it (e.g. student)")
    metric: str = doc("accuracy, positive_recall (rows of the positive class only) or pr_auc")
    n: int = doc("rows compared")
    value_a: float = doc("the metric of a on those rows")
    value_b: float = doc("the metric of b on those rows")
    difference: float = doc("value_b − value_a")
    ci_low: float = doc("paired bootstrap 95% interval of the difference, lower end")
    ci_high: float = doc("upper end")
    only_a: int | None = doc("rows a got right and b wrong (null for pr_auc)")
    only_b: int | None = doc("rows b got right and a wrong (null for pr_auc)")
    p_value: float | None = doc("exact McNemar test on the discordant rows, two-sided "
                                "(null for pr_auc)")
    verdict: str = doc("b_worse, b_better or no_difference")
    min_detectable: float = doc("half-width of the interval, and for accuracy and recall at "
                                "least 6/n (an exact McNemar test needs 6 discordant rows): "
                                "smaller differences than this could not be detected on this "
                                "split")
    bootstrap: int = doc("bootstrap resamples (seeded with the run's seed)")


@dataclass
class BaselineMetrics(ClassificationMetrics):
    """A reference model a tabular user would compare with, fitted on the same training split."""

    description: str = doc("what it is, e.g. LogisticRegression on the 6 selected features")
    n_features: int = doc("inputs it reads")


@dataclass
class Metrics(Record):
    FILE: ClassVar[str] = METRICS_JSON
    FORMAT: ClassVar[int] = 3
    VERSION_FIELD: ClassVar[str] = "metrics_format"

    teacher: ModelMetrics = doc("the teacher on all features")
    student: ModelMetrics = doc("the KD student on the k selected features")
    student_no_kd: ModelMetrics = doc("the same student trained without KD")
    student_all_features: ModelMetrics = doc("the student's architecture distilled on every "
                                             "feature: tells 'k too small' from 'student too small'")
    baselines: dict[str, BaselineMetrics] = doc("majority, logreg_k, logreg_all, hgb_all: fitted "
                                                "on the same training split, scored on the same "
                                                "test rows")
    comparisons: list[PairedComparison] = doc("paired verdicts of every pair the report compares")
    teacher_useful: bool = doc("the teacher is significantly more accurate than the majority "
                               "baseline (paired)")
    warnings: list[str] = doc("problems distill found (also printed on stderr)")
    agreement: float = doc("fraction of test rows where teacher and student predict the same")
    disagreement: float = doc("1 − agreement")
    agreement_no_kd: float = doc("agreement of the teacher and the no-KD student")
    kd_gain: float = doc("student accuracy − student_no_kd accuracy")
    selected_features: list[str] = doc("the student's inputs, most important first")
    feature_importance: dict[str, float] = doc("teacher permutation importance, top = 1.0")
    feature_importance_std: dict[str, float] = doc("its std over repeats, same scale")
    importance_method: str = doc("how importance was computed")
    data: DataInfo = doc("the data and its split")
    teacher_kind: str = doc("mlp or gbdt (--teacher)", "mlp")
    student_search: str | None = doc("the size search's outcome in one sentence (search.json "
                                     "holds every candidate); null for a fixed-size student",
                                     None)
    metrics_format: int = doc("format version of this file", 3)

    def model(self, name: str) -> ModelMetrics | BaselineMetrics:
        """Metrics of a trained model or a baseline by name."""
        if name in self.baselines:
            return self.baselines[name]
        return getattr(self, name)

    def comparison(self, a: str, b: str, metric: str = "accuracy") -> PairedComparison | None:
        return next((c for c in self.comparisons
                     if (c.a, c.b, c.metric) == (a, b, metric)), None)


# ---------------------------------------------------------------------------------------------
# history.json

@dataclass
class TrainingHistory(Record):
    train_loss: list[float] = doc("mean training loss per epoch")
    val_loss: list[float] = doc("validation loss per epoch (the early-stopping criterion)")
    val_accuracy: list[float] = doc("validation accuracy per epoch")
    best_epoch: int = doc("the epoch whose weights were kept")
    epochs_run: int = doc("epochs trained before early stopping")


@dataclass
class History(Record):
    FILE: ClassVar[str] = HISTORY_JSON
    VERSION_FIELD: ClassVar[str] = "history_format"

    teacher: TrainingHistory = doc("the teacher's curves")
    student: TrainingHistory = doc("the KD student's curves")
    student_no_kd: TrainingHistory = doc("the no-KD student's curves")
    history_format: int = doc("format version of this file", 1)


# ---------------------------------------------------------------------------------------------
# run.json

@dataclass
class SearchCandidate(Record):
    """One student architecture the size search trained on the screening rows and judged on the
    validation split against the teacher."""

    phase: str = doc("probe: a head size on every feature; k: the probe's head at this k "
                     "(does k keep the teacher?); size: a smaller student at a chosen k; "
                     "refit: the winner on every training row; fixed: --student fixed")
    k: int = doc("inputs: the top k of the ranking")
    rank: int = doc("gated factors")
    hidden: list[int] = doc("head widths (1 or 2 layers)")
    params: int = doc("trained parameters")
    macs: int = doc("multiply-accumulates per sample of the folded graph")
    rows: int = doc("training rows of this fit (transfer rows included)")
    epochs: int = doc("epochs run (early stopping on the validation rows)")
    agreement: float = doc("label agreement with the teacher on the validation rows")
    accuracy: float = doc("accuracy on the validation rows")
    teacher_accuracy: float = doc("the teacher's accuracy on the same rows")
    verdict: str = doc("paired accuracy verdict vs the teacher on the validation rows "
                       "(b_worse: a detectable loss)")
    recall_verdict: str | None = doc("binary data: the same for positive-class recall; null "
                                     "for multi-class")
    meets_target: bool = doc("agreement >= fidelity and no detectable loss (accuracy, and "
                             "positive recall where binary)")
    seconds: float = doc("wall time of the fit and its scoring")


@dataclass
class Search(Record):
    """search.json: how distill chose the student's size (or that it was fixed)."""

    FILE: ClassVar[str] = SEARCH_JSON
    VERSION_FIELD: ClassVar[str] = "search_format"

    mode: str = doc("search, or fixed (--student fixed / --rank / --student_hidden given)")
    fidelity: float = doc("the agreement target (--fidelity)")
    budget_seconds: float = doc("wall-clock budget of the screening fits (--search_seconds)")
    seconds: float = doc("wall time the screening fits took")
    budget_exhausted: bool = doc("candidates were left untried because the budget ran out")
    screen_rows: int = doc("training rows of each screening fit (a seeded subsample)")
    val_rows: int = doc("validation rows every candidate is judged on")
    rule: str = doc("how the winner was picked")
    candidates: list[SearchCandidate] = doc("every fit, in the order it ran")
    chosen: int | None = doc("index of the winner in candidates (a refit on every row is the "
                             "last entry); 0 for a fixed student, its only candidate")
    met_target: bool = doc("the winner meets the target on the validation rows")
    message: str = doc("the outcome in one sentence (also in metrics.json and the report)")
    search_format: int = doc("format version of this file", 1)


@dataclass
class DataReading(Record):
    """How distill read the data and shared the training rows between processes: enough to
    reproduce the split and every process's rows."""

    mode: str = doc("memory (the table read whole) or streamed (read in record batches)")
    world_size: int = doc("training processes (torchrun ranks); rank 0 wrote the run")
    backend: str | None = doc("torch.distributed backend (gloo); null for one process")
    split_rule: str = doc("how each row was assigned to train / validation / test")
    shard_rule: str = doc("which training rows each process read")
    chunk_rows: int | None = doc("streamed: rows per record batch read; null in memory")
    shuffle_rows: int | None = doc("streamed: rows of the training stream's shuffle buffer")
    sample_rows: int | None = doc("streamed: training rows held in memory (baselines, the "
                                  "search's screening rows, calibration, a GBDT teacher)")


def in_memory_reading(split_rule: str) -> DataReading:
    """run.json's data_reading of a one-process in-memory run (also what a run written before
    streaming existed means)."""
    return DataReading(mode="memory", world_size=1, backend=None, split_rule=split_rule,
                       shard_rule="one process reads every training row", chunk_rows=None,
                       shuffle_rows=None, sample_rows=None)


MEMORY_SPLIT_RULE = ("scikit-learn train_test_split, stratified, random_state = seed: test "
                     "first, then validation from the rest")


@dataclass
class Manifest(Record):
    """The run's manifest: what made it and the sha256 of every file a stage wrote."""

    FILE: ClassVar[str] = RUN_JSON
    VERSION_FIELD: ClassVar[str] = "run_format"

    kdedge_version: str = doc("the kdedge that created the run")
    run_id: str = doc("the run directory's name")
    created: str = doc("ISO 8601 time distill finished")
    seed: int = doc("the seed of the split, initialisations and ranking")
    config: dict[str, Any] = doc("every argument of distill")
    versions: dict[str, str | None] = doc("python and package versions")
    torch_threads: int = doc("torch intra-op threads distill ran with (per process)")
    artifacts: dict[str, str] = doc("RUN-relative path → sha256 of every file a stage wrote")
    stages: dict[str, dict[str, Any]] = doc("stage → {finished, seconds, …} of its last run")
    data_reading: DataReading = doc("how the data was read and sharded (streamed or in memory, "
                                    "world size, split and shard rules)",
                                    factory=lambda: in_memory_reading(MEMORY_SPLIT_RULE))
    run_format: int = doc("format version of this file", 1)


# ---------------------------------------------------------------------------------------------
# ONNX metadata_props of every exported graph (read by the device side)

@dataclass
class OnnxMetadata(Record):
    """The kdedge.* metadata_props export writes into each graph; values are strings in ONNX."""

    PREFIX: ClassVar[str] = "kdedge."

    model: str = doc("teacher or student")
    variant: str = doc("fp32, int8, int8-static or fp16")
    feature_names: list[str] = doc("the graph's inputs in column order (JSON list)")
    class_names: list[str] = doc("probability column i is class_names[i] (JSON list)")
    version: str = doc("kdedge version that exported it")
    run_id: str = doc("the run it came from")
    weights_sha256: str = doc("sha256 of the safetensors it was exported from")
    opset: str = doc("default-domain opset")

    def to_props(self) -> dict[str, str]:
        import json

        return {self.PREFIX + k: v if isinstance(v, str) else json.dumps(v)
                for k, v in self.to_json().items()}

    @classmethod
    def from_props(cls, props: dict[str, str], *, where: str = "") -> "OnnxMetadata":
        """Parse a graph's metadata_props: the kdedge.* keys (list fields JSON-decoded); other
        keys are ignored. Raises ContractError naming `where` and the key."""
        import json

        hints = typing.get_type_hints(cls)
        data: dict[str, Any] = {}
        for key, value in props.items():
            if not key.startswith(cls.PREFIX):
                continue
            name = key[len(cls.PREFIX):]
            try:
                data[name] = value if hints.get(name, str) is str else json.loads(value)
            except json.JSONDecodeError as exc:
                raise ContractError(f"{where}: metadata {key} is not JSON ({exc}); re-export "
                                    "the model with `kdedge export RUN_DIR --force`") from exc
        return cls.from_json(data, where=where)


# ---------------------------------------------------------------------------------------------
# export.json

@dataclass
class TensorSpec(Record):
    name: str = doc("tensor name")
    shape: list[int | str | None] = doc("dims; symbolic ones by name (batch)")
    dtype: str = doc("numpy dtype name")


@dataclass
class Parity(Record):
    """The parity gate: onnxruntime vs the PyTorch model on the test split."""

    rows: int = doc("test rows compared")
    tolerance: float = doc("max |Δ probability| allowed")
    max_abs_diff_batch1: float = doc("largest |Δ probability|, one row per call")
    max_abs_diff_full_batch: float = doc("largest |Δ probability|, all rows in one call")
    labels_identical: bool = doc("every label equal in both runs")
    passed: bool = doc("within tolerance and labels identical (export fails otherwise)")


@dataclass
class ExportedModel(Record):
    """One .onnx file export wrote, and what it was measured to do on the test split."""

    path: str = doc("RUN-relative path, onnx/<stem>.onnx")
    model: str = doc("teacher or student")
    variant: str = doc("fp32, int8, int8-static or fp16")
    opset: int = doc("default-domain opset")
    file_bytes: int = doc("file size")
    input: TensorSpec = doc("the graph input (raw features)")
    outputs: list[TensorSpec] = doc("probabilities and label")
    n_features: int = doc("inputs")
    feature_names: list[str] = doc("inputs in column order")
    class_names: list[str] = doc("class of each probability column")
    macs: int = doc("multiply-accumulates per sample, counted from the graph")
    flops: int = doc("2 × macs")
    params: int = doc("parameters in the graph")
    nodes: int = doc("graph nodes")
    ops: dict[str, int] = doc("op type → count")
    metrics: ClassificationMetrics = doc("quality from this graph's own onnxruntime outputs")
    agreement_teacher: float = doc("label agreement with teacher.onnx")
    agreement_fp32: float = doc("label agreement with the fp32 graph of the same model")
    max_abs_diff_vs_fp32: float = doc("largest |Δ probability| vs the fp32 graph")
    verdict: str = doc("accepted or rejected (accuracy more than reject_threshold below fp32)")
    reason: str | None = doc("why it was rejected")
    paired_vs_fp32: PairedComparison | None = doc("variants: accuracy compared row by row with "
                                                  "the fp32 graph (a = fp32, b = the variant)")
    nodes_before_fold: int | None = doc("fp32 only: nodes before folding", None)
    ops_before_fold: dict[str, int] | None = doc("fp32 only: op counts before folding", None)
    macs_before_fold: int | None = doc("fp32 only: MACs before folding", None)
    fold_steps: list[str] | None = doc("fp32 only: what folding did", None)
    parity: Parity | None = doc("fp32 only: the parity gate against PyTorch", None)


@dataclass
class CParity(Record):
    """The C student's gate: its outputs vs onnxruntime's on the same rows."""

    platform: str = doc("where the C ran: native gcc, or aarch64 under qemu")
    compiler: str = doc("`cc --version`, first line")
    rows: int = doc("rows compared (the test split)")
    input_rows: str = doc("where the rows came from")
    tolerance: float = doc("max |Δ probability| allowed")
    max_abs_diff: float = doc("largest |Δ probability| vs onnxruntime (batch 1)")
    labels_identical: bool = doc("every label equal to onnxruntime's")
    passed: bool = doc("within tolerance and labels identical")


@dataclass
class CStudent(Record):
    """The C student `kdedge export --c` wrote: C99 generated from the fp32 student graph,
    compiled and gated against onnxruntime on the test split, its sizes measured."""

    header: str = doc("the header, RUN-relative (c/kdedge.h)")
    source: str = doc("the C source, RUN-relative (c/kdedge.c)")
    onnx: str = doc("the graph it was generated from (onnx/student.onnx)")
    onnx_sha256: str = doc("sha256 of that graph")
    prefix: str = doc("symbol prefix: <prefix>_predict, <PREFIX>_N_FEATURES")
    entry_point: str = doc("the one function: int <prefix>_predict(features, probabilities)")
    n_features: int = doc("inputs, raw values in feature_names order")
    n_classes: int = doc("probabilities written")
    feature_names: list[str] = doc("features[i] is feature_names[i]")
    class_names: list[str] = doc("probabilities[c] is class_names[c]")
    ops: dict[str, int] = doc("op type → nodes translated")
    params: int = doc("float32 weights in the C source")
    compiler: str = doc("`gcc --version`, first line")
    flags: list[str] = doc("compiler flags of the verified build (and -lm)")
    text_bytes: int = doc("`size` text of the object: code + read-only data (the weights)")
    data_bytes: int = doc("`size` data of the object")
    bss_bytes: int = doc("`size` bss of the object")
    code_weights_bytes: int = doc("text + data + bss of the -O2 object (`size`, Berkeley)")
    stack_bytes: int = doc("-fstack-usage of the entry point, a non-leaf function (it calls "
                           "expf, whose own frame in libm is not included)")
    stack_qualifier: str = doc("static: a fixed frame, no alloca or variable-length arrays")
    parity: CParity = doc("the gate against onnxruntime on the test split")


@dataclass
class ExportSummary(Record):
    FILE: ClassVar[str] = EXPORT_JSON
    STAGE: ClassVar[str] = "export"
    FORMAT: ClassVar[int] = 2
    VERSION_FIELD: ClassVar[str] = "export_format"

    run_id: str | None = doc("the run exported")
    kdedge_version: str = doc("kdedge that exported it")
    created: str = doc("ISO 8601 time")
    opset: int = doc("the requested ONNX opset")
    exporter: str = doc("how the graphs were made")
    versions: dict[str, str | None] = doc("torch, onnx, onnxruntime, onnxscript versions")
    parity_tolerance: float = doc("max |Δ probability| of the parity gate")
    reject_threshold: float = doc("accuracy drop below fp32 that rejects a variant")
    calibration_rows: int = doc("training rows that calibrated int8-static")
    test_rows: int = doc("rows every verdict was measured on")
    quantize: list[str] = doc("the quantized variants asked for")
    models: dict[str, ExportedModel] = doc("stem (student.int8) → what export wrote")
    c_student: CStudent | None = doc("the C student (`kdedge export --c`); null without --c",
                                     None)
    export_format: int = doc("format version of this file", 2)


# ---------------------------------------------------------------------------------------------
# bench/<target>.json

@dataclass
class LatencyStats(Record):
    """Timings of one graph at one batch size, microseconds per call."""

    p50_us: float = doc("median")
    p90_us: float = doc("90th percentile")
    p95_us: float = doc("95th percentile")
    p99_us: float = doc("99th percentile")
    mean_us: float = doc("mean")
    std_us: float = doc("standard deviation")
    min_us: float = doc("fastest call")
    max_us: float = doc("slowest call")
    reps: int = doc("timed calls")
    seconds: float = doc("total timed seconds")
    p99_reliable: bool = doc("enough calls (>= 100) for p99 to mean something")
    throughput_rows_per_s: float = doc("batch / p50 latency, rows per second (format 2: / mean)")
    ratio_to_floor: float | None = doc("p50 / the floor graph's p50 (models only)", None)


@dataclass
class OpCost(Record):
    nodes: int = doc("nodes of this op type")
    macs: int = doc("their MACs per sample")
    flops: int = doc("their FLOPs per sample")


@dataclass
class GraphCost(Record):
    """Static cost counted from an ONNX graph (runtime/graph_cost.py)."""

    params: int = doc("parameter elements (no quantization scales, no int64 shape tensors)")
    weight_bytes: int = doc("their bytes in the stored dtype")
    initializer_bytes: int = doc("bytes of every initializer")
    macs: int = doc("multiply-accumulates per sample (batch 1)")
    flops: int = doc("2 × macs")
    per_op: dict[str, OpCost] = doc("op type → nodes, MACs, FLOPs")
    op_counts: dict[str, int] = doc("op type → nodes")
    nodes: int = doc("graph nodes")
    unknown_shapes: list[str] = doc("nodes whose MACs could not be counted")
    params_rule: str = doc("what counts as a parameter")


@dataclass
class ColdStart(Record):
    import_ms: float = doc("importing numpy + onnxruntime in a fresh process")
    session_creation_ms: float = doc("InferenceSession() of the model")
    first_inference_ms: float = doc("the first run at batch 1")


@dataclass
class Memory(Record):
    """Peak RSS of a fresh process that loaded the model and ran every batch size."""

    peak_mb: float | None = doc("VmHWM (null with error where the OS has none)", None)
    baseline_mb: float | None = doc("VmHWM of a process that only imported onnxruntime", None)
    increase_mb: float | None = doc("peak_mb − baseline_mb", None)
    vmhwm_mb: float | None = doc("raw VmHWM reading", None)
    vmrss_mb: float | None = doc("RSS at the end", None)
    error: str | None = doc("why a reading is missing", None)


@dataclass
class BenchedModel(Record):
    """One .onnx file on one machine. A file that failed has only file, bytes and error."""

    file: str = doc("path relative to the benched folder (onnx/student.onnx in a run)")
    bytes: int = doc("file size")
    error: str | None = doc("why it could not be loaded or run", None)
    sha256: str | None = doc("of the file measured", None)
    matches_run_json: bool | None = doc("sha256 equals what export recorded; null without one",
                                        None)
    warning: str | None = doc("set when matches_run_json is false", None)
    model: str | None = doc("teacher or student (ONNX metadata)", None)
    variant: str | None = doc("fp32, int8, int8-static or fp16", None)
    n_features: int | None = doc("graph inputs", None)
    input: str | None = doc("input tensor name", None)
    outputs: list[str] = doc("output tensor names", factory=list)
    feature_names: list[str] | None = doc("inputs in column order (ONNX metadata)", None)
    class_names: list[str] | None = doc("classes (ONNX metadata)", None)
    metadata: dict[str, str] = doc("all metadata_props", factory=dict)
    cost: GraphCost | None = doc("static cost from the graph", None)
    cost_error: str | None = doc("why the graph could not be counted", None)
    metrics_macs: int | None = doc("fp32: macs that metrics.json records", None)
    macs_match_metrics: bool | None = doc("fp32: graph MACs == metrics.json macs", None)
    cold_start: ColdStart | None = doc("fresh-process timings", None)
    memory: Memory | None = doc("fresh-process peak memory", None)
    latency: dict[str, LatencyStats] = doc("batch size → timings", factory=dict)
    floor: str | None = doc("name of the floor graph it was compared with", None)
    input_rows: str | None = doc("where the timed rows came from", None)


@dataclass
class Floor(Record):
    latency: dict[str, LatencyStats] = doc("batch size → timings of the empty graph")


@dataclass
class RepetitionRule(Record):
    """How many calls are timed per model and batch size."""

    min_reps: int = doc("at least this many calls")
    min_time_s: float = doc("and at least this many seconds of calls")
    max_time_s: float = doc("at most this many seconds")
    warmup_time_s: float = doc("untimed warm-up seconds first")


@dataclass
class BenchSettings(Record):
    batch_sizes: list[int] = doc("rows per call")
    threads: int = doc("onnxruntime intra-op threads")
    inter_op_threads: int = doc("onnxruntime inter-op threads")
    execution_mode: str = doc("sequential")
    opt_level: str = doc("graph optimisation level")
    providers: list[str] = doc("execution providers")
    quick: bool = doc("a smoke measurement, not for quoting")
    repetition_rule: RepetitionRule = doc("calls timed per model and batch size")
    definitions: dict[str, str] = doc("how each measured quantity is defined")


@dataclass
class BenchBaseline(Record):
    import_ms: float | None = doc("importing numpy + onnxruntime")
    memory: Memory | None = doc("VmHWM of that process")
    error: str | None = doc("why it failed")


@dataclass
class BenchSource(Record):
    path: str = doc("the folder benched")
    run_dir: bool = doc("it is a kdedge run directory")
    onnx_dir: str = doc("where the .onnx files were")
    run_id: str | None = doc("the run the models came from")


@dataclass
class Machine(Record):
    arch: str = doc("platform.machine()")
    cpu_model: str = doc("CPU or board name")
    cores: int | None = doc("os.cpu_count()")
    cores_usable: int | None = doc("cores this process may run on")
    os: str = doc("platform string")
    hostname: str = doc("node name")
    python: str = doc("Python version")
    kdedge: str = doc("kdedge version")
    onnxruntime: str = doc("onnxruntime version")
    onnx: str = doc("onnx version")
    numpy: str = doc("numpy version")
    providers_available: list[str] = doc("onnxruntime execution providers installed")
    emulated: bool = doc("running under qemu user emulation (timings are not performance)")
    emulation_evidence: str = doc("why emulated was decided")


@dataclass
class LoadReading(Record):
    """Other work on the machine at one moment (Linux /proc; null fields elsewhere)."""

    load_average: list[float] | None = doc("1, 5 and 15-minute load averages (os.getloadavg)")
    steal_percent: float | None = doc("CPU time stolen by the hypervisor over a short sample, %")
    cores: int | None = doc("usable cores the load is compared with")


@dataclass
class CBench(Record):
    """The C student at batch 1, timed in C, beside onnxruntime in the same run."""

    source: str = doc("the C file timed, relative to the benched folder (c/kdedge.c)")
    onnx: str = doc("the graph it was generated from, timed under onnxruntime beside it")
    compiler: str = doc("`cc --version`, first line")
    flags: list[str] = doc("compiler flags of the timed build")
    timer: str = doc("how a call is timed")
    rows: int = doc("distinct input rows the calls cycle through")
    input_rows: str = doc("where the rows came from")
    blocks: int = doc("timed blocks")
    calls_per_block: int = doc("calls per block")
    ns_per_call_p50: float = doc("median over blocks of ns per call")
    ns_per_call_min: float = doc("fastest block")
    ns_per_call_max: float = doc("slowest block")
    floor: str = doc("the onnxruntime floor graph (same interface, two kernels)")
    floor_p50_ns: float = doc("its p50 at batch 1 from Python, this run")
    onnxruntime_p50_ns: float = doc("the same student under onnxruntime at batch 1, this run")
    ratio_to_floor: float = doc("ns_per_call_p50 / floor_p50_ns")
    ratio_to_onnxruntime: float = doc("ns_per_call_p50 / onnxruntime_p50_ns")
    macs: int = doc("multiply-accumulates per call, counted from the graph")
    ns_per_mac: float = doc("ns_per_call_p50 / macs")


@dataclass
class BenchReport(Record):
    FILE: ClassVar[str | None] = None  # bench/<target>.json (bench_file)
    STAGE: ClassVar[str] = "bench"
    FORMAT: ClassVar[int] = 3  # 3: throughput from p50 (2: from the mean); load_start/load_end
    VERSION_FIELD: ClassVar[str] = "bench_format"

    kdedge_version: str = doc("kdedge that measured")
    target: str = doc("machine name in the file name")
    created: str = doc("ISO 8601 start time")
    seconds: float = doc("wall time of the bench")
    source: BenchSource = doc("what was benched")
    machine: Machine = doc("where")
    settings: BenchSettings = doc("how")
    baseline: BenchBaseline = doc("the bare-onnxruntime process memory is compared with")
    floors: dict[str, Floor] = doc("floor graph name → its timings")
    models: dict[str, BenchedModel] = doc("file name → measurements")
    errors: int = doc("models that failed")
    mismatched: int = doc("models whose sha256 differs from run.json")
    warning: str | None = doc("set on an emulated machine", None)
    load_start: LoadReading | None = doc("the machine's load when the bench started", None)
    load_end: LoadReading | None = doc("the machine's load when it ended", None)
    overloaded: bool = doc("the load average exceeded the usable cores at start or end: "
                           "timings are inflated by other work", False)
    c_student: CBench | None = doc("the C student (c/ of the benched folder) timed in C; null "
                                   "when there is none, or with c_student_error", None)
    c_student_error: str | None = doc("why the C student in c/ was not timed (e.g. no gcc on "
                                      "this machine)", None)
    bench_format: int = doc("format version of this file", 3)


# Every top-level file, in the order docs/run-dir.md lists them.
FILES: tuple[type[Record], ...] = (Manifest, Preprocessing, ModelsFile, Metrics, History, Search,
                                   ExportSummary, BenchReport)


def markdown_tables() -> str:
    """One Markdown table per record (top-level files first): field, type, default, meaning.

    docs/run-dir.md embeds this text between its GENERATED markers; tests/test_contract.py fails
    when the two differ (regenerate with `python -m kdedge.contract --write-docs`).
    """
    seen: list[type] = []

    def visit(cls: type) -> None:
        if cls in seen:
            return
        seen.append(cls)
        for hint in typing.get_type_hints(cls).values():
            for inner in _records_in(hint):
                visit(inner)

    for top in FILES:
        visit(top)
    out = []
    for cls in seen:
        title = cls.FILE or ("bench/<target>.json" if cls is BenchReport else cls.__name__)
        out.append(f"### {title}" + (f" ({cls.__name__})" if cls.FILE or cls is BenchReport else ""))
        out.append("")
        if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
            out += [" ".join(cls.__doc__.split()), ""]
        out += ["| field | type | default | meaning |", "|---|---|---|---|"]
        hints = typing.get_type_hints(cls)
        for spec in dataclasses.fields(cls):
            if spec.default is not dataclasses.MISSING:
                default = f"`{spec.default!r}`"
            elif spec.default_factory is not dataclasses.MISSING:
                default = f"`{spec.default_factory()!r}`"
            else:
                default = "required"
            meaning = spec.metadata.get("doc", "").replace("|", "\\|")
            kind = _type_name(hints[spec.name]).replace("|", "\\|")
            out.append(f"| `{spec.name}` | {kind} | {default} | {meaning} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _records_in(hint: Any) -> list[type]:
    if dataclasses.is_dataclass(hint):
        return [hint]
    return [r for arg in typing.get_args(hint) for r in _records_in(arg)]


DOCS_BEGIN = "<!-- BEGIN GENERATED by `python -m kdedge.contract --write-docs`: do not edit -->"
DOCS_END = "<!-- END GENERATED -->"


def docs_with_tables(text: str) -> str:
    """`text` (docs/run-dir.md) with the part between the GENERATED markers replaced."""
    if DOCS_BEGIN not in text or DOCS_END not in text:
        raise ContractError("docs/run-dir.md lacks the GENERATED markers; restore them")
    head, rest = text.split(DOCS_BEGIN, 1)
    _, tail = rest.split(DOCS_END, 1)
    return f"{head}{DOCS_BEGIN}\n\n{markdown_tables()}\n{DOCS_END}{tail}"


if __name__ == "__main__":  # python -m kdedge.contract [--write-docs]
    import sys

    docs = Path(__file__).resolve().parents[1] / "docs" / "run-dir.md"
    if "--write-docs" in sys.argv[1:]:
        docs.write_text(docs_with_tables(docs.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {docs}")
    else:
        print(markdown_tables())
