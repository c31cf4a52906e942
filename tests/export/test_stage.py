import json
import re
import subprocess
import sys
import warnings

import numpy as np
import onnx
import pytest

import kdedge.export.stage as stage
from kdedge import rundir
from kdedge.artifacts import load_run
from kdedge.cli import main
from kdedge.export import ParityError, export_run
from kdedge.export.parity import make_session, onnx_outputs
from kdedge.metrics import classification_metrics
from kdedge.rundir import KdedgeError

MODEL_KEYS = {"path", "model", "variant", "opset", "file_bytes", "input", "outputs", "n_features",
              "feature_names", "class_names", "macs", "flops", "params", "nodes", "ops",
              "nodes_before_fold", "ops_before_fold", "macs_before_fold", "fold_steps", "parity",
              "metrics", "agreement_teacher", "agreement_fp32", "max_abs_diff_vs_fp32", "verdict",
              "reason"}
METRIC_KEYS = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss"}
STEMS = ["teacher", "student", "student.int8", "student.int8-static", "student.fp16"]


def test_export_run_writes_every_model_and_field(exported_run, export_json):
    assert list(export_json["models"]) == STEMS
    assert export_json["opset"] == 18 and export_json["parity_tolerance"] == 1e-5
    assert export_json["reject_threshold"] == 0.01
    assert set(export_json["versions"]) == {"torch", "onnx", "onnxruntime", "onnxscript"}
    for stem, record in export_json["models"].items():
        assert set(record) == MODEL_KEYS, stem
        assert set(record["metrics"]) == METRIC_KEYS
        assert record["path"] == f"onnx/{stem}.onnx"
        assert (exported_run / record["path"]).stat().st_size == record["file_bytes"]
        assert record["flops"] == 2 * record["macs"]
        assert record["verdict"] in ("accepted", "rejected")
    for stem in ("teacher", "student"):
        parity = export_json["models"][stem]["parity"]
        assert parity["passed"] and parity["labels_identical"]
        assert max(parity["max_abs_diff_batch1"], parity["max_abs_diff_full_batch"]) <= 1e-5


def test_export_run_macs_match_metrics_json(exported_run, export_json):
    metrics = json.loads((exported_run / "metrics.json").read_text())
    for stem, record in export_json["models"].items():
        assert record["macs"] == metrics[record["model"]]["macs"], stem  # counted from the graph
    for name in ("teacher", "student"):
        record = export_json["models"][name]
        assert record["macs_before_fold"] == metrics[name]["macs_unfolded"]
        assert record["nodes"] < record["nodes_before_fold"]
        assert "scaler folded into the first layer" in record["fold_steps"]
    # the seed teacher 13 → 256 → 128 → 2 after folding: 13·256 + 256·128 + 128·2, with biases
    assert export_json["models"]["teacher"]["macs"] == 36_352
    assert export_json["models"]["teacher"]["params"] == 36_352 + 256 + 128 + 2


def test_export_run_metrics_come_from_the_onnx_outputs(exported_run, export_json):
    run = load_run(exported_run)
    x = run.split["X_test"][:, run.input_index("student")]
    y = run.split["y_test"]
    for stem in ("student", "student.int8"):
        model = onnx.load(exported_run / "onnx" / f"{stem}.onnx")
        proba, labels = onnx_outputs(make_session(model), x)
        record = export_json["models"][stem]
        assert record["metrics"]["accuracy"] == pytest.approx(np.mean(labels == y))
        with warnings.catch_warnings():  # float32 rows sum to 1 only within ~1e-7
            warnings.simplefilter("ignore", UserWarning)
            expected = classification_metrics(y, proba)
        assert record["metrics"]["log_loss"] == pytest.approx(expected["log_loss"])


def test_export_run_student_is_much_smaller_than_teacher(export_json):
    models = export_json["models"]
    assert models["student"]["file_bytes"] <= 0.3 * models["teacher"]["file_bytes"]
    assert models["student"]["input"]["shape"] == ["batch", 6]


def test_export_run_records_files_in_run_json(exported_run, export_json):
    manifest = rundir.read_manifest(exported_run)
    for record in export_json["models"].values():
        path = exported_run / record["path"]
        assert manifest["artifacts"][record["path"]] == rundir.sha256_file(path)
    assert manifest["artifacts"]["export.json"] == rundir.sha256_file(exported_run / "export.json")
    assert manifest["stages"]["export"]["models"] == STEMS
    assert not list(exported_run.glob(".onnx.*"))  # no staging leftovers


def test_export_run_refuses_existing_onnx_without_force(exported_run, tree_state):
    before = tree_state(exported_run)
    with pytest.raises(KdedgeError, match="pass --force"):
        export_run(exported_run, quiet=True)
    assert tree_state(exported_run) == before


def _perturbed_fold(model, mean, scale):
    folded = stage_fold(model, mean, scale)
    bias = folded.layers[-1].bias.copy()
    bias[0] += 1e-2  # one logit off (a shift of all logits would leave softmax unchanged)
    folded.layers[-1].bias = bias
    return folded


stage_fold = stage.fold_model


def test_export_run_parity_failure_keeps_the_previous_export(exported_run, tmp_path, monkeypatch,
                                                              tree_state):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(exported_run, run)
    before = tree_state(run)
    monkeypatch.setattr(stage, "fold_model", _perturbed_fold)
    gate = r"teacher\.onnx fails the parity gate.*max \|Δ probability\|"
    with pytest.raises(ParityError, match=gate):
        export_run(run, quantize="all", force=True, quiet=True)
    assert tree_state(run) == before  # old onnx/, export.json and run.json untouched
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


def test_export_run_rejects_a_variant_below_the_threshold(run_copy, monkeypatch):
    def degrading_int8(model, *, calibration):
        """A 'quantizer' that breaks the model: every row gets the class of the last logit."""
        broken = onnx.ModelProto()
        broken.CopyFrom(model)
        last_gemm = [n for n in broken.graph.node if n.op_type == "Gemm"][-1]
        bias = next(t for t in broken.graph.initializer if t.name == last_gemm.input[2])
        values = onnx.numpy_helper.to_array(bias).copy()
        values[-1] += 100.0
        bias.CopyFrom(onnx.numpy_helper.from_array(values, bias.name))
        return broken

    monkeypatch.setitem(stage.QUANTIZERS, "int8", degrading_int8)
    export = json.loads(export_run(run_copy, quantize=True, quiet=True).read_text())
    assert list(export["models"]) == ["teacher", "student", "student.int8"]
    record = export["models"]["student.int8"]
    assert record["verdict"] == "rejected"
    assert re.search(r"below the fp32 student's .* \(reject_threshold 0\.01\)", record["reason"])
    assert (run_copy / record["path"]).is_file()  # kept on disk for inspection
    assert export["models"]["student"]["verdict"] == "accepted"


def _rewrite_preprocessing(run, **changes):
    path = run / "preprocessing.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))
    manifest = json.loads((run / "run.json").read_text())
    manifest["artifacts"]["preprocessing.json"] = rundir.sha256_file(path)
    (run / "run.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("breakage, message", [
    ("missing", "does not exist; create one with `kdedge distill`"),
    ("run_format", "run.json has run_format 99 .* re-create the run"),
    ("tampered_weights", r"student\.safetensors does not match the sha256 .* restore it"),
    ("unknown_feature", r"preprocessing\.json selects features \['no_such_feature'\]"),
    ("unknown_quantize", "unknown variant 'int4'; choose from int8, int8-static, fp16 or all"),
])
def test_export_run_bad_input_names_the_file_and_writes_nothing(run_copy, breakage, message,
                                                                tree_state):
    run, quantize = run_copy, None
    if breakage == "missing":
        run = run_copy.parent / "nowhere"
    elif breakage == "run_format":
        manifest = json.loads((run / "run.json").read_text())
        manifest["run_format"] = 99
        (run / "run.json").write_text(json.dumps(manifest))
    elif breakage == "tampered_weights":
        with open(run / "student.safetensors", "ab") as handle:
            handle.write(b"\0")
    elif breakage == "unknown_feature":
        data = json.loads((run / "preprocessing.json").read_text())
        selected = data["selected_features"][:-1] + ["no_such_feature"]
        _rewrite_preprocessing(run, selected_features=selected)
    elif breakage == "unknown_quantize":
        quantize = "int8,int4"
    before = tree_state(run_copy)
    with pytest.raises(KdedgeError, match=message):
        export_run(run, quantize=quantize, quiet=True)
    assert tree_state(run_copy) == before
    assert not any(p.name.startswith(".") for p in run_copy.iterdir())
    assert not (run_copy.parent / "nowhere").exists()


@pytest.mark.parametrize("argument, value, message", [
    ("opset", 9, "opset must be a whole number >= 13"),
    ("reject_threshold", 1.5, r"reject_threshold must be in \[0, 1\]"),
    ("calibration_rows", 0, "calibration_rows must be a whole number >= 1"),
])
def test_export_run_checks_its_arguments(exported_run, argument, value, message):
    with pytest.raises(KdedgeError, match=message):
        export_run(exported_run, force=True, quiet=True, **{argument: value})


def test_cli_export_unknown_quantize_exits_2(exported_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(exported_run), "--quantize", "int3"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "kdedge: error: --quantize 'int3'" in err and "int8, int8-static, fp16 or all" in err


def test_cli_export_subprocess_refuses_existing_export(exported_run):
    result = subprocess.run([sys.executable, "-m", "kdedge.cli", "export", str(exported_run)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "already exists (an earlier export); pass --force" in result.stderr
