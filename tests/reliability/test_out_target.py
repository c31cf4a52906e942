"""Issue 13, items 8 and 9: `--out` is checked before any work. A read-only folder or `--out .`
trained for minutes, then died with a traceback (leaving `..*.old/`); `--out LINK --force`
replaced the symbolic link by a directory."""

from __future__ import annotations

import os

import pytest
from reliability_kit import fake_run

from kdedge import distill as stage
from kdedge import rundir
from kdedge.rundir import KdedgeError


@pytest.fixture
def no_work(monkeypatch):
    """distill fails the test if it gets as far as loading the data."""
    monkeypatch.setattr(stage, "prepare", lambda *a, **k: pytest.fail("loaded the data"))


def test_out_dot_is_refused_before_loading(tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    fake_run(tmp_path / "sub", "x")
    monkeypatch.chdir(tmp_path / "sub")  # a run, so --force would have swapped the cwd away
    for out in (".", "..", str(tmp_path)):
        with pytest.raises(KdedgeError, match="is the working directory or contains it"):
            stage.distill(out=out, force=True)


def test_out_under_a_file_is_refused_before_loading(tmp_path, no_work):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(KdedgeError, match=r"notes.txt is a file, not a folder"):
        stage.distill(out=str(tmp_path / "notes.txt" / "run"))
    with pytest.raises(KdedgeError, match=r"--out .*notes.txt is a file"):
        stage.distill(out=str(tmp_path / "notes.txt"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder_is_refused_before_loading(tmp_path, no_work):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(KdedgeError, match="cannot write"):
            stage.distill(out=str(locked / "run"))
    finally:
        locked.chmod(0o755)


def test_out_unwritable_is_refused_before_loading(tmp_path, monkeypatch, no_work):
    """As root a read-only folder is still writable, so the probe's failure is injected."""
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rundir.tempfile, "mkdtemp", refuse)
    with pytest.raises(KdedgeError, match=r"cannot write in .*Permission denied.*writable --out"):
        stage.distill(out=str(tmp_path / "runs" / "run"))
    assert not (tmp_path / "runs").exists()  # the check created nothing


def test_out_symlink_is_refused_and_left_alone(tmp_path, no_work):
    """Item 9: refused (documented in docs/run-dir.md), naming the run to pass instead."""
    target = fake_run(tmp_path / "real", "the run")
    link = tmp_path / "latest"
    link.symlink_to(target)
    for force in (False, True):
        with pytest.raises(KdedgeError, match=rf"symbolic link to {target}.*--out {target}"):
            stage.distill(out=str(link), force=force)
    assert link.is_symlink() and (target / "which.txt").read_text() == "the run"


def test_a_refused_distill_leaves_no_folder_behind(tmp_path):
    """The lock file's folders are made for it and removed when the stage wrote nothing."""
    with pytest.raises(KdedgeError, match="--features 99 is out of range"):
        stage.distill(data="iris", features=99, out=str(tmp_path / "new" / "deep" / "run"))
    assert list(tmp_path.iterdir()) == []
