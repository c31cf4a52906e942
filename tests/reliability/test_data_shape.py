"""Issue 13, items 1-3 and the empty-Parquet part of 14: data that used to load silently wrong
(shifted columns, duplicated names), a table far wider than it is long, and an empty Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kdedge import data
from kdedge.data import load_dataset
from kdedge.rundir import KdedgeError


def _text(path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_rows_with_one_field_more_than_the_header_are_refused_naming_the_line(tmp_path):
    """Item 1: `8,496,20,yes` under `income,age,label` (an unquoted thousands separator). pandas
    made the first field a hidden index and shifted every column: income read as 496."""
    rows = "".join(f"{8 + i % 3},{100 + i},{20 + i},{'yes' if i % 2 else 'no'}\n"
                   for i in range(40))
    path = _text(tmp_path / "shifted.csv", "income,age,label\n" + rows)
    with pytest.raises(KdedgeError, match=r"shifted.csv line 2 has 4 fields but the header "
                                          r"has 3.*40 lines"):
        load_dataset(path, target="label")


def test_a_row_with_fewer_fields_than_the_header_is_refused_naming_the_line(tmp_path):
    """Item 1: a short row used to become NaN (a 'missing values' count naming no line)."""
    rows = [f"{i},{i * 2},{'yes' if i % 2 else 'no'}" for i in range(30)]
    rows[6] = "6,12"
    path = _text(tmp_path / "short.csv", "a,b,label\n" + "\n".join(rows) + "\n")
    with pytest.raises(KdedgeError, match=r"short.csv line 8 has 2 fields but the header has 3"):
        load_dataset(path, target="label")


def test_duplicate_csv_column_names_are_refused_naming_them(tmp_path):
    """Item 2: pandas renamed `label,label` to `label`, `label.1`; the copy became a feature,
    ranked first, and the teacher scored 1.0 (target leakage)."""
    rows = "".join(f"{i},{i % 2},{i % 2}\n" for i in range(30))
    path = _text(tmp_path / "dup.csv", "x,label,label\n" + rows)
    with pytest.raises(KdedgeError, match=r"dup.csv: duplicate column names \['label'\]"):
        load_dataset(path, target="label")


def test_duplicate_parquet_column_names_are_refused_naming_them(tmp_path):
    """Item 2, Parquet: pyarrow's error spoke of a FieldRef, not of a duplicate column."""
    table = pa.table([pa.array(np.arange(30.0)), pa.array(np.arange(30.0) % 7),
                      pa.array(["a", "b"] * 15)], names=["f", "f", "label"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(KdedgeError, match=r"dup.parquet: duplicate column names \['f'\]"):
        load_dataset(str(tmp_path / "dup.parquet"), target="label")


def test_an_empty_parquet_file_is_a_one_line_error(tmp_path):
    """Item 14: zero rows reached np.ptp (`zero-size array to reduction operation`)."""
    frame = pd.DataFrame({"a": pd.Series([], dtype=float), "label": pd.Series([], dtype=str)})
    frame.to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(KdedgeError, match="empty.parquet has a header but no data rows"):
        load_dataset(str(tmp_path / "empty.parquet"), target="label")


def test_constant_column_drop_is_linear_and_its_warning_summarised(tmp_path):
    """Item 3: the drop is one boolean mask (300,000 columns: milliseconds; the old
    `j not in constant` on a list never finished at 1M) and the warning lists 10 names and a
    count, not 10.9 MB of them."""
    rng = np.random.default_rng(0)
    X = np.zeros((30, 300_000))
    X[:, :3] = rng.normal(size=(30, 3))
    names = [f"c{j}" for j in range(X.shape[1])]
    with pytest.warns(UserWarning) as caught:
        kept, kept_names, dropped = data._drop_constant(X, names, "wide")
    assert kept.shape == (30, 3) and kept_names == ["c0", "c1", "c2"]
    assert len(dropped) == 299_997
    message = str(caught[0].message)
    assert "['c3', 'c4', 'c5'," in message and "'c12'] and 299,987 more" in message
    assert len(message) < 400


def _wide_csv(path, rows: int, features: int) -> str:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(rows, features)),
                         columns=[f"f{j}" for j in range(features)])
    frame["label"] = np.arange(rows) % 2
    frame.to_csv(path, index=False)
    return str(path)


def test_a_table_too_large_for_memory_is_refused_before_pandas_reads_it(tmp_path, monkeypatch):
    """Item 3: 1,000,000 columns x 30 rows was accepted and grew past 6 GB while pandas parsed it
    (measured here: ~4 KB of pandas bookkeeping per column). The shape is known from the header
    and a line count, so the refusal comes first, with the estimate."""
    path = _wide_csv(tmp_path / "wide.csv", 30, 2_000)
    monkeypatch.setattr(data, "memory_budget", lambda: 4 << 20, raising=False)  # 4 MiB
    parsed = []
    real_read_csv = pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda *a, **k: parsed.append(a) or real_read_csv(*a, **k))
    with pytest.raises(KdedgeError, match=r"2,000 feature columns x 30 rows need about "
                                          r"[\d.]+ MiB.*budget 4.0 MiB"):
        load_dataset(path, target="label")
    assert parsed == []


def test_more_features_than_rows_is_warned_with_the_estimate(tmp_path):
    """Item 3: 200 features on 60 rows trains, but the user is told up front."""
    path = _wide_csv(tmp_path / "wide.csv", 60, 200)
    with pytest.warns(UserWarning, match=r"200 feature columns but only 60 rows.*about "
                                         r"[\d.]+ [KMG]iB"):
        load_dataset(path, target="label")


def test_distill_refuses_a_training_set_too_large_for_memory_before_training(tmp_path,
                                                                             monkeypatch):
    """Item 3: the all-features student's factors grow as n x 2n/3; 1M columns would need
    terabytes. distill estimates its models' training memory before training any of them."""
    from kdedge import distill as stage

    path = _wide_csv(tmp_path / "wide.csv", 40, 3_000)
    monkeypatch.setattr(data, "memory_budget", lambda: 64 << 20, raising=False)  # 64 MiB
    monkeypatch.setattr(stage, "train_teacher", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(KdedgeError, match=r"3,000 features need about [\d.]+ MiB to train.*"
                                          r"budget 64.0 MiB.*--rank"):
        stage.distill(data=path, target="label", out=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
