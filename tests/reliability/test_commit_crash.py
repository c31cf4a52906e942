"""Issue 13, item 4: replacing a run directory is crash-safe. `commit_dir` used to be two renames
(old run aside, new run in); a SIGKILL between them left `--out` missing, the old run in a hidden
`.old` folder and the new one in `.partial`. Kills are injected at a hook, right after the first
filesystem step, in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reliability_kit import fake_run

from kdedge import rundir
from kdedge.rundir import KdedgeError

# Runs commit_dir(staged, out) and SIGKILLs itself right after the first rename or exchange.
KILL_AFTER_FIRST_STEP = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from kdedge import rundir

    def killed_after(step):
        def wrapper(*args, **kwargs):
            result = step(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
            return result
        return wrapper

    os.replace, os.rename = killed_after(os.replace), killed_after(os.rename)
    if sys.argv[3] == "fallback":  # as on a filesystem without RENAME_EXCHANGE
        rundir._exchange = lambda a, b: False
    elif hasattr(rundir, "_exchange"):
        rundir._exchange = killed_after(rundir._exchange)
    rundir.commit_dir(Path(sys.argv[2]), Path(sys.argv[1]))
""")


def _old_and_staged(tmp_path) -> tuple[Path, Path]:
    out = fake_run(tmp_path / "run", "old")
    staged = rundir.staging_dir(out)
    (staged / "run.json").write_text("{}")
    (staged / "which.txt").write_text("new")
    return out, staged


def _kill_during_commit(out: Path, staged: Path, mode: str) -> int:
    return subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_STEP, str(out), str(staged),
                           mode], capture_output=True, text=True, timeout=60).returncode


def _exchange_supported(tmp_path) -> bool:
    first, second = tmp_path / "x1", tmp_path / "x2"
    first.mkdir()
    second.mkdir()
    try:
        return bool(getattr(rundir, "_exchange", lambda a, b: True)(first, second))
    finally:
        first.rmdir()
        second.rmdir()


def test_a_kill_during_the_replace_leaves_a_complete_run_at_out(tmp_path):
    if not _exchange_supported(tmp_path):
        pytest.skip("this filesystem has no RENAME_EXCHANGE; the fallback is tested below")
    out, staged = _old_and_staged(tmp_path)
    assert _kill_during_commit(out, staged, "default") == -signal.SIGKILL
    assert (out / "which.txt").read_text() == "new"  # the exchange was the one step
    removed = rundir.clean_debris(out)  # the old run, left in the staging name, is debris
    assert [p.name for p in removed] == [staged.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_fallback_kill_between_the_two_renames_is_recovered_by_the_next_writer(tmp_path):
    out, staged = _old_and_staged(tmp_path)
    assert _kill_during_commit(out, staged, "fallback") == -signal.SIGKILL
    assert not out.exists()  # the window the two renames cannot close
    with pytest.raises(KdedgeError, match=r"interrupted.*previous run is in .*\.run\.\w+\.old"):
        rundir.read_manifest(out)
    assert rundir.prepare_output_dir(out, force=True) == out  # the next distill's first step
    assert (out / "which.txt").read_text() == "old"
    rundir.clean_debris(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_fallback_error_between_the_two_renames_puts_the_old_run_back(tmp_path, monkeypatch):
    out, staged = _old_and_staged(tmp_path)
    monkeypatch.setattr(rundir, "_exchange", lambda a, b: False, raising=False)
    calls = []
    real_replace = os.replace

    def second_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", second_fails)
    monkeypatch.setattr(os, "rename", second_fails)
    with pytest.raises(OSError, match="No space left"):
        rundir.commit_dir(staged, out)
    assert (out / "which.txt").read_text() == "old"
    assert staged.is_dir()  # the caller's to remove, as before
