import json
import shutil

import numpy as np
import pytest

from kdedge import rundir
from kdedge.artifacts import load_run
from kdedge.distill import distill
from kdedge.rundir import KdedgeError

METRIC_KEYS = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "params", "macs",
               "flops", "weight_bytes", "n_features"}


def test_distill_writes_the_run_directory_contract(small_run):
    names = {p.name for p in small_run.iterdir()}
    assert names == {"run.json", "metrics.json", "models.json", "preprocessing.json",
                     "history.json", "split.npz", "teacher.safetensors", "student.safetensors",
                     "student_no_kd.safetensors"}
    manifest = json.loads((small_run / "run.json").read_text())
    assert set(manifest["artifacts"]) == names - {"run.json"}
    for name, digest in manifest["artifacts"].items():
        assert rundir.sha256_file(small_run / name) == digest
    assert manifest["seed"] == 0 and manifest["versions"]["torch"].startswith("2.13")


def test_distill_metrics_hold_every_key(small_run):
    metrics = json.loads((small_run / "metrics.json").read_text())
    for model in ("teacher", "student", "student_no_kd"):
        assert METRIC_KEYS <= set(metrics[model])
        assert metrics[model]["flops"] == 2 * metrics[model]["macs"]
    assert metrics["teacher"]["params"] == 37_506 and metrics["teacher"]["macs"] == 36_352
    assert metrics["student"]["n_features"] == 6 == len(metrics["selected_features"])
    assert metrics["agreement"] + metrics["disagreement"] == pytest.approx(1.0)
    importance = metrics["feature_importance"]
    assert len(importance) == 13 and max(importance.values()) == 1.0
    assert importance[metrics["selected_features"][0]] == 1.0
    assert metrics["data"]["split"] == {"train": 3200, "val": 800, "test": 1000}


def test_distill_student_reads_only_selected_features(small_run):
    run = load_run(small_run)
    student = run.load_model("student")
    assert student.factors.in_features == 6
    assert run.preprocessing["selected_features"] == run.metrics["selected_features"]
    names = [run.feature_names[i] for i in run.input_index("student")]
    assert names == run.selected_features


def test_distill_split_file_loads_without_pickle(small_run):
    with np.load(small_run / "split.npz", allow_pickle=False) as npz:
        assert npz["X_test"].shape == (1000, 13) and npz["y_test"].dtype == np.int64
        assert npz["X_calib"].shape == (1024, 13)
        assert list(npz["feature_names"]) == [f"feature_{i}" for i in range(13)]


def test_distill_is_deterministic(small_run, tmp_path):
    again = distill(out=str(tmp_path / "again"), max_epochs=6, patience=3, quiet=True)
    first = json.loads((small_run / "metrics.json").read_text())
    second = json.loads((again / "metrics.json").read_text())
    assert first == second
    assert (small_run / "student.safetensors").read_bytes() == (again / "student.safetensors").read_bytes()


def test_distill_never_overwrites_without_force(small_run, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(small_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(KdedgeError, match="--force"):
        distill(out=str(out), max_epochs=1, quiet=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("features", [0, 14, -1])
def test_distill_features_out_of_range_writes_nothing(tmp_path, features):
    with pytest.raises(KdedgeError, match=f"--features {features} is out of range.*1..13"):
        distill(out=str(tmp_path / "r"), features=features, quiet=True)
    assert list(tmp_path.iterdir()) == []


def test_distill_multiclass_csv_with_string_labels(tmp_path):
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "species"})
    frame["species"] = np.asarray(bunch.target_names)[frame["species"]]
    frame.to_csv(tmp_path / "iris.csv", sep=";", index=False)
    run = distill(data=str(tmp_path / "iris.csv"), target="species", features=2,
                  out=str(tmp_path / "r"), max_epochs=5, quiet=True)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["class_names"] == ["setosa", "versicolor", "virginica"]
    assert metrics["data"]["sha256"] and metrics["student"]["n_features"] == 2
    assert 0 <= metrics["student"]["roc_auc"] <= 1
