import json

import pytest

from kdedge import rundir
from kdedge.rundir import KdedgeError


def test_write_json_atomic_leaves_no_temp_and_writes_nan_as_null(tmp_path):
    path = rundir.write_json_atomic(tmp_path / "a.json", {"x": float("nan"), "y": [1.5]})
    assert json.loads(path.read_text()) == {"x": None, "y": [1.5]}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_prepare_output_dir_refuses_an_existing_run(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{}")
    with pytest.raises(KdedgeError, match="--force"):
        rundir.prepare_output_dir(tmp_path / "run", force=False)
    assert rundir.prepare_output_dir(tmp_path / "run", force=True) == tmp_path / "run"


def test_read_manifest_refuses_other_run_format(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"run_format": 99, "kdedge_version": "9.0"}))
    with pytest.raises(KdedgeError, match="run_format 99.*kdedge 9.0"):
        rundir.read_manifest(tmp_path)


def test_read_manifest_missing(tmp_path):
    with pytest.raises(KdedgeError, match="not a kdedge run directory"):
        rundir.read_manifest(tmp_path)
    with pytest.raises(KdedgeError, match="does not exist"):
        rundir.read_manifest(tmp_path / "nope")


def test_verify_artifact_detects_tampering(tmp_path):
    (tmp_path / "w.bin").write_bytes(b"weights")
    manifest = {"run_format": 1, "artifacts": {"w.bin": rundir.sha256_file(tmp_path / "w.bin")}}
    rundir.write_json_atomic(tmp_path / "run.json", manifest)
    assert rundir.verify_artifact(tmp_path, "w.bin") == tmp_path / "w.bin"
    (tmp_path / "w.bin").write_bytes(b"weightz")
    with pytest.raises(KdedgeError, match="does not match the sha256"):
        rundir.verify_artifact(tmp_path, "w.bin")


def test_commit_dir_replaces_old_run_whole(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    staged = rundir.staging_dir(out)
    (staged / "new.txt").write_text("new")
    rundir.commit_dir(staged, out)
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
