"""`kdedge predict`: score a CSV/Parquet file with an exported model, streamed chunk by chunk.

MODEL is a run directory (its `onnx/<stem>.onnx`: the fp32 student by default, `--model
student.int8` another exported graph by stem) or an .onnx file. The graph's kdedge metadata
(`OnnxMetadata.feature_names`) names its inputs: DATA's columns are matched to them by name, in
any order; other columns are ignored (listed once as a warning); the run's target column
(preprocessing.json) is left alone unless `--target` scores against it (accuracy and the
confusion matrix of true vs predicted class). The output holds the `--keep` columns, `label` (the
user's class name) and one `p_<class>` probability column per class. It is written to a temporary
file next to `--out` and renamed at the end: a failure leaves no output file.

Rows are read, scored and written `chunk_rows` at a time (`runtime/table.py`), so memory does not
grow with the file. onnxruntime runs on one thread. numpy, onnx, onnxruntime and the standard
library only (pyarrow for Parquet): this runs on the device.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from kdedge.contract import (INPUT_NAME, OUTPUT_NAMES, PREPROCESSING_JSON, RUN_JSON,
                             OnnxMetadata, Preprocessing, read_record)
from kdedge.errors import KdedgeError
from kdedge.log import get_logger
from kdedge.params import Flag, Optional, Text, TextList, Whole, check_params
from kdedge.rundir import current_umask, read_manifest, verify_artifact
from kdedge.runtime.models import read_model_info, resolve_models, session_options
from kdedge.runtime.table import (PARQUET_SUFFIXES, Chunk, Table, column_text, import_pyarrow,
                                  numeric_matrix, open_table, read_chunks)

_log = get_logger("predict")
DEFAULT_MODEL = "student"  # the fp32 student, onnx/student.onnx
LABEL_COLUMN = "label"
PROBABILITY_PREFIX = "p_"
OUTPUT_SUFFIX = ".predictions.csv"  # the default --out: DATA's folder, DATA's stem + this
CHUNK_ROWS = 16384  # measured: as fast as 65536 per CPU second, ~50 MB less peak RSS
# 9 significant digits read back as the same float32 (numpy's shortest float32 text is 3x slower)
PROBABILITY_FORMAT = "{:.9g}"
SHOWN_COLUMNS = 20  # column lists in messages are cut after this many

PARAMETERS = {
    "model": Optional(Text()),
    "target": Optional(Text()),
    "keep": Optional(TextList()),
    "chunk_rows": Whole(1),
    "force": Flag(),
}


@dataclass
class Scorer:
    """One exported graph in a one-thread onnxruntime session, and what its metadata says."""

    path: Path
    metadata: OnnxMetadata
    session: ort.InferenceSession
    run_target: str | None  # the run's label column (preprocessing.json), when known

    def __call__(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 [rows, k] raw features → probabilities float32 [rows, C], labels int64 [rows]."""
        probabilities, labels = self.session.run(list(OUTPUT_NAMES), {INPUT_NAME: features})
        return probabilities, labels


@dataclass(frozen=True)
class ColumnPlan:
    """Which columns of DATA are read, and what the output holds."""

    features: list[str]  # the graph's inputs, in its input order
    keep: list[str]  # copied to the output as they are
    target: str | None  # scored against, with --target
    class_names: list[str]

    @property
    def read(self) -> list[str]:
        return list(dict.fromkeys(self.features + self.keep + ([self.target] if self.target else [])))

    @property
    def outputs(self) -> list[str]:
        return self.keep + [LABEL_COLUMN] + [PROBABILITY_PREFIX + c for c in self.class_names]


@dataclass
class Tally:
    """Rows scored and, with --target, the confusion of true (rows) vs predicted class."""

    class_names: list[str]
    rows: int = 0
    confusion: np.ndarray | None = None  # int64 [C, C]
    other_rows: int = 0  # rows whose target value is not a class of the model
    other_values: list[str] = field(default_factory=list)  # the first few of them

    def add(self, labels: np.ndarray, truth: list[str] | None) -> None:
        self.rows += len(labels)
        if truth is None:
            return
        if self.confusion is None:
            self.confusion = np.zeros((len(self.class_names),) * 2, dtype=np.int64)
        index = {name: i for i, name in enumerate(self.class_names)}
        true = np.fromiter((index.get(v, -1) for v in truth), dtype=np.int64, count=len(truth))
        known = true >= 0
        np.add.at(self.confusion, (true[known], labels[known]), 1)
        self.other_rows += int((~known).sum())
        for position in np.flatnonzero(~known)[:5 - len(self.other_values)]:
            self.other_values.append(truth[position])


def predict(path: str | os.PathLike, data: str | os.PathLike, *, model: str | None = None,
            out: str | os.PathLike | None = None, target: str | None = None,
            keep: list[str] | None = None, chunk_rows: int = CHUNK_ROWS,
            force: bool = False) -> Path:
    """Score every row of `data` with an exported model; write labels and probabilities.

    Args:
        path: A run directory (models in RUN/onnx/), a folder of .onnx files, or an .onnx file.
        data: A .csv/.tsv/.txt or .parquet file with a header naming the model's inputs.
        model: Which graph of the folder, by stem: student (default), student.int8, teacher, …
        out: The .csv or .parquet file to write; default DATA's folder, `<stem>.predictions.csv`.
        target: A label column to score against (accuracy and the confusion matrix are logged).
        keep: Columns of `data` copied to the output (ids), in this order.
        chunk_rows: Rows read, scored and written at a time.
        force: Replace an existing output file.

    Returns:
        The output file.

    Raises:
        KdedgeError: a bad model, a missing column, a bad cell (column and data row named), an
            unusable `out`; no output file is left behind.
    """
    keep = list(keep) if isinstance(keep, tuple) else keep
    check_params(PARAMETERS, locals())
    scorer = load_scorer(path, model)
    table = open_table(Path(str(data)))
    plan = plan_columns(table, scorer, target=target, keep=list(dict.fromkeys(keep or [])))
    out_path = output_path(out, table.path, force=force)
    started = time.perf_counter()
    with staged_output(out_path, plan.outputs) as writer:
        tally = _score_chunks(table, plan, scorer, writer, chunk_rows)
    _log_summary(tally, scorer, out_path, time.perf_counter() - started, target)
    return out_path


def _score_chunks(table: Table, plan: ColumnPlan, scorer: Scorer, writer, chunk_rows: int) -> Tally:
    tally = Tally(class_names=plan.class_names)
    class_array = np.asarray(plan.class_names)
    for chunk in read_chunks(table, plan.read, chunk_rows=chunk_rows):
        probabilities, labels = scorer(numeric_matrix(table, chunk, plan.features))
        writer.write(chunk, plan.keep, class_array[labels].tolist(), probabilities)
        tally.add(labels, column_text(chunk, plan.target) if plan.target else None)
        del chunk  # released before the next chunk is read (see table._csv_chunks)
    return tally


# ---------------------------------------------------------------------------------------------
# The model

def load_scorer(path: str | os.PathLike, model: str | None = None) -> Scorer:
    """The graph `model` (a stem) of a run directory or folder, or the .onnx file `path`, checked
    (`check_interface`, kdedge metadata, sha256 against run.json) and in an onnxruntime session."""
    file, run_dir = _model_file(Path(str(path)), model)
    if run_dir is not None and (run_dir / RUN_JSON).is_file():
        manifest = read_manifest(run_dir)
        name = file.relative_to(run_dir).as_posix()
        if name in manifest.artifacts:  # refuse a model changed since `kdedge export`
            verify_artifact(run_dir, name, manifest)
    info = read_model_info(file)
    if info.error is not None:
        raise KdedgeError(info.error)
    if info.feature_names is None or info.class_names is None:
        raise KdedgeError(f"{file} has no kdedge.feature_names/class_names metadata, and predict "
                          "matches DATA's columns to the graph's inputs by name: use a graph "
                          "written by `kdedge export`")
    metadata = OnnxMetadata.from_props(info.metadata, where=str(file))
    try:
        session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"],
                                       sess_options=session_options(threads=1, opt_level="all"))
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise KdedgeError(f"{file}: onnxruntime cannot load it ({exc}); re-export it with "
                          "`kdedge export RUN_DIR --force`") from exc
    run_target = None
    if run_dir is not None and (run_dir / PREPROCESSING_JSON).is_file():
        run_target = read_record(Preprocessing, run_dir / PREPROCESSING_JSON).target
    return Scorer(path=file, metadata=metadata, session=session, run_target=run_target)


def _model_file(source: Path, model: str | None) -> tuple[Path, Path | None]:
    """(the .onnx file, the run directory it belongs to or None)."""
    if source.is_file():
        if source.suffix.lower() != ".onnx":
            raise KdedgeError(f"{source} is not an .onnx file; give a run directory or an .onnx "
                              "model as MODEL (and the data file second)")
        if model is not None:
            raise KdedgeError(f"--model picks a graph of a run directory, but {source} is one "
                              ".onnx file: drop --model or pass the run directory")
        return source, None
    if not source.exists():
        raise KdedgeError(f"model {source} does not exist; give a run directory (after `kdedge "
                          "export`) or an .onnx file")
    onnx_dir, root, is_run = resolve_models(source)
    file = onnx_dir / f"{model or DEFAULT_MODEL}.onnx"
    if not file.is_file():
        stems = sorted(p.name[: -len(".onnx")] for p in onnx_dir.glob("*.onnx"))
        raise KdedgeError(f"{onnx_dir} has no {file.name}; --model must be one of: "
                          f"{', '.join(stems)}")
    return file, (root if is_run else None)


# ---------------------------------------------------------------------------------------------
# The columns

def plan_columns(table: Table, scorer: Scorer, *, target: str | None,
                 keep: list[str]) -> ColumnPlan:
    """Match DATA's columns to the graph's inputs by name; refuse what cannot be matched."""
    where, columns = table.path, table.columns
    features = scorer.metadata.feature_names
    for flag, names in (("--target", [target] if target else []), ("--keep", keep)):
        absent = [n for n in names if n not in columns]
        if absent:
            raise KdedgeError(f"{where} has no column(s) {absent}; {flag} must name columns of "
                              f"its header: {_shown(columns)}")
    if target in features:
        raise KdedgeError(f"--target {target!r} is an input of {scorer.path.name}; name the "
                          "label column")
    missing = [n for n in features if n not in columns]
    if missing:
        raise KdedgeError(f"{where} lacks the column(s) {missing} that {scorer.path.name} reads "
                          f"(matched by name; it reads {features}); add them to the file")
    plan = ColumnPlan(features=list(features), keep=keep, target=target,
                      class_names=list(scorer.metadata.class_names))
    clash = [name for name in keep if name in plan.outputs[len(keep):]]
    if clash:
        raise KdedgeError(f"--keep {clash}: the output has its own column(s) of that name; "
                          "rename the column in the data file")
    repeated = sorted({name for name in plan.read if columns.count(name) > 1})
    if repeated:
        raise KdedgeError(f"{where}: column(s) {repeated} appear more than once in the header; "
                          "columns are matched by name: rename the copies")
    _note_ignored(columns, plan, scorer)
    return plan


def _note_ignored(columns: list[str], plan: ColumnPlan, scorer: Scorer) -> None:
    """Say once which columns are not used (the run's target apart)."""
    run_target = scorer.run_target
    if run_target and run_target != plan.target and run_target in columns:
        _log.info(f"column {run_target!r} (the run's target) is ignored; pass --target "
                  f"{run_target} to score the predictions against it")
    extra = [c for c in columns if c not in plan.read and c != run_target]
    if extra:
        _log.warning(f"ignoring {len(extra)} column(s) {scorer.path.name} does not read: "
                     f"{_shown(extra)}")


def _shown(names: list[str]) -> str:
    return ", ".join(names[:SHOWN_COLUMNS]) + (" …" if len(names) > SHOWN_COLUMNS else "")


# ---------------------------------------------------------------------------------------------
# The output

def output_path(out: str | os.PathLike | None, data: Path, *, force: bool) -> Path:
    """The file to write, checked before any row is read."""
    path = Path(str(out)) if out is not None else data.with_name(data.stem + OUTPUT_SUFFIX)
    suffix = path.suffix.lower()
    if suffix != ".csv" and suffix not in PARQUET_SUFFIXES:
        raise KdedgeError(f"--out {path}: give a .csv or .parquet file name")
    if suffix in PARQUET_SUFFIXES:
        import_pyarrow(f"writing {path}")
    if path.exists() and path.resolve() == data.resolve():
        raise KdedgeError(f"--out {path} is the data file itself; choose another --out")
    if path.is_dir():
        raise KdedgeError(f"--out {path} is a folder; give a file name")
    if path.exists() and not force:
        raise KdedgeError(f"{path} already exists; pass --force to replace it or choose "
                          "another --out")
    if not path.parent.is_dir():
        raise KdedgeError(f"--out {path}: the folder {path.parent} does not exist; create it "
                          "or choose another --out")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise KdedgeError(f"--out {path}: no permission to write in {path.parent}; choose "
                          "another --out")
    return path


@contextlib.contextmanager
def staged_output(path: Path, columns: list[str]):
    """A writer on a temporary file next to `path`, renamed to `path` when the block ends
    without an error and removed when it raises: readers never see half a file."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise KdedgeError(f"--out {path}: cannot create a file in {path.parent} ({exc}); "
                          "choose a writable --out") from exc
    temporary, writer = Path(name), None
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp is owner-only; give a plain open()'s mode
        os.close(fd)
        parquet = path.suffix.lower() in PARQUET_SUFFIXES
        writer = (_ParquetOutput if parquet else _CsvOutput)(temporary, columns)
        yield writer
        writer.close()
        writer = None
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        temporary.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _CsvOutput:
    """Comma-separated UTF-8, `.` as the decimal point, probabilities with 9 significant digits."""

    def __init__(self, path: Path, columns: list[str]):
        self._handle = open(path, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(columns)

    def write(self, chunk: Chunk, keep: list[str], labels: list[str],
              probabilities: np.ndarray) -> None:
        columns = ([column_text(chunk, name) for name in keep] + [labels]
                   + [list(map(PROBABILITY_FORMAT.format, p)) for p in probabilities.T.tolist()])
        self._writer.writerows(zip(*columns))

    def close(self) -> None:
        self._handle.close()


class _ParquetOutput:
    """One row group per chunk; kept columns keep their Parquet types (text from a CSV)."""

    def __init__(self, path: Path, columns: list[str]):
        self._parquet = import_pyarrow(f"writing {path}")
        self._path, self._columns, self._writer = path, columns, None

    def write(self, chunk: Chunk, keep: list[str], labels: list[str],
              probabilities: np.ndarray) -> None:
        import pyarrow as pa

        kept = [chunk.values[name] for name in keep]
        arrays = ([pa.array(v) if isinstance(v, list) else v for v in kept]
                  + [pa.array(labels, pa.string())]
                  + [pa.array(probabilities[:, j]) for j in range(probabilities.shape[1])])
        batch = pa.Table.from_arrays(arrays, names=self._columns)
        if self._writer is None:
            self._writer = self._parquet.ParquetWriter(self._path, batch.schema)
        self._writer.write_table(batch)

    def close(self) -> None:
        import pyarrow as pa

        if self._writer is None:  # no data rows: the columns alone
            n_probabilities = sum(c.startswith(PROBABILITY_PREFIX) for c in self._columns)
            n_text = len(self._columns) - n_probabilities
            types = [pa.string()] * n_text + [pa.float32()] * n_probabilities
            self._parquet.write_table(pa.table({c: pa.array([], t) for c, t in
                                                zip(self._columns, types)}), self._path)
            return
        self._writer.close()


# ---------------------------------------------------------------------------------------------
# The summary

def _log_summary(tally: Tally, scorer: Scorer, out_path: Path, seconds: float,
                 target: str | None) -> None:
    rate = tally.rows / seconds if seconds > 0 else float("inf")
    _log.info(f"{tally.rows:,} rows scored by {scorer.path} → {out_path} in {seconds:.2f} s "
              f"({rate:,.0f} rows/s, onnxruntime on 1 thread)")
    if not tally.rows:
        _log.warning(f"{out_path} has no rows: the data file has a header but no data rows")
    if target is None or tally.confusion is None:
        return
    if tally.other_rows:
        _log.warning(f"{tally.other_rows:,} rows have a --target {target!r} value that is no "
                     f"class of the model (e.g. {tally.other_values}; classes: "
                     f"{tally.class_names}); they are left out of the accuracy")
    scored = int(tally.confusion.sum())
    if not scored:
        return
    correct = int(np.trace(tally.confusion))
    _log.info(f"--target {target!r}: accuracy {correct / scored:.4f} ({correct:,} of "
              f"{scored:,} rows)\n" + format_confusion(tally.confusion, tally.class_names))


def format_confusion(confusion: np.ndarray, class_names: list[str]) -> str:
    """The confusion matrix as aligned text: rows true class, columns predicted class."""
    width = max(len(str(int(confusion.max()))), *(len(n) for n in class_names))
    lines = ["confusion matrix (rows: true class, columns: predicted class):",
             " " * width + "".join(f"  {n:>{width}}" for n in class_names)]
    for name, row in zip(class_names, confusion):
        lines.append(f"{name:>{width}}" + "".join(f"  {int(v):>{width}}" for v in row))
    return "\n".join(lines)
