"""kdedge.reading: when distill streams, and a streamed distill end to end in one process."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kdedge import reading, rundir
from kdedge.contract import METRICS_JSON, Metrics, read_record
from kdedge.distill import distill
from kdedge.rundir import KdedgeError


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 4))
    y = np.where(X[:, 0] - X[:, 2] + 0.3 * rng.normal(size=rows) > 0.5, "yes", "no")
    return pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=y)


@pytest.fixture()
def parquet_folder(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    table = _frame(3000)
    for i in range(3):
        table.iloc[1000 * i:1000 * (i + 1)].to_parquet(folder / f"p{i}.parquet",
                                                       row_group_size=300, index=False)
    return folder


def test_read_mode_builtin_sets_are_read_in_memory():
    assert reading.read_mode(None, "auto") == "memory"
    assert reading.read_mode("iris", "off") == "memory"
    with pytest.raises(KdedgeError, match="--stream on applies to data files"):
        reading.read_mode("wine", "on")


def test_read_mode_folder_is_streamed_and_refuses_off(parquet_folder):
    assert reading.read_mode(str(parquet_folder), "auto") == "streamed"
    with pytest.raises(KdedgeError, match="streamed only: drop --stream off"):
        reading.read_mode(str(parquet_folder), "off")


def test_read_mode_auto_streams_above_the_thresholds(tmp_path, monkeypatch):
    table = _frame(500)
    table.to_parquet(tmp_path / "t.parquet", index=False)
    table.to_csv(tmp_path / "t.csv", index=False)
    cells, size = 500 * 5, (tmp_path / "t.csv").stat().st_size
    monkeypatch.setattr(reading, "STREAM_AUTO_CELLS", cells)
    monkeypatch.setattr(reading, "STREAM_AUTO_CSV_BYTES", size)
    assert reading.read_mode(str(tmp_path / "t.parquet"), "auto") == "memory"  # not above
    assert reading.read_mode(str(tmp_path / "t.csv"), "auto") == "memory"
    monkeypatch.setattr(reading, "STREAM_AUTO_CELLS", cells - 1)
    monkeypatch.setattr(reading, "STREAM_AUTO_CSV_BYTES", size - 1)
    assert reading.read_mode(str(tmp_path / "t.parquet"), "auto") == "streamed"
    assert reading.read_mode(str(tmp_path / "t.csv"), "auto") == "streamed"
    assert reading.read_mode(str(tmp_path / "t.csv"), "off") == "memory"


def test_distill_streamed_folder_writes_a_run_with_true_counts(parquet_folder, tmp_path):
    out = distill(data=str(parquet_folder), target="label", out=str(tmp_path / "run"),
                  max_epochs=2, patience=2, student="fixed", features=2)
    manifest = rundir.read_manifest(out)
    rundir.verify_recorded(out, manifest.artifacts)
    reading_record = manifest.data_reading
    assert (reading_record.mode, reading_record.world_size) == ("streamed", 1)
    assert "seed = 0" in reading_record.split_rule
    metrics = read_record(Metrics, out / METRICS_JSON)
    data = metrics.data
    assert data.rows == 3000 and data.class_names == ["no", "yes"]
    truth = _frame(3000)["label"].value_counts()
    assert data.class_counts == [int(truth["no"]), int(truth["yes"])]
    assert data.split.train + data.split.val + data.split.test == 3000
    assert sum(data.split_class_counts.train) == data.split.train
    split = np.load(out / "split.npz")
    assert len(split["y_test"]) == data.split.test  # every test row is scored and stored
    assert metrics.teacher.accuracy > 0.8
    assert json.loads((out / "run.json").read_text())["config"]["stream"] == "auto"


def test_distill_streamed_is_deterministic(parquet_folder, tmp_path):
    runs = [distill(data=str(parquet_folder), target="label", out=str(tmp_path / f"r{i}"),
                    max_epochs=2, patience=2, student="fixed", features=2) for i in range(2)]
    first, second = (json.loads((run / METRICS_JSON).read_text()) for run in runs)
    assert first == second


def test_distill_streamed_bad_value_names_the_row_and_writes_nothing(tmp_path):
    table = _frame(3000)
    table["b"] = table["b"].astype(object)
    table.loc[2500, "b"] = "oops"  # data row 2,501, file line 2,502
    source = tmp_path / "bad.csv"
    table.to_csv(source, index=False)
    with pytest.raises(KdedgeError, match=r"b.*row 2,501 \(line 2,502\)"):
        distill(data=str(source), target="label", stream="on", out=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_distill_streamed_refuses_transfer_rows(parquet_folder, tmp_path):
    with pytest.raises(KdedgeError, match="--transfer munge .* streamed"):
        distill(data=str(parquet_folder), target="label", transfer="munge",
                out=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_distill_streamed_gbdt_teacher_fits_on_the_training_sample(parquet_folder, tmp_path):
    out = distill(data=str(parquet_folder), target="label", out=str(tmp_path / "run"),
                  teacher="gbdt", max_epochs=2, patience=2, student="fixed", features=2)
    manifest = rundir.read_manifest(out)
    metrics = read_record(Metrics, out / METRICS_JSON)
    assert metrics.teacher_kind == "gbdt" and metrics.teacher.accuracy > 0.8
    # the sample holds every training row here (fewer than SAMPLE_ROWS)
    assert manifest.data_reading.sample_rows == metrics.data.split.train
