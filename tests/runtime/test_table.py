"""runtime/table.py: the streamed CSV/Parquet reader, with distill's reader conventions."""

from __future__ import annotations

import numpy as np
import pytest

from kdedge.errors import KdedgeError
from kdedge.runtime.table import (SNIFF_CHARS, CsvDialect, column_text, has_decimal_commas,
                                  numeric_matrix, open_table, read_chunks, sniff_csv)


def _write(path, text: str, encoding: str = "utf-8"):
    path.write_text(text, encoding=encoding, newline="")
    return path


def _all_rows(table, columns, chunk_rows=2):
    chunks = list(read_chunks(table, columns, chunk_rows=chunk_rows))
    return chunks, np.concatenate([numeric_matrix(table, c, columns) for c in chunks])


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_sniff_csv_finds_each_delimiter(tmp_path, delimiter):
    path = _write(tmp_path / "t.csv", delimiter.join(["a", "b", "c"]) + "\n"
                  + delimiter.join(["1.5", "2", "x"]) + "\n")
    assert sniff_csv(path) == CsvDialect(delimiter=delimiter, decimal_comma=False)


def test_open_table_strips_byte_order_mark(tmp_path):
    path = _write(tmp_path / "bom.csv", "a,b\n1,2\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    table = open_table(path)
    assert table.columns == ["a", "b"]
    _, matrix = _all_rows(table, ["a", "b"])
    assert matrix.tolist() == [[1.0, 2.0]]


def test_semicolon_file_with_decimal_commas_reads_numbers(tmp_path):
    path = _write(tmp_path / "eu.csv", "a;b;name\n1,5;-0,25;x\n2;3,0;y\n")
    table = open_table(path)
    assert table.dialect == CsvDialect(delimiter=";", decimal_comma=True)
    _, matrix = _all_rows(table, ["b", "a"])
    assert matrix.tolist() == [[-0.25, 1.5], [3.0, 2.0]]


def test_decimal_comma_only_with_semicolons():
    assert has_decimal_commas([["1,5", "x"], ["", "y"], ["2,25", "z"]])
    assert not has_decimal_commas([["1,5", "x"], ["2", "y"]])  # a column mixing both: not numbers
    assert not has_decimal_commas([])


def test_comma_file_is_never_decimal_comma(tmp_path):
    path = _write(tmp_path / "t.csv", 'a,b\n"1,5",2\n')
    assert sniff_csv(path).decimal_comma is False


def test_dialect_decided_on_the_head_only(tmp_path):
    # rows past SNIFF_CHARS do not change the dialect, and a cut-off last line is not sampled
    head = "a;b\n" + "1,5;2,5\n" * (SNIFF_CHARS // 8 + 10)
    assert sniff_csv(_write(tmp_path / "t.csv", head + "x;y\n")).decimal_comma is True


def test_read_chunks_numbers_rows_across_chunks_and_skips_blank_lines(tmp_path):
    path = _write(tmp_path / "t.csv", "a,b,id\n1,2,r1\n\n3,4,r2\n5,6,r3\n\n7,8,r4\n9,10,r5\n")
    table = open_table(path)
    chunks, matrix = _all_rows(table, ["b", "id"][:1], chunk_rows=2)
    assert [(c.first_row, c.rows) for c in chunks] == [(1, 2), (3, 2), (5, 1)]
    assert matrix[:, 0].tolist() == [2, 4, 6, 8, 10]
    assert [column_text(c, "id") for c in read_chunks(table, ["id"], chunk_rows=5)] == \
        [["r1", "r2", "r3", "r4", "r5"]]


def test_quoted_fields_keep_their_delimiters(tmp_path):
    path = _write(tmp_path / "t.csv", 'a,name\n1,"Smith, J."\n2,"two\nlines"\n')
    chunk = next(read_chunks(open_table(path), ["name", "a"], chunk_rows=10))
    assert column_text(chunk, "name") == ["Smith, J.", "two\nlines"]


@pytest.mark.parametrize("cell, says", [
    ("nan", "is nan"), ("inf", "is inf"), ("-Infinity", "is -inf"), ("", "is empty"),
    ("1e39", r"is 1e\+39 \(missing, infinite or beyond float32"),
    ("abc", "is 'abc', not a number"), ('"1,5"', "is '1,5', not a number"),
])
def test_bad_cell_names_column_and_row(tmp_path, cell, says):
    rows = [f"{i},{i * 2}" for i in range(1, 8)]
    rows[5] = f"6,{cell}"  # data row 6, in the third chunk of two rows
    path = _write(tmp_path / "t.csv", "a,b\n" + "\n".join(rows) + "\n")
    table = open_table(path)
    with pytest.raises(KdedgeError, match=rf"column 'b', data row 6 {says}") as error:
        _all_rows(table, ["a", "b"], chunk_rows=2)
    assert "counted from 1 after the header" in str(error.value)


def test_ragged_row_is_refused_with_its_number(tmp_path):
    path = _write(tmp_path / "t.csv", "a,b\n1,2\n3,4,5\n")
    with pytest.raises(KdedgeError, match="data row 2 has 3 fields but the header has 2"):
        _all_rows(open_table(path), ["a"])


@pytest.mark.parametrize("name, content, says", [
    ("missing.csv", None, "does not exist"),
    ("t.xlsx", "a,b\n", "unknown file type '.xlsx'"),
    ("empty.csv", "", "is empty"),
])
def test_open_table_refuses_unusable_files(tmp_path, name, content, says):
    path = tmp_path / name
    if content is not None:
        _write(path, content)
    with pytest.raises(KdedgeError, match=says):
        open_table(path)


def test_open_table_refuses_non_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(KdedgeError, match="not UTF-8"):
        open_table(path)


def test_parquet_chunks_numbers_text_and_nulls(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"i": [1, 2, 3, 4, 5], "f": [0.5, 1.5, 2.5, 3.5, 4.5],
                             "s": ["1", "2", "3", "4", "5"], "flag": [True, False] * 2 + [True],
                             "id": ["a", "b", None, "d", "e"],
                             "gap": [1.0, 2.0, 3.0, None, 5.0]}), path, row_group_size=2)
    table = open_table(path)
    assert table.is_parquet and table.rows == 5 and table.columns[:2] == ["i", "f"]
    chunks, matrix = _all_rows(table, ["f", "i", "s", "flag"], chunk_rows=2)
    assert [(c.first_row, c.rows) for c in chunks] == [(1, 2), (3, 2), (5, 1)]
    assert matrix.tolist() == [[0.5, 1, 1, 1], [1.5, 2, 2, 0], [2.5, 3, 3, 1], [3.5, 4, 4, 0],
                               [4.5, 5, 5, 1]]
    ids = [v for c in read_chunks(table, ["id"], chunk_rows=2) for v in column_text(c, "id")]
    assert ids == ["a", "b", "", "d", "e"]
    with pytest.raises(KdedgeError, match="column 'gap', data row 4 is nan"):
        _all_rows(table, ["gap"], chunk_rows=2)
    with pytest.raises(KdedgeError, match="column 'id', data row 1 is 'a', not a number"):
        _all_rows(table, ["id"], chunk_rows=2)


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    monkeypatch.setitem(__import__("sys").modules, "pyarrow.parquet", None)
    with pytest.raises(KdedgeError, match=r"`pip install pyarrow`"):
        open_table(path)
