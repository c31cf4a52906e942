"""The streamed readers: a Parquet file or folder, or a CSV, as units of record batches (numpy,
pandas and pyarrow; no torch).

`open_table` checks a table from its header or footers without reading the data and returns a
`Table`: a list of `Unit`s, each what is read at once (one Parquet row group, or CHUNK_ROWS
consecutive rows of a CSV), and `Table.chunks`, which reads the rows of some units as `Chunk`s of
float64 features and raw labels. Memory stays bounded by a unit. What is done with the rows
(the split, the one summary pass, the shards and the shuffled training blocks) is kdedge.stream's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from kdedge.data import (_check_header, _csv_shape, _has_decimal_commas, _sniff_delimiter,
                         resolve_target, summarise)
from kdedge.rundir import KdedgeError, sha256_file

CHUNK_ROWS = 65_536        # rows per record batch / CSV chunk read at a time
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class Unit:
    """What is read at once: one Parquet row group, or one CHUNK_ROWS chunk of a CSV."""

    index: int  # position in Table.units
    start: int  # global 0-based data row of its first row
    rows: int
    file: str
    row_group: int | None  # None for a CSV chunk


@dataclass
class Chunk:
    """Rows start, start + 1, … of the table, as read (at most CHUNK_ROWS)."""

    start: int
    X: np.ndarray  # [rows, features] float64, every feature column in feature_names order
    labels: np.ndarray  # [rows] the target's raw values
    # feature column index → (global row, text) of its first cell that is not a number (CSV)
    text: dict[int, tuple[int, str]] = field(default_factory=dict)

    @property
    def rows(self) -> np.ndarray:
        return np.arange(self.start, self.start + len(self.X), dtype=np.int64)


class Table:
    """A table on disk, read unit by unit; made by `open_table`."""

    kind = ""

    def __init__(self, path: Path, *, columns: list[str], target: str, units: list[Unit],
                 files: list[str]):
        self.path, self.columns, self.target, self.units = path, columns, target, units
        self.files = files  # the files read, sorted
        self.feature_names = [name for name in columns if name != target]
        self.rows = sum(unit.rows for unit in units)
        if not self.feature_names:
            raise KdedgeError(f"{path} has no feature columns besides the target {target!r}")

    @cached_property
    def sha256(self) -> str:
        """sha256 of the file; of a folder, sha256 of the UTF-8 lines "name<TAB>sha256<LF>", one
        per file sorted by name (its path relative to the folder, with `/`)."""
        if not self.path.is_dir():
            return sha256_file(self.path)
        folder = self.path.resolve()
        names = sorted(Path(name).resolve().relative_to(folder).as_posix() for name in self.files)
        digest = hashlib.sha256()
        for name in names:
            digest.update(f"{name}\t{sha256_file(folder / name)}\n".encode())
        return digest.hexdigest()

    def locate(self, row: int) -> str:
        """Where a 0-based data row is, for a message: `row 7,001` (1-based)."""
        return f"row {row + 1:,}"

    def chunks(self, units: list[Unit] | None = None) -> Iterator[Chunk]:
        """The rows of `units` (every unit when None), at most CHUNK_ROWS at a time."""
        raise NotImplementedError


class ParquetTable(Table):
    """A Parquet file or a folder of them; a unit is a row group, read in the order given."""

    kind = "parquet"

    def locate(self, row: int) -> str:
        if len(self.files) == 1:
            return super().locate(row)
        unit = self.units[np.searchsorted([u.start for u in self.units], row, side="right") - 1]
        first = next(u.start for u in self.units if u.file == unit.file)
        return f"{super().locate(row)} ({Path(unit.file).name} row {row - first + 1:,})"

    def chunks(self, units: list[Unit] | None = None) -> Iterator[Chunk]:
        import pyarrow.parquet as pq

        parquet, parquet_file, columns = None, None, [*self.feature_names, self.target]
        for unit in self.units if units is None else units:
            if parquet_file != unit.file:  # one file open at a time
                parquet, parquet_file = pq.ParquetFile(unit.file), unit.file
            start = unit.start
            for batch in parquet.iter_batches(row_groups=[unit.row_group], columns=columns,
                                              batch_size=CHUNK_ROWS):
                yield Chunk(start=start, X=_arrow_features(batch, self.feature_names),
                            labels=batch.column(self.target).to_numpy(zero_copy_only=False))
                start += batch.num_rows


def _arrow_features(batch, names: list[str]) -> np.ndarray:
    """The batch's feature columns as float64 (nulls → NaN, bools → 0/1)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    X = np.empty((batch.num_rows, len(names)))
    for j, name in enumerate(names):
        X[:, j] = pc.cast(batch.column(name), pa.float64(), safe=False).to_numpy(
            zero_copy_only=False)
    return X


class CsvTable(Table):
    """A CSV file; a unit is CHUNK_ROWS consecutive rows. A CSV cannot be seeked by row, so its
    units are always read in file order, whatever order they are asked for in."""

    kind = "csv"

    def __init__(self, path: Path, *, delimiter: str, decimal: str, no_header: bool,
                 chunk_rows: int, **table):
        super().__init__(path, **table)
        self.delimiter, self.decimal, self.no_header = delimiter, decimal, no_header
        self.chunk_rows = chunk_rows  # CHUNK_ROWS when opened: the units' size

    def locate(self, row: int) -> str:
        """`row 7,001 (line 7,002)`: the line counts the header and no blank or multi-line rows."""
        return f"{super().locate(row)} (line {row + 1 + (not self.no_header):,})"

    def chunks(self, units: list[Unit] | None = None) -> Iterator[Chunk]:
        import pandas as pd

        wanted = {u.index for u in (self.units if units is None else units)}
        last = max(wanted, default=-1)
        options = _csv_options(self.delimiter, self.columns if self.no_header else None)
        try:
            with pd.read_csv(self.path, decimal=self.decimal, chunksize=self.chunk_rows,
                             **options) as reader:
                for unit, frame in zip(self.units, reader):
                    if len(frame) != unit.rows:
                        raise KdedgeError(f"{self.path} changed while kdedge read it (rows "
                                          f"{unit.start + 1:,}…: {len(frame):,} instead of "
                                          f"{unit.rows:,}); re-run on a file that stays put")
                    if unit.index in wanted:
                        yield self._chunk(unit.start, frame)
                    if unit.index >= last:
                        return
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise KdedgeError(f"{self.path} could not be parsed as CSV ({exc}); check the "
                              "file") from exc

    def _chunk(self, start: int, frame) -> Chunk:
        """A parsed chunk as floats; a text cell (pandas made its column text) becomes NaN and
        the first is remembered for the message."""
        import pandas as pd

        features, text = frame[self.feature_names], {}
        for j, dtype in enumerate(features.dtypes):
            if pd.api.types.is_numeric_dtype(dtype):
                continue
            column = features.iloc[:, j]
            numbers = pd.to_numeric(column, errors="coerce")
            failed = np.flatnonzero(numbers.isna().to_numpy() & column.notna().to_numpy())
            if len(failed):
                text[j] = (start + int(failed[0]), str(column.iloc[failed[0]]))
            features.isetitem(j, numbers)  # features is a new frame: `frame` stays as read
        return Chunk(start=start, X=features.to_numpy(dtype=np.float64),
                     labels=frame[self.target].to_numpy(), text=text)


def _csv_options(delimiter: str, names: list[str] | None) -> dict:
    """read_csv's arguments as kdedge.data._read_csv uses them; `names`: no header row."""
    header = {"header": None, "names": names} if names else {}
    return {"sep": delimiter, "encoding": "utf-8-sig", **header}


def open_table(path: str | Path, *, target: str, no_header: bool = False) -> Table:
    """A CSV file (.csv, .tsv, .txt), a Parquet file (.parquet, .pq) or a folder of Parquet
    files, checked from its header or footers without reading the data (a CSV: one pass of the
    csv module counting rows and fields, and its first chunk).

    Raises:
        KdedgeError: the path, its columns or `target` are unusable; the message says the fix.
    """
    path = Path(path)
    if not path.exists():
        raise KdedgeError(f"--data {path}: no such file or folder; give a CSV or Parquet file or "
                          "a folder of Parquet files")
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in PARQUET_SUFFIXES:
        if no_header:
            raise KdedgeError(f"{path}: Parquet always names its columns; drop --no_header")
        return _open_parquet(path, target)
    if suffix in CSV_SUFFIXES:
        return _open_csv(path, target, no_header)
    raise KdedgeError(f"{path}: unknown file type {suffix!r}; give a .csv, .tsv or .parquet file "
                      "or a folder of .parquet files")


def _open_csv(path: Path, target: str, no_header: bool) -> CsvTable:
    import pandas as pd

    delimiter = _sniff_delimiter(path)
    names, rows = _csv_shape(path, delimiter, no_header)
    _check_header(names, rows, path)
    try:  # the first chunk: pandas' column names, and whether `;` comes with decimal commas
        first = pd.read_csv(path, nrows=CHUNK_ROWS,
                            **_csv_options(delimiter, names if no_header else None))
    except Exception as exc:
        raise KdedgeError(f"{path} could not be parsed as CSV ({exc}); check the file") from exc
    decimal = "," if delimiter == ";" and _has_decimal_commas(first) else "."
    columns = [str(name) for name in first.columns]
    units = [Unit(index=i, start=start, rows=min(CHUNK_ROWS, rows - start), file=str(path),
                  row_group=None) for i, start in enumerate(range(0, rows, CHUNK_ROWS))]
    return CsvTable(path, columns=columns, units=units, files=[str(path)],
                    target=resolve_target(target, columns, path, no_header=no_header),
                    delimiter=delimiter, decimal=decimal, no_header=no_header,
                    chunk_rows=CHUNK_ROWS)


def _open_parquet(path: Path, target: str) -> ParquetTable:
    """Every row group of every file (sorted by path) as a unit, from the files' footers."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    try:
        files = sorted(ds.dataset(path, format="parquet").files)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise KdedgeError(f"{path} could not be read as Parquet ({exc}); check the file") from exc
    if not files:
        raise KdedgeError(f"{path}: no Parquet files in this folder; give a folder of .parquet "
                          "files or a single file")
    schemas, units = {}, []
    for name in files:
        try:
            footer = pq.read_metadata(name)
        except Exception as exc:
            raise KdedgeError(f"{name} could not be read as Parquet ({exc}); check the file (a "
                              "data folder may hold Parquet files only)") from exc
        schemas[name] = footer.schema.to_arrow_schema()
        for group in range(footer.num_row_groups):
            rows = footer.row_group(group).num_rows
            start = units[-1].start + units[-1].rows if units else 0
            if rows:
                units.append(Unit(index=len(units), start=start, rows=rows, file=name,
                                  row_group=group))
    columns = _parquet_columns(schemas, sum(unit.rows for unit in units), path)
    target = resolve_target(target, columns, path)
    _check_numeric(schemas, [name for name in columns if name != target], path)
    return ParquetTable(path, columns=columns, target=target, units=units, files=files)


def _parquet_columns(schemas: dict, rows: int, path: Path) -> list[str]:
    """The first file's columns (less a pandas index stored as a column, as pandas.read_parquet
    reads it); every other file must have the same."""
    def names(schema) -> list[str]:
        index = (schema.pandas_metadata or {}).get("index_columns", [])
        return [name for name in schema.names if name not in index]

    first, *others = schemas
    columns = names(schemas[first])
    _check_header(columns, rows, path)
    for other in others:
        if sorted(names(schemas[other])) != sorted(columns):
            differ = sorted(set(columns) ^ set(names(schemas[other])))
            raise KdedgeError(f"{path}: {other} has other columns than {first} (differing: "
                              f"{summarise(differ or ['a duplicated name'])}); every file of a "
                              "data folder needs the same columns")
    return columns


def _check_numeric(schemas: dict, features: list[str], path: Path) -> None:
    """Refuse a feature column that is not a number (bools and integers are) in any file."""
    import pyarrow as pa

    for name, schema in schemas.items():
        bad = [c for c in features if not (pa.types.is_integer(t := schema.field(c).type)
                                           or pa.types.is_floating(t) or pa.types.is_boolean(t))]
        if bad:
            where = f"{path}" if len(schemas) == 1 else f"{path} ({name})"
            raise KdedgeError(f"{where}: feature columns must be numeric, but {summarise(bad)} "
                              "are not; encode them as numbers (e.g. one-hot) or remove them "
                              "from the file")
