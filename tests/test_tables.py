"""kdedge/tables.py: open_table's checks, and the units and chunks a Parquet folder or a CSV
is read in."""

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kdedge import tables
from kdedge.rundir import KdedgeError, sha256_file
from kdedge.tables import open_table

FEATURES = ["row", "a", "b", "n", "flag"]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(tables, "CHUNK_ROWS", 256)


def _frame(n=2000, seed=0):
    """`row` is the row number, so a test can tell where a row went."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"row": np.arange(n, dtype=float), "a": rng.normal(size=n),
                         "b": rng.normal(5, 3, size=n), "n": rng.integers(0, 5, n),
                         "flag": rng.random(n) < 0.3,
                         "label": np.array(["no", "yes", "maybe"])[rng.integers(0, 3, n)]})


def _csv(tmp_path, frame, name="t.csv", **kwargs):
    path = tmp_path / name
    frame.to_csv(path, index=False, **kwargs)
    return path


def _parquet_folder(tmp_path, frame, sizes=(700, 900, 400), row_group=100):
    folder, start = tmp_path / "parts", 0
    folder.mkdir()
    for i, size in enumerate(sizes):
        part = pa.Table.from_pandas(frame.iloc[start:start + size], preserve_index=False)
        pq.write_table(part, folder / f"part-{i}.parquet", row_group_size=row_group)
        start += size
    return folder


def test_open_table_parquet_folder_reads_every_row_in_order(tmp_path):
    frame = _frame()
    table = open_table(_parquet_folder(tmp_path, frame), target="label")
    assert (table.kind, table.rows, table.target) == ("parquet", 2000, "label")
    assert table.feature_names == FEATURES and table.columns == [*FEATURES, "label"]
    assert len(table.units) == 7 + 9 + 4
    assert [u.start for u in table.units] == list(range(0, 2000, 100))
    assert table.units[7].file.endswith("part-1.parquet") and table.units[7].row_group == 0
    chunks = list(table.chunks())
    assert [c.start for c in chunks] == list(range(0, 2000, 100))
    np.testing.assert_array_equal(np.concatenate([c.X for c in chunks]),
                                  frame[FEATURES].to_numpy(dtype=float))
    assert np.concatenate([c.labels for c in chunks]).tolist() == frame["label"].tolist()
    assert [c.start for c in table.chunks(table.units[12:10:-1])] == [1200, 1100]


def test_table_sha256_of_a_folder_follows_the_documented_rule(tmp_path):
    folder = _parquet_folder(tmp_path, _frame())
    lines = "".join(f"part-{i}.parquet\t{sha256_file(folder / f'part-{i}.parquet')}\n"
                    for i in range(3))
    assert open_table(folder, target="label").sha256 == hashlib.sha256(lines.encode()).hexdigest()
    single = folder / "part-0.parquet"
    assert open_table(single, target="label").sha256 == sha256_file(single)


def test_open_table_csv_chunks_equal_a_full_read(tmp_path):
    frame = _frame(1000)
    path = _csv(tmp_path, frame)
    table = open_table(path, target="label")
    assert (table.kind, table.rows, [u.rows for u in table.units]) == ("csv", 1000,
                                                                        [256, 256, 256, 232])
    full = pd.read_csv(path)
    chunks = list(table.chunks())
    np.testing.assert_array_equal(np.concatenate([c.X for c in chunks]),
                                  full[FEATURES].to_numpy(dtype=float))
    assert np.concatenate([c.labels for c in chunks]).tolist() == frame["label"].tolist()
    # asked in any order, a CSV's units come in file order
    assert [c.start for c in table.chunks([table.units[2], table.units[0]])] == [0, 512]


def test_open_table_csv_with_decimal_commas(tmp_path):
    frame = _frame(300)
    path = _csv(tmp_path, frame, sep=";", decimal=",")
    X = np.concatenate([c.X for c in open_table(path, target="label").chunks()])
    np.testing.assert_allclose(X, frame[FEATURES].to_numpy(dtype=float))


def test_open_table_headerless_csv_takes_a_column_index(tmp_path):
    frame = _frame(600)
    path = _csv(tmp_path, frame, header=False)
    table = open_table(path, target="-1", no_header=True)
    assert table.target == "col_5" and table.feature_names == [f"col_{i}" for i in range(5)]
    assert table.rows == 600  # the first line is a row
    X = np.concatenate([c.X for c in table.chunks()])
    np.testing.assert_array_equal(X[:, 0], np.arange(600))
    with pytest.raises(KdedgeError, match="no header row"):
        open_table(path, target="-1")


def test_open_table_refuses_a_text_parquet_column(tmp_path):
    path = tmp_path / "t.parquet"
    _frame(300).assign(colour="red").to_parquet(path)
    with pytest.raises(KdedgeError, match=r"must be numeric, but \['colour'\].*one-hot"):
        open_table(path, target="label")


def test_open_table_refuses_duplicate_names(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,a,label\n1,2,x\n3,4,y\n")
    with pytest.raises(KdedgeError, match=r"duplicate column names \['a'\]"):
        open_table(path, target="label")


def test_open_table_refuses_mismatched_parquet_files(tmp_path):
    folder = _parquet_folder(tmp_path, _frame(), sizes=(500, 500))
    _frame(100).rename(columns={"b": "c"}).to_parquet(folder / "part-9.parquet")
    with pytest.raises(KdedgeError, match=r"part-9.parquet has other columns than .*part-0"
                                          r".*\['b', 'c'\]"):
        open_table(folder, target="label")


@pytest.mark.parametrize("setup,match", [
    (lambda p: p.mkdir(), "no Parquet files"),
    (lambda p: None, "no such file or folder"),
])
def test_open_table_refuses_a_missing_or_empty_folder(tmp_path, setup, match):
    setup(tmp_path / "data")
    with pytest.raises(KdedgeError, match=match):
        open_table(tmp_path / "data", target="label")


def test_open_table_refuses_no_header_for_parquet_and_a_lone_target(tmp_path):
    path = tmp_path / "t.parquet"
    _frame(100).to_parquet(path)
    with pytest.raises(KdedgeError, match="drop --no_header"):
        open_table(path, target="label", no_header=True)
    _frame(100)[["label"]].to_parquet(path)
    with pytest.raises(KdedgeError, match="no feature columns besides the target"):
        open_table(path, target="label")
