"""Issue 13, items 5 and 10–13: export's commit, reads checked against run.json, bench's refusals.

Each test reproduces the original failure: the kill window of item 5 by a monkeypatched step
between two writes that raises (no sleeps), the others by editing, deleting or replacing a file
of a real exported run (the session `full_run`, copied)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import onnx
import pytest

from kdedge import contract, rundir
from kdedge.rundir import KdedgeError

def copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst


BENCH = dict(batch_sizes=(1,), quick=True, target="t")


def _bench(run, **extra):
    from kdedge.runtime.bench import bench

    return bench(run, **{**BENCH, **extra})


def test_export_killed_after_rename_is_detected_and_re_export_proceeds(small_run, tmp_path,
                                                                        monkeypatch):
    """Item 5: onnx/ renamed in, then a crash before export.json and run.json record it. Before:
    bench measured the unrecorded models silently and a re-export refused without --force."""
    from kdedge.export import export_run
    from kdedge.export import stage

    run = copy_run(small_run, tmp_path / "run")

    def killed(*args, **kwargs):
        raise OSError("killed here")

    monkeypatch.setattr(stage, "write_record", killed)  # the step after commit_outputs
    with pytest.raises(OSError, match="killed here"):
        export_run(run)
    monkeypatch.undo()
    assert (run / "onnx" / "student.onnx").is_file()  # renamed in, not recorded
    assert not any(name.startswith("onnx/") for name in rundir.read_manifest(run).artifacts)
    with pytest.raises(KdedgeError, match=r"not recorded in run.json.*--force"):
        _bench(run)
    export_run(run)  # no --force needed: the interrupted export is replaced
    manifest = rundir.read_manifest(run)
    assert "onnx/student.onnx" in manifest.artifacts and contract.EXPORT_JSON in manifest.artifacts
    assert manifest.stages["export"].get("committed") is None
    with pytest.raises(KdedgeError, match="already exists"):  # a finished export needs --force
        export_run(run)


def test_export_cleans_debris_of_a_killed_export(small_run, tmp_path):
    """Item 5 (wiring): the next successful export removes what a killed one left."""
    from kdedge.export import export_run

    run = copy_run(small_run, tmp_path / "run")
    debris = run / ".onnx.abcd1234.partial"
    debris.mkdir()
    export_run(run)
    assert not debris.exists()


def test_report_refuses_an_edited_export_json(full_run, tmp_path):
    """Item 10: an edited export.json made the report say "int8 accepted: accuracy 0.1235"."""
    from kdedge.report.collect import collect

    run = copy_run(full_run, tmp_path / "run")
    path = run / contract.EXPORT_JSON
    data = json.loads(path.read_text())
    data["models"]["student.int8"]["metrics"]["accuracy"] = 0.1235
    path.write_text(json.dumps(data))
    with pytest.raises(KdedgeError, match=r"export.json does not match the sha256.*--force"):
        collect(run)


def test_report_refuses_an_edited_bench_json_but_not_an_outside_one(full_run, tmp_path):
    """Item 10: a bench JSON in RUN/bench/ is checked; one passed with --bench from elsewhere is
    not recorded in run.json and is read as it is."""
    from kdedge.report.collect import collect

    run = copy_run(full_run, tmp_path / "run")
    inside = run / "bench" / "x86-test.json"
    outside = tmp_path / "other.json"
    outside.write_text(inside.read_text())
    assert len(collect(run, bench_files=[outside]).benches) == 2
    inside.write_text(inside.read_text().replace('"target": "x86-test"', '"target": "x86-tesT"'))
    with pytest.raises(KdedgeError, match=r"x86-test.json does not match the sha256.*kdedge bench"):
        collect(run)


def test_deleted_recorded_model_is_an_error_in_bench_and_a_warning_in_the_report(full_run,
                                                                                   tmp_path):
    """Item 11: before, bench measured the other models and the report listed the student as
    accepted with no bench row, both silently."""
    from kdedge.report.collect import collect
    from kdedge.report.sections import build_document
    from kdedge.report.render import render_markdown

    run = copy_run(full_run, tmp_path / "run")
    (run / "onnx" / "student.onnx").unlink()
    with pytest.raises(KdedgeError, match=r"onnx/student.onnx is recorded in run.json but missing"):
        _bench(run)
    facts = collect(run)
    assert facts.missing_models == ["onnx/student.onnx"]
    for lang in ("en", "zh"):
        page = render_markdown(build_document(facts, lang=lang, plots=set()))
        assert "onnx/student.onnx" in page and "--force" in page


def test_bench_with_every_model_failing_writes_the_json_and_fails(tmp_path):
    """Item 12: exit 0 when every model failed. Now the JSON (with each error) is written and
    the command fails with exit status 2, naming the errors."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "broken.onnx").write_bytes(b"not a model")
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-c", "from kdedge.cli import main; main()", "bench",
                           str(folder), "--quick", "--batch_sizes=1", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 2, proc.stderr
    assert "every model failed" in proc.stderr and "broken.onnx" in proc.stderr
    assert json.loads(out.read_text())["errors"] == 1


def test_bench_refuses_a_fifo_named_model_onnx_without_hanging(full_run, tmp_path):
    """Item 12: a FIFO named model.onnx hung bench in onnx.load; now it is a model error."""
    from kdedge.runtime.models import read_model_info

    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    info = read_model_info(fifo)
    assert info.error is not None and "not a regular file" in info.error
    good = tmp_path / "student.onnx"
    good.write_bytes((full_run / "onnx" / "student.onnx").read_bytes())
    models = _bench(tmp_path, out=tmp_path / "b.json")
    report = json.loads(models.read_text())
    assert "not a regular file" in report["models"]["model.onnx"]["error"]
    assert report["models"]["student.onnx"]["error"] is None


def test_bench_refuses_a_corrupt_split_npz(full_run, tmp_path):
    """Item 12: a corrupt split.npz gave a BadZipFile traceback; bench now checks it against
    run.json (naming it), and a split.npz outside a run is a KdedgeError too."""
    from kdedge.runtime.models import load_rows

    run = copy_run(full_run, tmp_path / "run")
    (run / contract.SPLIT_NPZ).write_bytes(b"PK\x03\x04 corrupt")
    with pytest.raises(KdedgeError, match=r"split.npz does not match the sha256"):
        _bench(run, force=True)
    with pytest.raises(KdedgeError, match="split.npz has no readable X_test"):
        load_rows(run)


def test_bench_dir_accepts_external_data_beside_the_model_from_another_cwd(full_run, tmp_path,
                                                                             monkeypatch):
    """Item 13: `onnx.checker.check_model` on a proto resolved external data from the working
    directory; the interface check is by path, so the folder benches from anywhere."""
    from kdedge.runtime.models import read_model_info

    folder = tmp_path / "ext"
    folder.mkdir()
    model = onnx.load(full_run / "onnx" / "student.onnx")
    onnx.save_model(model, folder / "student.onnx", save_as_external_data=True,
                    all_tensors_to_one_file=True, location="student.onnx.data",
                    size_threshold=0)
    assert (folder / "student.onnx.data").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert read_model_info(folder / "student.onnx").error is None
    report = json.loads(_bench(folder, out=tmp_path / "b.json").read_text())
    assert report["errors"] == 0 and report["models"]["student.onnx"]["latency"]
