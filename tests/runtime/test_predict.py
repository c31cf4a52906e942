"""`kdedge predict` (runtime/predict.py): score a table with an exported model, streamed.

Torch-free tests use the small kdedge-style graphs of conftest.py; the ones that need a whole run
(preprocessing.json's target, metrics.json's accuracy, exported variants) read the real session
run `full_run` (never changed: predict only reads it, and writes next to the data in tmp_path).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from runtime_kit import SELECTED, STUDENT_SIZES, mlp_model

from kdedge.cli import main
from kdedge.contract import (METRICS_JSON, PREPROCESSING_JSON, SPLIT_NPZ, Metrics,
                             Preprocessing, onnx_file, read_record)
from kdedge.errors import KdedgeError
from kdedge.runtime.predict import format_confusion, predict

ALL_FEATURES = [f"feature_{i}" for i in range(13)]


@pytest.fixture
def predict_log():
    """Every message of the `kdedge.predict` logger (INFO and up) as (level, text)."""
    messages: list[tuple[int, str]] = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append((record.levelno, record.getMessage()))

    logger, handler = logging.getLogger("kdedge.predict"), Collect(level=logging.INFO)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def student(tmp_path):
    """A kdedge-style student graph (6 named inputs, classes '0' and '1') as an .onnx file."""
    path = tmp_path / "models" / "student.onnx"
    path.parent.mkdir()
    onnx.save(mlp_model(STUDENT_SIZES, feature_names=SELECTED, seed=1), path)
    return path


def write_table(path, columns: dict[str, list], *, delimiter: str = ",", order=None):
    """A CSV of `columns` (name → values), in `order` when given."""
    names = list(order or columns)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(names)
        writer.writerows(zip(*[columns[n] for n in names]))
    return path


def random_columns(rows: int = 40, seed: int = 0) -> tuple[dict[str, list], np.ndarray]:
    """Text columns feature_0..12 plus an id, and the float32 matrix they hold."""
    matrix = np.random.default_rng(seed).standard_normal((rows, 13)).astype(np.float32)
    columns = {name: matrix[:, j].astype(str).tolist() for j, name in enumerate(ALL_FEATURES)}
    columns["id"] = [f"r{i}" for i in range(rows)]
    return columns, matrix


def read_output(path) -> dict[str, list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {name: [row[j] for row in rows[1:]] for j, name in enumerate(rows[0])}


def onnxruntime_outputs(model_path, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return tuple(session.run(["probabilities", "label"], {"features": matrix}))


def split_table(run, path, *, seed: int = 0, **write) -> tuple[np.ndarray, list[str]]:
    """The run's saved test split as a CSV: columns shuffled, the target column `target` and two
    extra columns (`row_id`, `note`). Returns (y_test, class_names)."""
    with np.load(run / SPLIT_NPZ, allow_pickle=False) as split:
        X, y = split["X_test"], split["y_test"]
        names, classes = [str(n) for n in split["feature_names"]], [str(c) for c in split["class_names"]]
    columns = {name: X[:, j].astype(str).tolist() for j, name in enumerate(names)}
    columns.update(target=[classes[i] for i in y], row_id=[f"id{i}" for i in range(len(y))],
                   note=["x"] * len(y))
    order = list(np.random.default_rng(seed).permutation(list(columns)))
    write_table(path, columns, order=order, **write)
    return y, classes


def leftovers(folder) -> list[str]:
    """Files in `folder` besides the inputs the test wrote (temporary files included)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("data."))


# ---------------------------------------------------------------------------------------------
# On the real run

def test_predict_reproduces_student_accuracy_with_shuffled_and_extra_columns(full_run, tmp_path,
                                                                             predict_log):
    y_test, classes = split_table(full_run, tmp_path / "data.csv")
    out = predict(full_run, tmp_path / "data.csv", target="target", keep=["row_id"])
    assert out == tmp_path / "data.predictions.csv"
    table = read_output(out)
    assert list(table) == ["row_id", "label"] + [f"p_{c}" for c in classes]
    assert table["row_id"] == [f"id{i}" for i in range(len(y_test))]
    accuracy = np.mean(np.asarray(table["label"]) == np.asarray(classes)[y_test])
    expected = read_record(Metrics, full_run / METRICS_JSON).student.accuracy
    assert accuracy == pytest.approx(expected, abs=1e-12)
    texts = [text for _, text in predict_log]
    assert any(f"accuracy {expected:.4f} (" in t and "confusion matrix" in t for t in texts)
    ignored = [t for level, t in predict_log if level == logging.WARNING and "ignoring" in t]
    assert len(ignored) == 1 and "note" in ignored[0]  # listed once; row_id is kept, not ignored
    assert "target" not in ignored[0].split(":", 1)[1]
    assert any("rows/s" in t for t in texts)


def test_predict_leaves_the_run_target_alone_without_flag(full_run, tmp_path, predict_log):
    split_table(full_run, tmp_path / "data.csv")
    predict(full_run, tmp_path / "data.csv", out=tmp_path / "p.csv")
    target = read_record(Preprocessing, full_run / PREPROCESSING_JSON).target
    assert any(f"column {target!r} (the run's target) is ignored" in t for _, t in predict_log)
    assert not any("accuracy" in t for _, t in predict_log)
    assert "target" not in read_output(tmp_path / "p.csv")


def test_predict_picks_an_exported_variant_by_stem(full_run, tmp_path):
    split_table(full_run, tmp_path / "data.csv")
    out = predict(full_run, tmp_path / "data.csv", model="student.int8", out=tmp_path / "q.csv")
    graph = full_run / onnx_file("student", "int8")
    names = json.loads({p.key: p.value for p in onnx.load(str(graph)).metadata_props}
                       ["kdedge.feature_names"])
    with np.load(full_run / SPLIT_NPZ, allow_pickle=False) as split:
        index = [list(split["feature_names"]).index(n) for n in names]
        probabilities, _ = onnxruntime_outputs(graph, np.ascontiguousarray(split["X_test"][:, index]))
    table = read_output(out)
    written = np.array([table[c] for c in table if c.startswith("p_")], dtype=np.float32).T
    np.testing.assert_array_equal(written, probabilities)
    with pytest.raises(KdedgeError, match=r"has no student\.int4\.onnx; --model must be one of: "
                                          r".*student\.int8"):
        predict(full_run, tmp_path / "data.csv", model="student.int4", out=tmp_path / "r.csv")


def test_predict_refuses_a_model_changed_after_export(full_run, tmp_path):
    run = shutil.copytree(full_run, tmp_path / "run")
    graph = onnx.load(str(run / onnx_file("student")))
    graph.doc_string = "edited"
    onnx.save(graph, str(run / onnx_file("student")))
    split_table(run, tmp_path / "data.csv")
    with pytest.raises(KdedgeError, match="does not match the sha256"):
        predict(run, tmp_path / "data.csv")
    assert leftovers(tmp_path) == ["run"]


def test_cli_predict_in_process(full_run, tmp_path, capsys):
    split_table(full_run, tmp_path / "data.csv")
    out = tmp_path / "scored.csv"
    main(["predict", str(full_run), str(tmp_path / "data.csv"), "--out", str(out),
          "--target", "target", "--keep", "row_id,note"])
    assert list(read_output(out))[:3] == ["row_id", "note", "label"]
    err = capsys.readouterr().err
    assert "[predict] --target 'target': accuracy" in err and "rows/s" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(full_run), str(tmp_path / "data.csv"), "--out", str(out)])
    assert exit_info.value.code == 2
    assert "kdedge: error:" in (err := capsys.readouterr().err) and "pass --force" in err


SCRIPT = """
import json, subprocess, sys
run, data, folder = sys.argv[1:4]
from kdedge.cli import main
main(["predict", run, data, "--out", folder + "/cli.csv", "--target", "target", "--quiet"])
module = subprocess.run([sys.executable, "-m", "kdedge.runtime", "predict", run, data,
                         "--out", folder + "/module.csv", "--keep", "row_id"],
                        capture_output=True, text=True)
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in {"torch", "sklearn", "matplotlib", "pandas"})
print(json.dumps({"heavy": heavy, "module_rc": module.returncode, "module_err": module.stderr}))
"""


@pytest.mark.slow
def test_predict_runs_without_torch_sklearn_matplotlib_pandas(full_run, tmp_path, blocker):
    split_table(full_run, tmp_path / "data.csv")
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(
        blocker("torch", "sklearn", "matplotlib", "pandas"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "blocker"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(full_run), str(tmp_path / "data.csv"),
                           str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [] and result["module_rc"] == 0, result["module_err"]
    assert "rows/s" in result["module_err"]  # `python -m kdedge.runtime` logs progress
    assert read_output(tmp_path / "cli.csv")["label"] == read_output(tmp_path / "module.csv")["label"]


# ---------------------------------------------------------------------------------------------
# On a small graph (no run, no torch)

def test_predict_matches_onnxruntime_on_reordered_columns(student, tmp_path):
    columns, matrix = random_columns()
    order = ["id"] + ALL_FEATURES[::-1]
    write_table(tmp_path / "data.csv", columns, order=order)
    out = predict(student, tmp_path / "data.csv", keep=["id"], chunk_rows=7)
    index = [ALL_FEATURES.index(n) for n in SELECTED]
    probabilities, labels = onnxruntime_outputs(student, np.ascontiguousarray(matrix[:, index]))
    table = read_output(out)
    assert table["id"] == columns["id"]
    assert table["label"] == [str(v) for v in labels]
    np.testing.assert_array_equal(np.array([table["p_0"], table["p_1"]], dtype=np.float32).T,
                                  probabilities)


def test_predict_same_output_from_semicolon_decimal_comma_file(student, tmp_path):
    columns, _ = random_columns()
    write_table(tmp_path / "data.csv", columns)
    european = {k: [v.replace(".", ",") for v in vs] if k != "id" else vs
                for k, vs in columns.items()}
    write_table(tmp_path / "data.eu.csv", european, delimiter=";")
    a = predict(student, tmp_path / "data.csv")
    b = predict(student, tmp_path / "data.eu.csv")
    assert a.read_text() == b.read_text()


def test_predict_missing_columns_are_named(student, tmp_path):
    columns, _ = random_columns()
    del columns["feature_3"], columns["feature_12"]
    write_table(tmp_path / "data.csv", columns)
    with pytest.raises(KdedgeError, match=r"lacks the column\(s\) \['feature_3', 'feature_12'\]"):
        predict(student, tmp_path / "data.csv")
    assert leftovers(tmp_path) == ["models"]


@pytest.mark.parametrize("cell, says", [("nan", "is nan"), ("", "is empty"), ("inf", "is inf"),
                                        ("abc", "is 'abc', not a number")])
def test_predict_bad_cell_names_column_and_row(student, tmp_path, cell, says):
    columns, _ = random_columns()
    columns["feature_7"][4] = cell
    write_table(tmp_path / "data.csv", columns)
    with pytest.raises(KdedgeError, match=rf"column 'feature_7', data row 5 {says}"):
        predict(student, tmp_path / "data.csv", out=tmp_path / "p.csv")
    assert leftovers(tmp_path) == ["models"]


def test_predict_failure_in_a_late_chunk_leaves_no_file(student, tmp_path):
    columns, _ = random_columns(rows=100)
    columns["feature_0"][86] = "NaN"  # data row 87: the ninth chunk of ten rows
    write_table(tmp_path / "data.csv", columns)
    (tmp_path / "p.csv").write_text("the previous predictions\n")
    with pytest.raises(KdedgeError, match="column 'feature_0', data row 87 is nan"):
        predict(student, tmp_path / "data.csv", out=tmp_path / "p.csv", chunk_rows=10, force=True)
    assert leftovers(tmp_path) == ["models", "p.csv"]  # no temporary file left
    assert (tmp_path / "p.csv").read_text() == "the previous predictions\n"  # not replaced


def test_predict_wrong_model_paths(student, tmp_path):
    columns, _ = random_columns()
    data = write_table(tmp_path / "data.csv", columns)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    bare = mlp_model(STUDENT_SIZES, feature_names=SELECTED)
    del bare.metadata_props[:]
    onnx.save(bare, tmp_path / "bare.onnx")
    cases = {tmp_path / "nope": "does not exist", tmp_path / "empty": "holds no ONNX models",
             tmp_path / "notes.txt": "is not an .onnx file", tmp_path / "broken.onnx":
             "not a readable ONNX file", tmp_path / "bare.onnx": "no kdedge.feature_names"}
    for path, says in cases.items():
        with pytest.raises(KdedgeError, match=says):
            predict(path, data)
    with pytest.raises(KdedgeError, match="drop --model"):
        predict(student, data, model="student")
    assert predict(student.parent, data).is_file()  # a folder of .onnx files works too


def test_predict_unwritable_out_is_refused_before_reading_data(student, tmp_path):
    columns, _ = random_columns()
    columns["feature_3"][0] = "bad"  # reading any row would fail on this first
    data = write_table(tmp_path / "data.csv", columns)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_dir.csv").mkdir()
    cases = {tmp_path / "missing" / "p.csv": "does not exist",
             tmp_path / "a_file" / "p.csv": "does not exist",
             tmp_path / "a_dir.csv": "is a folder",
             tmp_path / "p.xlsx": "give a .csv or .parquet",
             data: "is the data file itself"}
    if os.path.isdir("/proc/self"):
        cases["/proc/self/p.csv"] = "cannot create a file|no permission"
    for out, says in cases.items():
        with pytest.raises(KdedgeError, match=says):
            predict(student, data, out=out)
    assert leftovers(tmp_path) == ["a_dir.csv", "a_file", "models"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_predict_read_only_folder_is_refused(student, tmp_path):
    columns, _ = random_columns()
    data = write_table(tmp_path / "data.csv", columns)
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(KdedgeError, match="no permission to write"):
        predict(student, data, out=tmp_path / "ro" / "p.csv")


def test_predict_existing_out_needs_force(student, tmp_path):
    columns, _ = random_columns()
    data = write_table(tmp_path / "data.csv", columns)
    default = tmp_path / "data.predictions.csv"
    default.write_text("keep me\n")
    with pytest.raises(KdedgeError, match="already exists; pass --force"):
        predict(student, data)
    assert default.read_text() == "keep me\n"
    assert predict(student, data, force=True) == default
    assert list(read_output(default)) == ["label", "p_0", "p_1"]


def test_predict_column_flags_are_checked(student, tmp_path):
    columns, _ = random_columns()
    columns["label"] = ["x"] * len(columns["id"])
    data = write_table(tmp_path / "data.csv", columns)
    cases = [(dict(target="y"), r"no column\(s\) \['y'\]; --target"),
             (dict(keep=["id", "zip"]), r"no column\(s\) \['zip'\]; --keep"),
             (dict(target=SELECTED[0]), "is an input of student.onnx"),
             (dict(keep=["label"]), "the output has its own column"),
             (dict(chunk_rows=0), "--chunk_rows must be a whole number >= 1")]
    for flags, says in cases:
        with pytest.raises(KdedgeError, match=says):
            predict(student, data, **flags)
    write_table(tmp_path / "data.twice.csv", {**columns, "x": columns["feature_3"]},
                order=list(columns) + ["x"])
    text = (tmp_path / "data.twice.csv").read_text().replace(",x\n", ",feature_3\n", 1)
    (tmp_path / "data.twice.csv").write_text(text)
    with pytest.raises(KdedgeError, match=r"\['feature_3'\] appear more than once"):
        predict(student, tmp_path / "data.twice.csv")
    assert leftovers(tmp_path) == ["models"]


def test_predict_target_scores_and_reports_unknown_classes(student, tmp_path, predict_log):
    columns, matrix = random_columns(rows=30)
    index = [ALL_FEATURES.index(n) for n in SELECTED]
    _, labels = onnxruntime_outputs(student, np.ascontiguousarray(matrix[:, index]))
    truth = [str(v) for v in labels]
    truth[:4] = [str(1 - labels[i]) for i in range(4)]  # four wrong
    truth[4:6] = ["maybe", "2"]  # two rows of no class of the model
    columns["y"] = truth
    predict(student, write_table(tmp_path / "data.csv", columns), target="y")
    texts = [t for _, t in predict_log]
    assert any("accuracy 0.8571 (24 of 28 rows)" in t for t in texts)
    assert any("2 rows have a --target 'y' value that is no class" in t and "'maybe'" in t
               for t in texts)


def test_predict_header_only_file_writes_header_only(student, tmp_path, predict_log):
    data = write_table(tmp_path / "data.csv", {n: [] for n in ALL_FEATURES})
    out = predict(student, data)
    assert out.read_text().splitlines() == ["label,p_0,p_1"]
    assert any("no rows" in t for level, t in predict_log if level == logging.WARNING)


def test_predict_parquet_in_and_out(student, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    columns, matrix = random_columns(rows=50)
    write_table(tmp_path / "data.csv", columns)
    arrays = {"id": pa.array(range(50), pa.int64())}
    arrays.update({n: pa.array(matrix[:, ALL_FEATURES.index(n)]) for n in ALL_FEATURES[::-1]})
    pq.write_table(pa.table(arrays), tmp_path / "data.parquet", row_group_size=16)
    from_csv = read_output(predict(student, tmp_path / "data.csv", keep=["id"]))
    out = predict(student, tmp_path / "data.parquet", keep=["id"], out=tmp_path / "p.parquet",
                  chunk_rows=8)
    written = pq.read_table(out)
    assert written.column_names == ["id", "label", "p_0", "p_1"]
    assert written.schema.field("id").type == pa.int64()  # the kept column keeps its type
    assert written.column("label").to_pylist() == from_csv["label"]
    np.testing.assert_array_equal(written.column("p_1").to_numpy(),
                                  np.asarray(from_csv["p_1"], dtype=np.float32))
    csv_to_parquet = pq.read_table(predict(student, tmp_path / "data.csv", keep=["id"],
                                           out=tmp_path / "c.parquet"))
    assert csv_to_parquet.column("id").to_pylist() == columns["id"]


def test_predict_parquet_out_without_pyarrow_says_how(student, tmp_path, monkeypatch):
    columns, _ = random_columns()
    data = write_table(tmp_path / "data.csv", columns)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(KdedgeError, match=r"needs pyarrow.*`pip install pyarrow`"):
        predict(student, data, out=tmp_path / "p.parquet")
    assert leftovers(tmp_path) == ["models"]


def test_format_confusion_rows_are_true_classes():
    text = format_confusion(np.array([[5, 1], [0, 12]]), ["no", "yes"])
    assert text.splitlines()[1:] == ["      no  yes", " no    5    1", "yes    0   12"]
