"""Load a tabular data set, validate it, and split it into train / validation / test.

Sources: the built-in default (`data=None`), a scikit-learn bundled set by name, or a CSV/Parquet
file with a `target` column. Every problem is reported with the file, column or argument and the
fix, before anything is written.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kdedge.contract import Scaler
from kdedge.params import Real, check_params
from kdedge.rundir import KdedgeError, sha256_file

SKLEARN_SETS = ("wine", "breast_cancer", "digits", "iris")
DEFAULT_NAME = "default"
# The built-in set has its own fixed seed so "the default data" is one data set whatever --seed is.
DEFAULT_DATA_SEED = 42
MIN_ROWS_PER_CLASS = 2  # per split, on average: a 10-row file cannot be split meaningfully
SHOWN_NAMES = 10  # names listed in a message before "and N more"
SHOWN_COLUMNS = 25  # columns a "--target must be one of" list shows at each end of a long list
HEADER_PROBE_ROWS = 1000  # data rows searched for a header cell that is really a value
# A number as a CSV cell holds it: decimal point or comma, optional exponent (no nan/inf: those
# are plausible column names).
_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")
_INDEX = re.compile(r"[-+]?\d+")
# pandas' bookkeeping per column of a parsed table, measured: read_csv of 100,000 columns x 30
# rows peaked at 390 MB of resident memory for 24 MB of values
PANDAS_COLUMN_BYTES = 4096
SPLIT_PARAMETERS = {"test_size": Real(0, 1, closed="neither"),
                    "val_size": Real(0, 1, closed="neither")}


@dataclass
class Dataset:
    """A validated table: raw float features, class indices, and where it came from."""

    X: np.ndarray  # [rows, features] float64, raw (unscaled)
    y: np.ndarray  # [rows] int64 class index into class_names
    feature_names: list[str]
    class_names: list[str]
    target: str
    source: str  # "builtin", "sklearn" or "file"
    name: str
    sha256: str | None = None
    dropped_constant: list[str] = field(default_factory=list)
    counts: list[int] | None = None  # rows per class when X and y are not held (streamed data)

    @property
    def rows(self) -> int:
        return int(sum(self.counts)) if self.counts is not None else len(self.y)

    def class_counts(self) -> list[int]:
        """Rows per class over every split."""
        if self.counts is not None:
            return list(self.counts)
        return np.bincount(self.y, minlength=len(self.class_names)).tolist()


@dataclass
class Split:
    """Raw rows of each split; the scaler is fitted on `X_train` only."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    scaler: Scaler

    @property
    def n_train(self) -> int:
        """Training rows (streamed data holds only a sample of them in X_train)."""
        return len(self.y_train)

    def class_counts(self, n_classes: int) -> dict[str, list[int]]:
        """Rows per class of each split: {"train": [...], "val": [...], "test": [...]}."""
        return {name: np.bincount(y, minlength=n_classes).tolist()
                for name, y in (("train", self.y_train), ("val", self.y_val),
                                ("test", self.y_test))}


@dataclass(frozen=True)
class Classes:
    """The class labels and, for binary data, which one is the positive class: the class whose
    recall, precision, ROC-AUC and PR-AUC are reported."""

    names: list[str]
    positive: int | None  # index into names; None for multi-class data
    rule: str | None  # how `positive` was chosen (metrics.json's data.positive_rule)

    @property
    def positive_name(self) -> str | None:
        return None if self.positive is None else self.names[self.positive]


MINORITY_RULE = "the minority class of the training split"
TIE_RULE = "the training split is balanced: the second label in sorted order"
REQUESTED_RULE = "--positive"


def positive_class(class_names: list[str], y_train: np.ndarray,
                   requested: str | None = None, *,
                   train_counts: list[int] | None = None) -> Classes:
    """The positive class of binary data: `requested` (a class label as the user wrote it,
    compared as text), else the minority class of the training split (a tie: index 1), counted
    from `y_train` or given as `train_counts` (streamed data).

    Raises:
        KdedgeError: `requested` is not one of the labels, or the data is not binary.
    """
    if len(class_names) != 2:
        if requested is not None:
            raise KdedgeError(
                f"--positive {requested} applies to binary data only, but the target has "
                f"{len(class_names)} classes ({', '.join(class_names)}): drop --positive "
                "(multi-class figures are macro averages over every class)")
        return Classes(names=list(class_names), positive=None, rule=None)
    if requested is not None:
        if str(requested) not in class_names:
            raise KdedgeError(f"--positive {requested!r} is not a class label; the target's "
                              f"labels are: {', '.join(repr(n) for n in class_names)}")
        return Classes(names=list(class_names), positive=class_names.index(str(requested)),
                       rule=REQUESTED_RULE)
    counts = (np.asarray(train_counts) if train_counts is not None
              else np.bincount(y_train, minlength=2))
    if counts[0] == counts[1]:
        return Classes(names=list(class_names), positive=1, rule=TIE_RULE)
    return Classes(names=list(class_names), positive=int(np.argmin(counts)), rule=MINORITY_RULE)


def make_default() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The built-in default: 5,000 rows, 13 numeric features, binary, ~20% positives.

    Modelled on the seed report's data. `sklearn.datasets.make_classification` with 4 informative
    features, 2 redundant ones (linear mixtures of the informative), 7 pure-noise ones, columns
    shuffled so the informative ones are not simply the first; class weights 80/20, clusters
    separated by `class_sep=2.0`, 1% of labels flipped at random, so the classes overlap and no
    model is perfect (the seed-sized teacher scores ~0.97 on test).
    """
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=5000, n_features=13, n_informative=4, n_redundant=2, n_repeated=0,
        n_classes=2, n_clusters_per_class=2, weights=[0.8], flip_y=0.01, class_sep=2.0,
        shuffle=True, random_state=DEFAULT_DATA_SEED,
    )
    return X, y, [f"feature_{i}" for i in range(X.shape[1])]


def memory_budget() -> int:
    """Half this machine's physical memory (4 GiB where the system does not say): the most a run
    may plan to use, so a table far wider than it is long is refused before it is read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, OSError, ValueError):
        return 4 << 30


def format_bytes(n: float) -> str:
    """`1.5 GiB`, `64.0 MiB`: binary units, one decimal."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def summarise(items: list | dict, shown: int = SHOWN_NAMES) -> str:
    """Names (or name: count) for a message: all of them up to `shown`, else the first `shown` and
    a count of the rest (a 1,000,000-column file once produced a 10.9 MB warning)."""
    kind = type(items) if isinstance(items, dict) else list
    entries = list(items.items()) if isinstance(items, dict) else list(items)
    if len(entries) <= shown:
        return str(kind(entries))
    return f"{kind(entries[:shown])} and {len(entries) - shown:,} more"


def check_shape(rows: int, features: int, where: str, *,
                training_bytes: Callable[[int], int] | None = None) -> None:
    """Refuse a table this machine cannot hold (and train on), before it is read; warn when it has
    more feature columns than rows.

    The estimate: pandas' bookkeeping (~4 KiB a column, measured on 100,000 columns) and three
    float64 copies of the table (frame, feature matrix, split), plus `training_bytes(features)`
    (distill's models, whose widest layers grow with the column count). The budget is
    `memory_budget()`.
    """
    table = features * PANDAS_COLUMN_BYTES + 3 * 8 * rows * features
    models = training_bytes(features) if training_bytes else 0
    budget = format_bytes(memory_budget())
    if table > memory_budget():
        raise KdedgeError(
            f"{where}: {features:,} feature columns x {rows:,} rows need about "
            f"{format_bytes(table)} to read and hold, more than the memory budget {budget} (half "
            "this machine's memory); select fewer columns or rows before running kdedge")
    if table + models > memory_budget():
        raise KdedgeError(
            f"{where}: {features:,} features need about {format_bytes(table + models)} to train "
            f"({format_bytes(models)} for the models' weights, gradients and optimiser state, "
            f"which grow with the column count), more than the memory budget {budget} (half this "
            "machine's memory); select fewer columns, or lower --rank (the all-features "
            "student's factors: 2n/3 by default) and --teacher_hidden")
    if features > rows:
        warnings.warn(f"{where}: {features:,} feature columns but only {rows:,} rows (about "
                      f"{format_bytes(table + models)} in memory): the teacher can memorise the "
                      "training split and the feature ranking is noisy; consider fewer columns",
                      stacklevel=4)


def _sniff_delimiter(path: Path) -> str:
    """`,` `;` tab or `|`, from the file's first line (`,` when in doubt)."""
    # utf-8-sig strips a byte-order mark, which would otherwise glue itself to the first column
    # name.
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            head = handle.read(64 * 1024)
    except UnicodeDecodeError as exc:
        raise KdedgeError(f"{path} is not UTF-8 text ({exc}); re-save it as UTF-8") from exc
    if not head.strip():
        raise KdedgeError(f"{path} is empty; give a file with a header row and data rows")
    try:
        return csv.Sniffer().sniff(head.splitlines()[0], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def headerless_names(count: int) -> list[str]:
    """The column names of a file read with --no_header: col_0, col_1, …"""
    return [f"col_{i}" for i in range(count)]


def _data_like_header(header: list[str]) -> list[int] | None:
    """None when the first line reads as column names; else the columns whose cells are text
    (not numbers): the line is a data row if each of those cells also occurs as a value in its
    column (an empty list: every cell is a number, the line is data already).

    Three or more column names counting 0, 1, 2, … (or 1, 2, 3, …) are names: pandas writes
    them for unnamed columns."""
    numeric = [bool(_NUMBER.fullmatch(cell.strip())) for cell in header]
    if sum(numeric) * 2 < len(header):
        return None
    cells = [cell.strip() for cell in header]
    counting = ([str(i) for i in range(len(cells))], [str(i) for i in range(1, len(cells) + 1)])
    if len(cells) >= 3 and cells in counting:
        return None
    return [j for j, is_number in enumerate(numeric) if not is_number]


def _csv_shape(path: Path, delimiter: str, no_header: bool = False) -> tuple[list[str], int]:
    """The column names and the number of data rows, after checking that every row has as many
    fields as the first and that the first line is a header (`_data_like_header`) unless
    `no_header`. pandas checks neither: one field more on every row (an unquoted thousands
    separator, `8,496`) silently became a hidden index that shifted every column, and a file
    without a header lost its first row to the column names."""
    rows, bad, first = 0, 0, None
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader)
            suspects = None if no_header else _data_like_header(header)
            pending = set(suspects or ())
            for row in reader:
                if not row:
                    continue  # a blank line: pandas skips it too
                rows += 1
                if len(row) != len(header):
                    bad += 1
                    first = first or (reader.line_num, len(row))
                elif pending and rows <= HEADER_PROBE_ROWS:
                    pending -= {j for j in pending if row[j] == header[j]}
    except (csv.Error, UnicodeDecodeError) as exc:
        raise KdedgeError(f"{path} could not be parsed as CSV ({exc}); check the file") from exc
    if suspects is not None and not pending:
        raise _no_header_error(path, header, every_number=not suspects)
    if no_header:
        header, rows = headerless_names(len(header)), rows + 1
    if first:
        raise KdedgeError(
            f"{path} line {first[0]} has {first[1]} fields but the header has {len(header)} "
            f"({bad:,} of {rows:,} lines differ); quote fields that contain the delimiter "
            f"{delimiter!r} (an unquoted thousands separator: \"8,496\") or fix those lines")
    return header, rows


def _no_header_error(path: Path, header: list[str], *, every_number: bool) -> KdedgeError:
    why = ("every cell is a number" if every_number else
           "its cells are numbers, and its text cells occur as values further down")
    return KdedgeError(
        f"{path}: this file seems to have no header row: its first line {summarise(header)} "
        f"looks like data ({why}), and read as column names it would be lost; if the file has "
        "no header, pass --no_header (the columns are then named col_0, col_1, …, and --target "
        "takes a column index: -1 for the last column); else give it a header row of names")


def _parquet_shape(path: Path) -> tuple[list[str], int]:
    """Column names and row count from the Parquet footer, without reading the data."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        return list(parquet.schema_arrow.names), parquet.metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise KdedgeError(f"{path} could not be read as Parquet ({exc}); check the file") from exc


def _check_header(names: list[str], rows: int, path: Path) -> None:
    """Refuse duplicated column names (pandas renames the copies `a.1`: a copy of the target then
    leaks the label into the features) and a table without data rows."""
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        raise KdedgeError(f"{path}: duplicate column names {summarise(duplicates)}; every column "
                          "needs its own name (a copy of the target would leak the label into "
                          "the features): rename or drop the copies")
    if rows == 0:
        raise KdedgeError(f"{path} has a header but no data rows; give a file with data rows")


def _read_table(path: Path, training_bytes: Callable[[int], int] | None = None,
                no_header: bool = False):
    """The file as a DataFrame, after checking its header, its rows' field counts (CSV) and its
    shape against the memory budget (`check_shape`), all before pandas parses it."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        if no_header:
            raise KdedgeError(f"{path}: a Parquet file always names its columns; drop --no_header")
        names, rows = _parquet_shape(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        delimiter = _sniff_delimiter(path)
        names, rows = _csv_shape(path, delimiter, no_header)
    else:
        raise KdedgeError(
            f"{path}: unknown file type {suffix!r}; give a .csv, .tsv or .parquet file"
        )
    _check_header(names, rows, path)
    check_shape(rows, len(names) - 1, str(path), training_bytes=training_bytes)
    if suffix not in (".parquet", ".pq"):
        return _read_csv(path, delimiter, names if no_header else None)
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise KdedgeError(f"{path} could not be read as Parquet ({exc}); check the file") from exc


def _read_csv(path: Path, delimiter: str, names: list[str] | None = None):
    """The CSV as a DataFrame; `names`: the file has no header row, these are its columns."""
    import pandas as pd

    header = dict(header=None, names=names) if names else {}
    try:
        frame = pd.read_csv(path, sep=delimiter, encoding="utf-8-sig", **header)
        if delimiter == ";" and _has_decimal_commas(frame):
            # `;` as delimiter usually comes with `,` as decimal separator (European locales).
            frame = pd.read_csv(path, sep=delimiter, decimal=",", encoding="utf-8-sig", **header)
    except Exception as exc:
        raise KdedgeError(f"{path} could not be parsed as CSV ({exc}); check the file") from exc
    return frame


def _has_decimal_commas(frame) -> bool:
    """True when some text column reads entirely as numbers written with a decimal comma."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column].dropna()
        if not pd.api.types.is_numeric_dtype(values) and len(values) and values.astype(str).str.fullmatch(
                r"\s*[-+]?\d*,\d+\s*").all():
            return True
    return False


def column_list(columns: list[str], shown: int = SHOWN_COLUMNS) -> str:
    """Column names for a message: all of them, or the first and the last `shown` with a count
    between, so the end of the list (where the label column often is) is always there."""
    if len(columns) <= 2 * shown + 1:
        return ", ".join(columns)
    return (", ".join(columns[:shown]) + f", … ({len(columns) - 2 * shown:,} more) …, "
            + ", ".join(columns[-shown:]))


def resolve_target(target: str, columns: list[str], path: Path, *, no_header: bool = False) -> str:
    """The name of the label column `--target` means: a column name, or with `no_header` also a
    column index (`-1`: the last).

    Raises:
        KdedgeError: no such column; lists close names first, then every column.
    """
    if target in columns:
        return target
    if no_header and _INDEX.fullmatch(target.strip()):
        index = int(target)
        if -len(columns) <= index < len(columns):
            return columns[index]
        raise KdedgeError(f"--target {target} is out of range: {path} has {len(columns)} columns; "
                          f"give an index from 0 to {len(columns) - 1}, or -1 for the last")
    close = difflib.get_close_matches(target, columns, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    if not no_header and _INDEX.fullmatch(target.strip()):
        hint += ("(a column index such as -1 works with --no_header, for a file without a "
                 "header row) ")
    raise KdedgeError(f"{path} has no column {target!r}; {hint}--target must be one of: "
                      f"{column_list(columns)}")


def _from_frame(frame, *, target: str, path: Path,
                no_header: bool = False) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """(features, labels, feature names, the target column's name) of a parsed table."""
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    target = resolve_target(target, columns, path, no_header=no_header)
    labels = frame[target]
    if labels.isna().any():
        raise KdedgeError(
            f"{path}: target column {target!r} has {int(labels.isna().sum())} empty values; "
            "drop those rows or fill them"
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise KdedgeError(f"{path} has no feature columns besides the target {target!r}")
    # bool columns count as numeric (0/1); everything else must be a number already.
    non_numeric = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise KdedgeError(
            f"{path}: feature columns must be numeric, but {summarise(non_numeric)} are not; "
            "encode them as numbers (e.g. one-hot) or remove them from the file "
            "(numbers with a decimal comma are read as such only in `;`-separated files)"
        )
    return (features.to_numpy(dtype=np.float64), labels.to_numpy(), list(features.columns),
            target)


def _check_finite(X: np.ndarray, feature_names: list[str], where: str) -> None:
    bad = ~np.isfinite(X)
    if bad.any():
        counts = {feature_names[j]: int(n) for j, n in enumerate(bad.sum(axis=0)) if n}
        raise KdedgeError(
            f"{where}: missing or infinite values (column: count) {summarise(counts)}; "
            "impute them or drop those rows before running kdedge"
        )


def _drop_constant(X: np.ndarray, names: list[str],
                   where: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Drop constant columns (no information, zero scale) with a warning.

    Returns:
        (X without them, the remaining names, the dropped names).
    """
    constant = np.ptp(X, axis=0) == 0
    dropped = [name for name, drop in zip(names, constant) if drop]
    if not dropped:
        return X, names, []
    if constant.all():
        raise KdedgeError(f"{where}: every feature column is constant; nothing to learn from")
    # stacklevel 4 skips this helper, load_dataset and prepare: through `kdedge distill` the
    # warning names the line of distill() that loads the data.
    warnings.warn(f"{where}: dropping constant feature columns {summarise(dropped)}",
                  stacklevel=4)
    return X[:, ~constant], [name for name, drop in zip(names, constant) if not drop], dropped


def dataset_name(data: str | None) -> str:
    """What runs of a data set are named after: `default`, the scikit-learn set, the file's stem."""
    if data is None or data == DEFAULT_NAME:
        return DEFAULT_NAME
    return data if data in SKLEARN_SETS else Path(data).stem


def _load_sklearn(data: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{data}")()
    labels = np.asarray(bunch.target_names)[bunch.target] if data != "digits" else bunch.target
    return bunch.data.astype(np.float64), labels, [str(n) for n in bunch.feature_names]


def _data_file(data: str, target: str | None) -> Path:
    path = Path(data)
    if not path.is_file():
        raise KdedgeError(
            f"--data {data!r} is neither an existing file nor a built-in set; "
            f"give a CSV/Parquet path or one of: {', '.join(SKLEARN_SETS)} (or omit it)"
        )
    if not target:
        raise KdedgeError(f"--target is required with a data file: name the label column of {path}")
    return path


def load_dataset(data: str | None = None, *, target: str | None = None, no_header: bool = False,
                 training_bytes: Callable[[int], int] | None = None) -> Dataset:
    """Load and validate a data set.

    Args:
        data: None for the built-in default, a scikit-learn set name (wine, breast_cancer, digits,
            iris), or a path to a CSV/Parquet file.
        target: the label column; required for files. With `no_header` also a column index
            (`-1`: the last column).
        no_header: the CSV file has no header row: its columns are named col_0, col_1, … A file
            whose first line looks like data (`_data_like_header`) is refused without it.
        training_bytes: the memory a caller will need to train on n feature columns, added to the
            table's own in `check_shape` (a file is checked before it is parsed).

    Constant feature columns carry no information and break standardisation: they are dropped
    with a warning and listed in `Dataset.dropped_constant`.
    """
    sha, name = None, dataset_name(data)
    where = f"--data {data}" if data else "built-in data"
    builtin = data is None or data == DEFAULT_NAME or data in SKLEARN_SETS
    for flag, given in (("--target", target), ("--no_header", no_header)):
        if given and builtin:
            raise KdedgeError(f"{flag} applies to data files only; the built-in set "
                              f"{data or DEFAULT_NAME!r} has its own columns: drop {flag}")
    if builtin:
        X, labels, names = make_default() if name == DEFAULT_NAME else _load_sklearn(data)
        source, target_name = ("builtin" if name == DEFAULT_NAME else "sklearn"), "target"
        check_shape(*X.shape, where, training_bytes=training_bytes)
    else:
        path = _data_file(data, target)
        frame = _read_table(path, training_bytes, no_header)
        X, labels, names, target_name = _from_frame(frame, target=target, path=path,
                                                    no_header=no_header)
        source, sha = "file", sha256_file(path)
    _check_finite(X, names, where)

    X, names, dropped = _drop_constant(X, names, where)

    values, y = np.unique(np.asarray(labels), return_inverse=True)
    if len(values) < 2:
        raise KdedgeError(
            f"{where}: the target {target_name!r} has a single class ({str(values[0])!r}); "
            "a classifier needs at least two"
        )
    return Dataset(X=X, y=y.astype(np.int64), feature_names=names,
                   class_names=[str(v) for v in values], target=target_name, source=source,
                   name=name, sha256=sha, dropped_constant=dropped)


def split_dataset(ds: Dataset, *, test_size: float = 0.2, val_size: float = 0.2,
                  seed: int = 0) -> Split:
    """Stratified train / validation / test split; `val_size` is a fraction of the non-test rows."""
    from sklearn.model_selection import train_test_split

    check_params(SPLIT_PARAMETERS, locals())
    counts = np.bincount(ds.y, minlength=len(ds.class_names))
    n = len(ds.y)
    n_test = int(np.ceil(test_size * n))
    n_val = int(np.ceil(val_size * (n - n_test)))
    n_classes = len(ds.class_names)
    # Every split needs every class, and at least two rows of each on average, or its metrics
    # (accuracy steps of 1/n, undefined AUCs) and the report's plots mean nothing.
    need = MIN_ROWS_PER_CLASS * n_classes
    if counts.min() < 3 or min(n_test, n_val, n - n_test - n_val) < need:
        rare = {ds.class_names[i]: int(c) for i, c in enumerate(counts) if c < 3}
        raise KdedgeError(
            f"{ds.name}: {n} rows are too few for a stratified train/validation/test split of "
            f"{n_classes} classes (split sizes {n - n_test - n_val}/{n_val}/{n_test}; each needs "
            f"at least {need} rows; classes with < 3 rows: {rare or 'none'}); "
            "add rows, merge rare classes or change --test_size/--val_size"
        )
    X_rest, X_test, y_rest, y_test = train_test_split(
        ds.X, ds.y, test_size=n_test, stratify=ds.y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=n_val, stratify=y_rest, random_state=seed)
    return Split(X_train=X_train, y_train=y_train, X_val=X_val, y_val=y_val, X_test=X_test,
                 y_test=y_test, scaler=Scaler.fit(X_train))
