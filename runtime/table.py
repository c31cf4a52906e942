"""Read a CSV/TSV or Parquet table in chunks of rows, never the whole file (no pandas, no torch).

The reader conventions are distill's (`kdedge/data.py`): a UTF-8 byte-order mark is stripped, the
delimiter is sniffed from the header line among `,` `;` tab `|`, and a `;`-separated file whose
text column reads entirely as numbers with a decimal comma is read with `,` as the decimal
separator (decided here on the first 64 KiB of the file, as a stream cannot look further ahead).
CSV goes through the standard `csv` module and numpy; Parquet through
`pyarrow.parquet.ParquetFile.iter_batches` when pyarrow is installed.

Rows are numbered as a user counts data rows: 1 is the first row after the header, blank lines
are not counted (in a file without blank lines or quoted line breaks, data row N is line N + 1).
Every problem is a `KdedgeError` naming the file, the column and the first bad row.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kdedge.errors import KdedgeError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024  # the head of a CSV the dialect is decided from
ROW_NUMBERING = "data rows counted from 1 after the header, blank lines not counted"
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+\s*")


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: its delimiter and whether numbers use a decimal comma."""

    delimiter: str
    decimal_comma: bool


@dataclass(frozen=True)
class Table:
    """An opened table: its header and format; rows are read by `read_chunks`."""

    path: Path
    columns: list[str]
    dialect: CsvDialect | None  # None for Parquet
    rows: int | None = None  # known up front for Parquet only

    @property
    def is_parquet(self) -> bool:
        return self.dialect is None


@dataclass(frozen=True)
class Chunk:
    """Consecutive rows of some columns: list[str] per column (CSV) or a pyarrow.Array (Parquet)."""

    first_row: int  # the data-row number of its first row (ROW_NUMBERING)
    rows: int
    values: dict[str, Any]


def import_pyarrow(why: str):
    """`pyarrow.parquet`, or a KdedgeError that says how to get it."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise KdedgeError(f"{why} needs pyarrow, which is not installed: `pip install pyarrow` "
                          "(or use CSV)") from exc
    return pq


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV header line among `,` `;` tab `|` (`,` when none is clear)."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def has_decimal_commas(rows: Sequence[Sequence[str]]) -> bool:
    """True when some column's non-empty values all read as numbers written with a decimal comma
    (`1,5`, `-0,25`): the European convention that comes with `;` as the delimiter."""
    width = max((len(row) for row in rows), default=0)
    for j in range(width):
        values = [row[j] for row in rows if j < len(row) and row[j].strip()]
        if values and all(_DECIMAL_COMMA.fullmatch(v) for v in values):
            return True
    return False


def sniff_csv(path: str | Path) -> CsvDialect:
    """Delimiter and decimal convention of a CSV, from its first SNIFF_CHARS characters."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            head = handle.read(SNIFF_CHARS)
            complete = not handle.read(1)
    except UnicodeDecodeError as exc:
        raise KdedgeError(f"{path} is not UTF-8 text ({exc}); re-save it as UTF-8") from exc
    if not head.strip():
        raise KdedgeError(f"{path} is empty; give a file with a header row and data rows")
    delimiter = sniff_delimiter(head.splitlines()[0])
    lines = head.splitlines()[1:] if complete else head.splitlines()[1:-1]  # drop a cut-off line
    rows = list(csv.reader(lines, delimiter=delimiter))
    return CsvDialect(delimiter=delimiter,
                      decimal_comma=delimiter == ";" and has_decimal_commas(rows))


def open_table(path: str | Path) -> Table:
    """Check that `path` is a readable CSV/TSV or Parquet file and read its header."""
    path = Path(path)
    if not path.is_file():
        raise KdedgeError(f"data file {path} does not exist; give a .csv, .tsv or .parquet file")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        parquet = _parquet_file(path)
        return Table(path=path, columns=[str(c) for c in parquet.schema_arrow.names],
                     dialect=None, rows=parquet.metadata.num_rows)
    if suffix not in CSV_SUFFIXES:
        raise KdedgeError(f"{path}: unknown file type {suffix!r}; give a .csv, .tsv or "
                          ".parquet file")
    dialect = sniff_csv(path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle, delimiter=dialect.delimiter), [])
    return Table(path=path, columns=header, dialect=dialect)


def _parquet_file(path: Path):
    pq = import_pyarrow(f"reading {path}")
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise KdedgeError(f"{path} could not be read as Parquet ({exc}); check the file") from exc


def read_chunks(table: Table, columns: Sequence[str], *, chunk_rows: int) -> Iterator[Chunk]:
    """The values of `columns` (names of `table.columns`), `chunk_rows` rows at a time."""
    if table.is_parquet:
        yield from _parquet_chunks(table, columns, chunk_rows)
    else:
        yield from _csv_chunks(table, columns, chunk_rows)


def _parquet_chunks(table: Table, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    first_row = 1
    # iter_batches decodes one row group at a time: memory follows the row-group size, not the
    # file's length.
    for batch in _parquet_file(table.path).iter_batches(batch_size=chunk_rows,
                                                        columns=list(columns)):
        if batch.num_rows:
            yield Chunk(first_row=first_row, rows=batch.num_rows,
                        values={name: batch.column(name) for name in columns})
            first_row += batch.num_rows


def _csv_chunks(table: Table, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    index = {name: table.columns.index(name) for name in columns}
    width, first_row = len(table.columns), 1
    with open(table.path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=table.dialect.delimiter)
        records = (row for row in reader if row)  # blank lines are not rows
        try:
            next(records, None)  # the header
            while rows := list(itertools.islice(records, chunk_rows)):
                if set(map(len, rows)) != {width}:  # C-speed test; the slow search on failure
                    ragged = next(i for i, row in enumerate(rows) if len(row) != width)
                    raise KdedgeError(
                        f"{table.path}: data row {first_row + ragged} has "
                        f"{len(rows[ragged])} fields but the header has {width} "
                        f"({ROW_NUMBERING}); fix that row")
                chunk = Chunk(first_row=first_row, rows=len(rows),
                              values={name: [row[j] for row in rows] for name, j in index.items()})
                # Hold no rows while the consumer works and no chunk while the next is read: at
                # most one chunk's text is alive, so memory stays flat however long the file.
                del rows
                yield chunk
                first_row += chunk.rows
                del chunk
        except (csv.Error, UnicodeDecodeError) as exc:
            raise KdedgeError(f"{table.path}: unreadable text after data row {first_row - 1} "
                              f"({exc}); check the file") from exc


def column_text(chunk: Chunk, name: str) -> list[str]:
    """A column of a chunk as text (an empty string where Parquet has a null)."""
    values = chunk.values[name]
    if isinstance(values, list):
        return values
    return ["" if v is None else str(v) for v in values.to_pylist()]


def numeric_matrix(table: Table, chunk: Chunk, names: Sequence[str]) -> np.ndarray:
    """Columns `names` of a chunk as a C-contiguous float32 [rows, len(names)] matrix.

    Raises:
        KdedgeError: naming the column and the first row that is empty, not a number, NaN or
            infinite.
    """
    matrix = np.empty((chunk.rows, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        values = _column_numbers(table, chunk, name)
        with np.errstate(over="ignore"):
            matrix[:, j] = values
        finite = np.isfinite(matrix[:, j])  # after the cast: 1e39 is finite in float64 only
        if not finite.all():
            row = int(np.argmin(finite))
            _fail(table, chunk, name, row, f"is {values[row]} (missing, infinite or beyond "
                  "float32 values cannot be scored)", "impute it or drop the row")
    return matrix


def _column_numbers(table: Table, chunk: Chunk, name: str) -> np.ndarray:
    """float64 values of one column; text is parsed, nulls become NaN."""
    values = chunk.values[name]
    if not isinstance(values, list):
        import pyarrow as pa
        import pyarrow.compute as pc

        kind = values.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
                or pa.types.is_decimal(kind):
            return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False)
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            _fail(table, chunk, name, 0, f"has Parquet type {kind}, not a number",
                  "store it as a number")
        values = column_text(chunk, name)
    if table.dialect is not None and table.dialect.decimal_comma:
        values = [v.replace(",", ".") for v in values]
    try:
        return np.array(list(map(float, values)), dtype=np.float64)  # faster than numpy's parse
    except ValueError:
        for row, value in enumerate(values):
            try:
                float(value)
            except ValueError:
                what = "is empty" if not value.strip() else f"is {value!r}, not a number"
                _fail(table, chunk, name, row, what, "fix or drop the row")


def _fail(table: Table, chunk: Chunk, name: str, row: int, what: str, fix: str) -> None:
    raise KdedgeError(f"{table.path}: column {name!r}, data row {chunk.first_row + row} {what} "
                      f"({ROW_NUMBERING}); {fix}")
