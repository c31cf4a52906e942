"""The run-directory contract: real files parse, bad files are refused by name, docs agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kdedge import contract
from kdedge.contract import (BenchReport, ContractError, ExportSummary, History, Manifest, Metrics,
                             ModelsFile, OnnxMetadata, Preprocessing, Scaler, read_record)

ROOT = Path(__file__).resolve().parents[1]
DISTILL_FILES = (Manifest, Metrics, Preprocessing, ModelsFile, History)


def test_docs_run_dir_tables_match_the_contract():
    docs = (ROOT / "docs" / "run-dir.md").read_text(encoding="utf-8")
    assert contract.docs_with_tables(docs) == docs, (
        "docs/run-dir.md is out of date: run `python -m kdedge.contract --write-docs`")


def test_every_field_has_a_meaning():
    import dataclasses

    missing = [f"{cls.__name__}.{f.name}" for cls in _all_records() for f in dataclasses.fields(cls)
               if not f.metadata.get("doc")]
    assert missing == []


@pytest.mark.parametrize("cls", DISTILL_FILES, ids=lambda c: c.FILE)
def test_distill_files_round_trip(small_run, cls):
    data = json.loads((small_run / cls.FILE).read_text(encoding="utf-8"))
    record = cls.from_json(data, where=cls.FILE)
    assert record.to_json() == data  # nothing dropped, nothing invented


def test_export_and_bench_files_round_trip(full_run):
    for cls, path in ((ExportSummary, full_run / contract.EXPORT_JSON),
                      (BenchReport, full_run / contract.bench_file("x86-test"))):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert cls.from_json(data, where=str(path)).to_json() == data


def test_read_record_gives_typed_nested_objects(small_run):
    metrics = read_record(Metrics, small_run / contract.METRICS_JSON)
    assert isinstance(metrics.student, contract.ModelMetrics)
    assert metrics.teacher.params == 37_506 and metrics.teacher.macs == 36_352  # the seed teacher
    assert metrics.data.split.test == len(np.load(small_run / contract.SPLIT_NPZ)["y_test"])


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["student"].pop("accuracy"), "field student.accuracy is missing"),
    (lambda d: d["student"].update(accuracy="high"), "field student.accuracy should be float"),
    (lambda d: d["data"]["split"].update(test=1.5), "field data.split.test should be int"),
    (lambda d: d.update(surprise=1), "unknown field(s) ['surprise']"),
    (lambda d: d.update(metrics_format=99), "metrics_format is 99 but this kdedge reads 3"),
    (lambda d: d["feature_importance"].update(x="big"), "field feature_importance.x should be float"),
])
def test_a_damaged_file_is_refused_naming_file_and_field(small_run, tmp_path, edit, message):
    data = json.loads((small_run / contract.METRICS_JSON).read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / contract.METRICS_JSON
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ContractError) as error:
        read_record(Metrics, path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_bool_is_not_a_number_and_null_only_where_allowed():
    spec = {"name": "features", "shape": ["batch", 6], "dtype": "float32"}
    assert contract.TensorSpec.from_json(spec).shape == ["batch", 6]
    with pytest.raises(ContractError, match="field rows should be int"):
        contract.Parity.from_json({"rows": True, "tolerance": 1e-5, "max_abs_diff_batch1": 0.0,
                                   "max_abs_diff_full_batch": 0.0, "labels_identical": True,
                                   "passed": True})
    with pytest.raises(ContractError, match="field name should be str"):
        contract.TensorSpec.from_json(dict(spec, name=None))


def test_preprocessing_cross_field_checks(small_run, tmp_path):
    data = json.loads((small_run / contract.PREPROCESSING_JSON).read_text(encoding="utf-8"))
    data["selected_index"] = [i + 1 for i in data["selected_index"]]
    with pytest.raises(ContractError, match="selected_index does not point at selected_features"):
        Preprocessing.from_json(data)


def test_scaler_transform_known_answer_and_subset():
    X = np.array([[1.0, 10.0, 5.0], [3.0, 30.0, 5.0]])
    scaler = Scaler.fit(X)
    assert scaler.mean == [2.0, 20.0, 5.0] and scaler.scale == [1.0, 10.0, 1.0]  # constant → 1
    z = scaler.transform(np.array([[2.0, 40.0, 6.0]]))
    assert z.dtype == np.float32 and z.tolist() == [[0.0, 2.0, 1.0]]
    assert scaler.subset([2, 0]).transform(np.array([[6.0, 2.0]])).tolist() == [[1.0, 0.0]]


def test_onnx_metadata_props_are_prefixed_strings():
    props = OnnxMetadata(model="student", variant="fp32", feature_names=["a", "b"],
                         class_names=["no", "yes"], version="0.1.0", run_id="r",
                         weights_sha256="0" * 64, opset="18").to_props()
    assert props["kdedge.feature_names"] == '["a", "b"]' and props["kdedge.model"] == "student"
    assert all(key.startswith("kdedge.") and isinstance(v, str) for key, v in props.items())


def test_file_helpers():
    assert contract.onnx_file("student", "int8") == "onnx/student.int8.onnx"
    assert contract.onnx_file("teacher") == "onnx/teacher.onnx"
    assert contract.bench_file("pi5") == "bench/pi5.json"
    assert contract.weights_file("student") == "student.safetensors"


def test_contract_imports_without_torch(blocker):
    code = blocker("torch") + ("import kdedge.contract, kdedge.rundir, kdedge.artifacts\n"
                               "assert 'torch' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _all_records() -> list[type]:
    import dataclasses
    import typing

    seen: list[type] = []

    def visit(cls):
        if cls not in seen:
            seen.append(cls)
            for hint in typing.get_type_hints(cls).values():
                for inner in contract._records_in(hint):
                    visit(inner)
    for top in contract.FILES:
        visit(top)
    assert all(dataclasses.is_dataclass(c) for c in seen)
    return seen
