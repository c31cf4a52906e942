import contextlib
import io
import logging
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from sklearn.metrics import average_precision_score

import kdedge.export.stage as stage
from kdedge.fold import BIAS_STEP
from kdedge import rundir
from kdedge.artifacts import load_run
from kdedge.cli import main
from kdedge.contract import (EXPORT_JSON, EXPORTED_BASELINES, PREPROCESSING_JSON, REJECT_THRESHOLD, RUN_JSON,
                             ExportSummary, Preprocessing, onnx_file, read_record, write_record)
from kdedge.export import ParityError, export_run
from kdedge.export.parity import make_session, onnx_outputs
from kdedge.fold import fold_model
from kdedge.metrics import classification_metrics
from kdedge.rundir import KdedgeError
from kdedge.runtime.c_bench import NATIVE, ToolchainMissing, toolchain_missing
from kdedge.runtime.interface import InterfaceError, check_interface
from kdedge.verdicts import bootstrap_weights, paired_accuracy

STEMS = ["teacher", "student", "student.int8", "student.int8-static", "student.fp16",
         "logreg_k", "logreg_all", "hgb_all"]


def test_export_run_writes_every_model(full_run, export_summary):
    assert list(export_summary.models) == STEMS
    assert export_summary.quantize == ["int8", "int8-static", "fp16"]
    assert export_summary.opset == 18 and export_summary.parity_tolerance == 1e-5
    assert export_summary.reject_threshold == REJECT_THRESHOLD
    assert export_summary.run_id == load_run(full_run).manifest.run_id
    assert set(export_summary.versions) == set(stage.VERSIONED)
    assert export_summary.test_rows == len(load_run(full_run).split["y_test"])
    for stem, record in export_summary.models.items():
        assert record.path == onnx_file(record.model, record.variant)
        assert stem == stage.onnx_stem(record.model, record.variant)
        assert (full_run / record.path).stat().st_size == record.file_bytes
        assert record.flops == 2 * record.macs
        fp32 = record.variant == "fp32"
        assert (record.parity is not None) == fp32 and (record.fold_steps is not None) == fp32
    for stem in ("teacher", "student"):
        record = export_summary.models[stem]
        assert record.verdict == "accepted" and record.reason is None  # fp32 is never judged
        assert record.agreement_fp32 == 1.0 and record.max_abs_diff_vs_fp32 == 0.0
        assert record.parity.passed and record.parity.labels_identical


def test_export_run_macs_match_metrics_json(full_run, export_summary):
    metrics = load_run(full_run).metrics
    for stem, record in export_summary.models.items():
        if record.model in EXPORTED_BASELINES:
            continue  # baselines: below
        assert record.macs == metrics.model(record.model).macs, stem  # counted from the graph
    for name in ("teacher", "student"):
        record = export_summary.models[name]
        assert record.macs_before_fold == metrics.model(name).macs_unfolded
        assert record.nodes < record.nodes_before_fold
        assert BIAS_STEP in record.fold_steps  # the default data has no large offsets
    # the seed teacher 13 → 256 → 128 → 2 after folding: 13·256 + 256·128 + 128·2, with biases
    assert export_summary.models["teacher"].macs == 36_352
    assert export_summary.models["teacher"].params == 36_352 + 256 + 128 + 2
    # the logistic regressions are one MatMul of their inputs x 2 classes; trees multiply nothing
    assert export_summary.models["logreg_k"].macs == 6 * 2
    assert export_summary.models["logreg_all"].macs == 13 * 2
    assert export_summary.models["hgb_all"].macs == 0


def test_export_run_baselines_match_what_distill_scored(full_run, export_summary):
    """Each exported baseline reproduces scikit-learn's own test-split probabilities (the
    parity gate) and so its metrics.json accuracy."""
    run = load_run(full_run)
    for name in EXPORTED_BASELINES:
        record = export_summary.models[name]
        assert record.parity.passed and record.parity.max_abs_diff_full_batch < 1e-5
        assert record.metrics.accuracy == run.metrics.baselines[name].accuracy
        assert record.n_features == run.metrics.baselines[name].n_features


def test_export_run_metrics_come_from_the_onnx_outputs(full_run, export_summary):
    run = load_run(full_run)
    x, y = run.input_rows("student"), run.split["y_test"]
    fp32_labels = onnx_outputs(make_session(onnx.load(full_run / onnx_file("student"))), x)[1]
    for stem in ("student", "student.int8"):
        model = onnx.load(full_run / f"onnx/{stem}.onnx")
        proba, labels = onnx_outputs(make_session(model), x)
        record = export_summary.models[stem]
        assert record.metrics.accuracy == pytest.approx(np.mean(labels == y))
        assert record.agreement_fp32 == pytest.approx(np.mean(labels == fp32_labels))
        with warnings.catch_warnings():  # float32 rows sum to 1 only within ~1e-7
            warnings.simplefilter("ignore", UserWarning)
            expected = classification_metrics(y, proba, class_names=run.class_names,
                                              positive=run.positive)
        assert record.metrics.log_loss == pytest.approx(expected.log_loss)
        assert record.metrics.pr_auc == pytest.approx(expected.pr_auc)
        assert record.metrics.confusion_matrix == expected.confusion_matrix
        assert record.metrics.positive.name == run.metrics.data.positive_class == "1"


def test_export_run_pairs_every_variant_with_its_fp32_graph(full_run, export_summary):
    """paired_vs_fp32: a = the fp32 student, b = the variant, on the run's seeded resamples;
    recomputed here from the graphs' own labels."""
    run = load_run(full_run)
    x, y = run.input_rows("student"), run.split["y_test"]
    labels = {stem: onnx_outputs(make_session(onnx.load(full_run / f"onnx/{stem}.onnx")), x)[1]
              for stem in STEMS[1:5]}  # the student's graphs
    weights = bootstrap_weights(len(y), seed=run.manifest.seed)
    for stem, record in export_summary.models.items():
        if record.variant == "fp32":
            assert record.paired_vs_fp32 is None
            continue
        paired = record.paired_vs_fp32
        assert (paired.a, paired.b, paired.metric, paired.n) == ("student", stem, "accuracy", 1000)
        assert paired == paired_accuracy(y, labels["student"], labels[stem], a="student", b=stem,
                                         weights=weights)
        assert paired.value_b == record.metrics.accuracy
        assert paired.only_a == np.sum((labels["student"] == y) & (labels[stem] != y))


def _graph(run_dir, stem: str, x: np.ndarray) -> stage.Graph:
    """A stage.Graph of an exported file, scored on `x` (as write_graph builds it)."""
    model = onnx.load(run_dir / f"onnx/{stem}.onnx")
    proba, labels = onnx_outputs(make_session(model), x)
    name, _, variant = stem.partition(".")
    return stage.Graph(model=name, variant=variant or "fp32", proto=model,
                       interface=check_interface(model, name=stem), feature_names=[],
                       class_names=["0", "1"], file_bytes=0,
                       probabilities=proba.astype(np.float64), labels=labels)


@pytest.mark.parametrize("positive", [0, 1])
def test_exported_model_scores_the_given_positive_class(full_run, positive):
    run = load_run(full_run)
    x, y = run.input_rows("student"), run.split["y_test"]
    student, int8 = _graph(full_run, "student", x), _graph(full_run, "student.int8", x)
    teacher = _graph(full_run, "teacher", run.input_rows("teacher"))
    with warnings.catch_warnings():  # float32 rows sum to 1 only within ~1e-7
        warnings.simplefilter("ignore", UserWarning)
        record = stage.exported_model(int8, fp32=student, teacher=teacher, y_test=y,
                                      positive=positive, resamples=bootstrap_weights(1000, seed=0),
                                      reject_threshold=0.01)
    scores = int8.probabilities[:, positive]
    assert record.metrics.positive.name == str(positive)
    assert record.metrics.positive.support == np.sum(y == positive)
    assert record.metrics.pr_auc == pytest.approx(average_precision_score(y == positive, scores))
    assert record.paired_vs_fp32.b == "student.int8"


def test_export_run_student_is_much_smaller_than_teacher(export_summary):
    models = export_summary.models
    assert models["student"].file_bytes <= 0.3 * models["teacher"].file_bytes
    assert models["student"].input.shape == ["batch", 6]


def test_export_run_records_files_in_run_json(full_run, export_summary):
    manifest = rundir.read_manifest(full_run)
    for record in export_summary.models.values():
        assert manifest.artifacts[record.path] == rundir.sha256_file(full_run / record.path)
    assert manifest.artifacts[EXPORT_JSON] == rundir.sha256_file(full_run / EXPORT_JSON)
    assert manifest.stages["export"]["models"] == STEMS
    assert not list(full_run.glob(".onnx.*"))  # no staging leftovers


@pytest.mark.parametrize("variant, accuracy, fp32_accuracy, expected", [
    ("int8", 0.95, 0.96, "accepted"),  # exactly the threshold below: kept
    ("int8", 0.9499, 0.96, "rejected"),  # just over it
    ("fp16", 0.97, 0.96, "accepted"),  # better than fp32
    ("fp32", 0.10, 0.96, "accepted"),  # fp32 graphs are not judged
])
def test_judge_known_verdicts(variant, accuracy, fp32_accuracy, expected):
    verdict, reason = stage.judge(variant, accuracy=accuracy, fp32_accuracy=fp32_accuracy,
                                  reject_threshold=0.01)
    assert verdict == expected and (reason is None) == (expected == "accepted")


def test_export_run_refuses_existing_onnx_without_force(full_run, tree_state):
    before = tree_state(full_run)
    with pytest.raises(KdedgeError, match="pass --force"):
        export_run(full_run)
    assert tree_state(full_run) == before


def _perturbed_fold(model, scaler):
    folded = fold_model(model, scaler)
    bias = folded.layers[-1].bias.copy()
    bias[0] += 1e-2  # one logit off (a shift of all logits would leave softmax unchanged)
    folded.layers[-1].bias = bias
    return folded


def test_export_run_parity_failure_keeps_the_previous_export(full_run, tmp_path, monkeypatch,
                                                              tree_state):
    run = tmp_path / "run"
    shutil.copytree(full_run, run)
    before = tree_state(run)
    monkeypatch.setattr(stage, "fold_model", _perturbed_fold)
    gate = r"teacher\.onnx fails the parity gate.*max \|Δ probability\|"
    with pytest.raises(ParityError, match=gate):
        export_run(run, quantize="all", force=True)
    assert tree_state(run) == before  # old onnx/, export.json and run.json untouched
    assert list(run.glob(".onnx*")) == []  # the staging folder is gone


def _last_logit_boosted(model, *, calibration):
    """A 'quantizer' that breaks the model: every row gets the class of the last logit."""
    broken = onnx.ModelProto()
    broken.CopyFrom(model)
    last_gemm = [n for n in broken.graph.node if n.op_type == "Gemm"][-1]
    bias = next(t for t in broken.graph.initializer if t.name == last_gemm.input[2])
    values = onnx.numpy_helper.to_array(bias).copy()
    values[-1] += 100.0
    bias.CopyFrom(onnx.numpy_helper.from_array(values, bias.name))
    return broken


def _unchanged(model, *, calibration):
    """A 'quantizer' that returns the fp32 graph: its accuracy is the fp32 student's."""
    return model


@pytest.mark.slow
def test_export_run_judges_variants_with_known_verdicts(run_copy, monkeypatch):
    monkeypatch.setitem(stage.QUANTIZERS, "int8", _last_logit_boosted)
    monkeypatch.setitem(stage.QUANTIZERS, "fp16", _unchanged)
    summary = read_record(ExportSummary, export_run(run_copy, quantize="int8,fp16"))
    assert list(summary.models) == ["teacher", "student", "student.int8", "student.fp16",
                                    *EXPORTED_BASELINES]
    rejected, accepted = summary.models["student.int8"], summary.models["student.fp16"]
    assert rejected.verdict == "rejected"
    assert f"below the fp32 student's {summary.models['student'].metrics.accuracy:.4f} " \
           f"(reject_threshold 0.01)" in rejected.reason
    assert (run_copy / rejected.path).is_file()  # kept on disk for inspection
    assert accepted.verdict == "accepted" and accepted.reason is None
    assert accepted.metrics == summary.models["student"].metrics
    # every row the fp32 student gets right as the majority class 0 is lost to the broken int8
    assert rejected.paired_vs_fp32.verdict == "b_worse" and rejected.paired_vs_fp32.p_value < 1e-6
    same = accepted.paired_vs_fp32
    assert (same.verdict, same.ci_low, same.ci_high, same.only_a, same.only_b) == (
        "no_difference", 0.0, 0.0, 0, 0)


@pytest.mark.slow
def test_export_run_refuses_a_graph_without_the_device_interface(run_copy, monkeypatch,
                                                                  tree_state):
    def renamed_output(model, *, calibration):
        broken = onnx.ModelProto()
        broken.CopyFrom(model)
        broken.graph.node[-1].output[0] = "argmax"
        broken.graph.output[1].name = "argmax"
        return broken

    monkeypatch.setitem(stage.QUANTIZERS, "int8", renamed_output)
    before = tree_state(run_copy)
    with pytest.raises(InterfaceError, match=r"student\.int8\.onnx: expected input 'features' "
                                             r"and outputs .*a kdedge bug"):
        export_run(run_copy, quantize="int8")
    assert tree_state(run_copy) == before


def _global_state() -> dict:
    root = logging.getLogger()
    return {"root level": root.level, "root handlers": list(root.handlers),
            "disabled": logging.root.manager.disable,
            "torch.onnx level": logging.getLogger("torch.onnx").level,
            "kdedge handlers": list(logging.getLogger("kdedge").handlers),
            "warning filters": list(warnings.filters), "stdout": sys.stdout}


@pytest.fixture(scope="module")
def reexported(full_run, tmp_path_factory):
    """A copy of full_run re-exported with --force and only int8, in a plain process's logging
    state (no root handlers); returns (run, state before, state after, what went to stdout)."""
    run = tmp_path_factory.mktemp("reexport") / "run"
    shutil.copytree(full_run, run)
    root = logging.getLogger()
    saved = list(root.handlers)
    stdout = io.StringIO()
    try:
        root.handlers = []
        with contextlib.redirect_stdout(stdout):
            before = _global_state()
            export_run(run, quantize="int8", force=True)
            after = _global_state()
    finally:
        root.handlers = saved
    return run, before, after, stdout.getvalue()


@pytest.mark.slow
def test_export_run_leaves_logging_warnings_and_stdout_as_it_found_them(reexported):
    _, before, after, printed = reexported
    assert after == before
    assert printed == ""


@pytest.mark.slow
def test_export_run_forced_with_fewer_variants_forgets_the_old_files(reexported):
    run, *_ = reexported
    manifest = rundir.read_manifest(run)
    onnx_entries = sorted(path for path in manifest.artifacts if path.startswith("onnx/"))
    kept = [onnx_file("teacher"), onnx_file("student"), onnx_file("student", "int8"),
            *(onnx_file(name) for name in EXPORTED_BASELINES)]
    assert onnx_entries == sorted(kept)
    assert sorted(p.name for p in (run / "onnx").iterdir()) == sorted(
        path.removeprefix("onnx/") for path in kept)
    assert manifest.stages["export"]["quantize"] == ["int8"]


def _rewrite_preprocessing(run, **changes):
    path = run / PREPROCESSING_JSON
    preprocessing = read_record(Preprocessing, path)
    for field, value in changes.items():
        setattr(preprocessing, field, value)
    write_record(path, preprocessing)
    manifest = rundir.read_manifest(run)
    manifest.artifacts[PREPROCESSING_JSON] = rundir.sha256_file(path)
    write_record(run / RUN_JSON, manifest)


@pytest.mark.parametrize("breakage, message", [
    ("missing", "does not exist; create one with `kdedge distill`"),
    ("run_format", "run.json has run_format 99 .* re-create the run"),
    ("tampered_weights", r"student\.safetensors does not match the sha256 .* restore it"),
    ("unknown_feature", r"preprocessing\.json: selected_index does not point at "
                        "selected_features"),
    ("unknown_quantize", "unknown variant 'int4'; choose from int8, int8-static, fp16 or all"),
])
def test_export_run_bad_input_names_the_file_and_writes_nothing(run_copy, breakage, message,
                                                                tree_state):
    run, quantize = run_copy, None
    if breakage == "missing":
        run = run_copy.parent / "nowhere"
    elif breakage == "run_format":
        manifest = rundir.read_manifest(run)
        manifest.run_format = 99
        write_record(run / RUN_JSON, manifest)
    elif breakage == "tampered_weights":
        with open(run / "student.safetensors", "ab") as handle:
            handle.write(b"\0")
    elif breakage == "unknown_feature":
        selected = read_record(Preprocessing, run / PREPROCESSING_JSON).selected_features
        _rewrite_preprocessing(run, selected_features=selected[:-1] + ["no_such_feature"])
    elif breakage == "unknown_quantize":
        quantize = "int8,int4"
    before = tree_state(run_copy)
    with pytest.raises(KdedgeError, match=message):
        export_run(run, quantize=quantize)
    assert tree_state(run_copy) == before
    assert list(run_copy.glob(".onnx*")) == []  # no staging folder left behind
    assert not (run_copy.parent / "nowhere").exists()


@pytest.mark.parametrize("argument, value, message", [
    ("opset", 9, "--opset must be a whole number >= 13, got 9"),
    ("reject_threshold", 1.5, r"--reject_threshold must be a number in \[0.0, 1.0\], got 1.5"),
    ("calibration_rows", 0, "--calibration_rows must be a whole number >= 1, got 0"),
    ("quantize", 3.5, "--quantize must be true or false or a non-empty text or names"),
    ("force", "yes", "--force must be true or false, got 'yes'"),
])
def test_export_run_checks_its_arguments_before_reading(tmp_path, argument, value, message):
    with pytest.raises(KdedgeError, match=message):
        export_run(tmp_path / "not-a-run", **{argument: value})  # checked before the run


def test_cli_export_unknown_quantize_exits_2(full_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(full_run), "--quantize", "int3"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "kdedge: error: --quantize 'int3'" in err and "int8, int8-static, fp16 or all" in err


@pytest.mark.slow
def test_cli_export_subprocess_refuses_existing_export(full_run):
    result = subprocess.run([sys.executable, "-m", "kdedge.cli", "export", str(full_run)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "already exists (an earlier export); pass --force" in result.stderr


# ---------------------------------------------------------------------------------------------
# The C student (`export_run(c=True)`, `kdedge export --c`): staged and committed with onnx/.

needs_gcc = pytest.mark.skipif(toolchain_missing(NATIVE) is not None,
                               reason=f"{toolchain_missing(NATIVE)}")


@needs_gcc
def test_export_run_with_c_writes_and_records_the_c_student(full_run, export_summary):
    """The session run was exported with c=True: c/ is in run.json and export.json."""
    c = export_summary.c_student
    assert (c.header, c.source, c.onnx) == ("c/kdedge.h", "c/kdedge.c", onnx_file("student"))
    assert sorted(p.name for p in (full_run / "c").iterdir()) == ["kdedge.c", "kdedge.h"]
    manifest = rundir.read_manifest(full_run)
    for path in (c.header, c.source):
        assert manifest.artifacts[path] == rundir.sha256_file(full_run / path)
    assert c.onnx_sha256 == manifest.artifacts[onnx_file("student")]  # made from the shipped graph
    assert f"(sha256 {c.onnx_sha256})" in (full_run / c.header).read_text()
    assert c.parity.passed and c.parity.rows == export_summary.test_rows
    assert c.feature_names == export_summary.models["student"].feature_names
    assert manifest.stages["export"]["c_student"] is True
    assert not list(full_run.glob(".c.*"))  # no staging leftovers


@needs_gcc
@pytest.mark.slow
def test_cli_export_c_parity_failure_writes_nothing(full_run, tmp_path, tree_state, capsys,
                                                    c_parity_failure):
    """`kdedge export RUN --c --force` over an export with a C student: the planted C gate failure
    exits 2 and leaves the old onnx/, c/, export.json and run.json exactly as they were."""
    run = Path(shutil.copytree(full_run, tmp_path / "run"))
    before = tree_state(run)
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(run), "--c", "--force", "--quiet"])
    assert exit_info.value.code == 2
    assert re.search(r"kdedge: error: the C student generated from onnx/student\.onnx fails its "
                     r"gate .*Nothing was written", capsys.readouterr().err)
    assert tree_state(run) == before and (run / "c").is_dir() and (run / "onnx").is_dir()
    assert list(run.glob(".onnx*")) == [] and list(run.glob(".c.*")) == []


def test_export_run_c_without_gcc_fails_before_any_work(run_copy, tmp_path, monkeypatch,
                                                         tree_state):
    before = tree_state(run_copy)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(stage, "export_graphs",
                        lambda *args, **kwargs: pytest.fail("exported before checking for gcc"))
    with pytest.raises(ToolchainMissing, match=r"gcc, size not found .*apt-get install gcc "
                                               r"binutils"):
        export_run(run_copy, c=True)
    assert tree_state(run_copy) == before and list(run_copy.glob(".onnx*")) == []


def test_export_run_refuses_a_leftover_c_folder_without_force(run_copy, tree_state):
    (run_copy / "c").mkdir()
    before = tree_state(run_copy)
    with pytest.raises(KdedgeError, match=r"/c already exists \(an earlier export\); pass --force"):
        export_run(run_copy)
    assert tree_state(run_copy) == before


@pytest.mark.slow
def test_export_run_forced_without_c_removes_the_old_c_student(reexported):
    run, *_ = reexported
    assert not (run / "c").exists() and list(run.glob(".c.*")) == []
    manifest = rundir.read_manifest(run)
    assert [path for path in manifest.artifacts if path.startswith("c/")] == []
    assert read_record(ExportSummary, run / EXPORT_JSON).c_student is None
    assert manifest.stages["export"]["c_student"] is False


def _folders(tmp_path):
    """RUN with an old onnx/ and c/, and staged new ones."""
    run = tmp_path / "run"
    for name, text in (("onnx", "old onnx"), ("c", "old c"), (".onnx.new", "new onnx"),
                       (".c.new", "new c")):
        (run / name).mkdir(parents=True)
        (run / name / "file").write_text(text)
    return run, run / ".onnx.new", run / "onnx", run / ".c.new", run / "c"


def _contents(run):
    return {p.relative_to(run).as_posix(): p.read_text() for p in sorted(run.rglob("*"))
            if p.is_file()}


def test_commit_outputs_replaces_onnx_and_c_together(tmp_path):
    run, staged, onnx_dir, staged_c, c_dir = _folders(tmp_path)
    stage.commit_outputs(staged, onnx_dir, staged_c, c_dir)
    assert _contents(run) == {"onnx/file": "new onnx", "c/file": "new c"}
    assert sorted(p.name for p in run.iterdir()) == ["c", "onnx"]  # the old c/ set aside is gone


def test_commit_outputs_without_c_removes_the_old_c(tmp_path):
    run, staged, onnx_dir, staged_c, c_dir = _folders(tmp_path)
    shutil.rmtree(staged_c)
    stage.commit_outputs(staged, onnx_dir, None, c_dir)
    assert _contents(run) == {"onnx/file": "new onnx"}


def test_commit_outputs_keeps_the_old_c_beside_the_old_onnx(tmp_path, monkeypatch):
    """onnx/ cannot be replaced: the old c/ is put back, no C beside graphs it does not match."""
    run, staged, onnx_dir, staged_c, c_dir = _folders(tmp_path)

    def refuse(staged, out):
        raise OSError("disk full")

    monkeypatch.setattr(stage.rundir, "commit_dir", refuse)
    with pytest.raises(OSError, match="disk full"):
        stage.commit_outputs(staged, onnx_dir, staged_c, c_dir)
    assert _contents(run) == {"onnx/file": "old onnx", "c/file": "old c",
                              ".onnx.new/file": "new onnx", ".c.new/file": "new c"}
    assert sorted(p.name for p in run.iterdir()) == [".c.new", ".onnx.new", "c", "onnx"]


def test_export_run_gbdt_teacher_is_built_from_its_trees(searched_run, tmp_path):
    """--teacher gbdt: the teacher is stored as tree arrays, exported as an ai.onnx.ml graph that
    reproduces scikit-learn's probabilities, costs 0 MACs and is benched like any model."""
    run_dir = tmp_path / "run"
    shutil.copytree(searched_run, run_dir)
    run = load_run(run_dir)
    assert run.models.teacher.kind == "gbdt" and not run.is_torch("teacher")
    assert run.metrics.teacher.family == "gbdt" and run.metrics.teacher_kind == "gbdt"
    assert run.metrics.teacher.macs == 0 and run.metrics.teacher.params == run.models.teacher.nodes
    with pytest.raises(KdedgeError, match="stored as arrays"):
        run.load_model("teacher")
    summary = read_record(ExportSummary, export_run(run_dir))
    teacher = summary.models["teacher"]
    assert teacher.parity.passed and teacher.macs == 0 and teacher.n_features == 13
    assert teacher.ops.get("TreeEnsembleRegressor") == 1
    assert teacher.metrics.accuracy == run.metrics.teacher.accuracy
    assert teacher.params == run.models.teacher.nodes  # a threshold per split, a weight per leaf
    assert summary.models["student"].agreement_teacher == run.metrics.agreement
