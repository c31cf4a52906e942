import json
import multiprocessing

import pytest

from kdedge import contract, rundir
from kdedge.contract import Manifest, write_record
from kdedge.rundir import KdedgeError


def _write_manifest(run_dir, artifacts: dict[str, str]) -> None:
    write_record(run_dir / contract.RUN_JSON, Manifest(
        kdedge_version="0.1.0", run_id=run_dir.name, created="2026-01-01T00:00:00+00:00", seed=0,
        config={}, versions={}, torch_threads=1, artifacts=artifacts, stages={}))


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


def test_prepare_output_dir_never_replaces_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.txt").write_text("years of work")
    for force in (False, True):
        with pytest.raises(KdedgeError, match="not a kdedge run.*even with --force"):
            rundir.prepare_output_dir(tmp_path / "thesis", force=force)


def test_written_files_and_runs_get_the_umask_mode(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        path = rundir.write_bytes_atomic(tmp_path / "a.bin", b"x")
        staged = rundir.staging_dir(tmp_path / "run")
    finally:
        os.umask(old)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert oct(staged.stat().st_mode & 0o777) == oct(0o755)


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
    _write_manifest(tmp_path, {"w.bin": rundir.sha256_file(tmp_path / "w.bin")})
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


def test_verify_artifact_refuses_a_file_run_json_does_not_list(tmp_path):
    (tmp_path / "extra.bin").write_bytes(b"x")
    _write_manifest(tmp_path, {})
    with pytest.raises(KdedgeError, match="lists no sha256 for extra.bin"):
        rundir.verify_artifact(tmp_path, "extra.bin")


def test_update_manifest_records_files_removed_entries_and_stage_info(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"a")
    _write_manifest(tmp_path, {"old.bin": "0" * 64})
    manifest = rundir.update_manifest(tmp_path, stage="export", files=["a.bin"],
                                      removed=["old.bin"], info={"seconds": 1.5})
    assert rundir.read_manifest(tmp_path) == manifest
    assert manifest.artifacts == {"a.bin": rundir.sha256_file(tmp_path / "a.bin")}
    assert set(manifest.stages["export"]) == {"finished", "seconds"}
    assert manifest.stages["export"]["seconds"] == 1.5


def _add_files(run_dir, prefix: str, barrier, rounds: int) -> None:
    barrier.wait()
    for i in range(rounds):
        name = f"{prefix}{i}.bin"
        (run_dir / name).write_bytes(name.encode())
        rundir.update_manifest(run_dir, stage=prefix, files=[name])


def test_update_manifest_concurrent_writers_lose_no_entry(tmp_path):
    """Two processes each add 20 files at the same time: the lock keeps every entry."""
    _write_manifest(tmp_path, {})
    context = multiprocessing.get_context("spawn")  # the children need no torch state
    barrier = context.Barrier(2)
    workers = [context.Process(target=_add_files, args=(tmp_path, prefix, barrier, 20))
               for prefix in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    artifacts = rundir.read_manifest(tmp_path).artifacts
    assert sorted(artifacts) == sorted(f"{p}{i}.bin" for p in "ab" for i in range(20))


def test_verify_recorded_names_every_missing_unrecorded_and_changed_file(tmp_path):
    for name in ("ok.bin", "changed.bin", "extra.bin"):
        (tmp_path / name).write_bytes(name.encode())
    _write_manifest(tmp_path, {name: rundir.sha256_file(tmp_path / name)
                               for name in ("ok.bin", "changed.bin")} | {"gone.bin": "0" * 64})
    (tmp_path / "changed.bin").write_bytes(b"edited")
    assert rundir.verify_recorded(tmp_path, ["ok.bin"]) == {"ok.bin": tmp_path / "ok.bin"}
    with pytest.raises(KdedgeError) as caught:
        rundir.verify_recorded(tmp_path, ["ok.bin", "changed.bin", "gone.bin", "extra.bin"],
                               fix="re-run `kdedge export RUN --force`")
    message = str(caught.value)
    assert "changed.bin does not match the sha256" in message
    assert "gone.bin is missing" in message and "lists no sha256 for extra.bin" in message
    assert message.endswith("restore them or re-run `kdedge export RUN --force`")
    assert "ok.bin" not in message.replace(str(tmp_path), "")


def test_recorded_files_lists_a_folders_recorded_files():
    manifest = Manifest(kdedge_version="0.1.0", run_id="r", created="", seed=0, config={},
                        versions={}, torch_threads=1, stages={},
                        artifacts={"onnx/b.onnx": "1", "onnx/a.onnx": "2", "onnxx.json": "3",
                                   "metrics.json": "4"})
    assert rundir.recorded_files(manifest, "onnx") == ["onnx/a.onnx", "onnx/b.onnx"]
    assert rundir.recorded_files(manifest, "bench/") == []


def test_commit_dir_into_a_new_folder_is_one_rename(tmp_path):
    staged = rundir.staging_dir(tmp_path / "run")
    (staged / "a.txt").write_text("a")
    assert rundir.commit_dir(staged, tmp_path / "run") == tmp_path / "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_exchange_errors_other_than_unsupported_are_raised(tmp_path):
    (tmp_path / "a").mkdir()
    if not rundir._exchange(tmp_path / "a", tmp_path / "a"):
        pytest.skip("no RENAME_EXCHANGE here")
    with pytest.raises(FileNotFoundError):
        rundir._exchange(tmp_path / "a", tmp_path / "missing")
