"""Issue 13, item 6: two `kdedge distill --out same` at once both exited 0, the later silently
replacing the earlier's finished run without --force. Two processes start together (a barrier)
and each stops at the moment it would commit until the test has seen both arrive or one fail."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from reliability_kit import QUICK, tiny_csv

from kdedge import rundir
from kdedge.rundir import KdedgeError


def _distill(out: str, data: str, barrier, events, go) -> None:
    from kdedge import distill as stage
    from kdedge import rundir as run_dir

    real_commit = run_dir.commit_dir

    def commit_when_told(staged, target):
        events.put("at commit")
        go.wait(300)
        return real_commit(staged, target)

    run_dir.commit_dir = commit_when_told
    barrier.wait(60)
    try:
        stage.distill(data=data, target="label", out=out, **QUICK)
        events.put("done: ok")
    except KdedgeError as exc:
        events.put(f"done: {exc}")


def _collect(events, n: int) -> list[str]:
    return [events.get(timeout=300) for _ in range(n)]


@pytest.mark.slow
def test_two_distills_to_the_same_out_one_wins_the_other_fails_clearly(tmp_path):
    data = str(tiny_csv(tmp_path / "tiny.csv"))
    out = str(tmp_path / "run")
    context = multiprocessing.get_context("spawn")
    barrier, events, go = context.Barrier(2), context.Queue(), context.Event()
    workers = [context.Process(target=_distill, args=(out, data, barrier, events, go))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    seen = _collect(events, 2)  # both at commit (nothing stops them), or one already failed
    go.set()
    while sum(message.startswith("done") for message in seen) < 2:
        seen += _collect(events, 1)
    for worker in workers:
        worker.join(timeout=120)
    finished = sorted(message for message in seen if message.startswith("done"))
    assert finished[1] == "done: ok", seen
    assert "is writing" in finished[0] and out in finished[0], seen
    assert rundir.read_manifest(out).run_id == "run"


def test_stage_lock_refuses_a_second_holder_and_names_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(str(run), held, release))
    holder.start()
    try:
        assert held.wait(60)
        with pytest.raises(KdedgeError, match=rf"pid {holder.pid}.*export.*is writing {run}"):
            with rundir.stage_lock(run, stage="report"):
                pass
    finally:
        release.set()
        holder.join(timeout=60)
    with rundir.stage_lock(run, stage="report"):  # free again once the holder has finished
        with rundir.stage_lock(run, stage="report"):  # and re-entrant within a process
            assert (tmp_path / ".run.lock").read_text().startswith(f"pid {os.getpid()}, report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the lock file goes with it


def _hold_lock(run: str, held, release) -> None:
    with rundir.stage_lock(run, stage="export"):
        held.set()
        release.wait(60)
