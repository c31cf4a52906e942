"""kdedge.distributed: torchrun's environment, the flags of a launched distill, a real two-process
gloo group on the loopback interface, and the launcher's failure paths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from kdedge import distributed
from kdedge.distributed import (LAUNCH_ENV, SINGLE, World, cli_flags, launch, process_group,
                                torchrun_command, world_from_env)
from kdedge.errors import KdedgeError

TORCHRUN_ENV = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}


def test_world_from_env_without_torchrun_is_single():
    assert world_from_env({"PATH": "/usr/bin"}) is SINGLE
    assert SINGLE.is_main and not SINGLE.is_distributed
    assert SINGLE.describe() == "1 process"


def test_world_from_env_reads_torchrun_variables():
    world = world_from_env({**TORCHRUN_ENV, "MASTER_PORT": "29500"})
    assert world == World(rank=1, size=2, local_rank=1)
    assert world.is_distributed and not world.is_main
    assert world.describe() == "2 processes (gloo), rank 0 writes"


@pytest.mark.parametrize("name, text", [("RANK", "one"), ("WORLD_SIZE", "2.0"),
                                        ("LOCAL_RANK", "")])
def test_world_from_env_malformed_value_names_the_variable(name, text):
    with pytest.raises(KdedgeError, match=f"{name}='{text}' is not a whole number"):
        world_from_env({**TORCHRUN_ENV, name: text})


def test_world_from_env_partial_names_the_missing_variable():
    with pytest.raises(KdedgeError, match="RANK set but not WORLD_SIZE, LOCAL_RANK"):
        world_from_env({"RANK": "0"})


@pytest.mark.parametrize("env, message", [
    ({"RANK": "2", "WORLD_SIZE": "2"}, r"RANK=2 with WORLD_SIZE=2: RANK must be in 0 … 1"),
    ({"RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE=0: it must be at least 1"),
    ({"LOCAL_RANK": "-1"}, "LOCAL_RANK=-1: it must be at least 0"),
])
def test_world_from_env_out_of_range_is_refused(env, message):
    with pytest.raises(KdedgeError, match=message):
        world_from_env({**TORCHRUN_ENV, **env})


def test_single_world_collectives_return_their_input():
    value = {"features": ["a", "b"], "k": (2,)}
    assert SINGLE.broadcast_json(value) is value
    assert SINGLE.all_reduce_sum([1, 2.5]) == [1.0, 2.5]
    assert SINGLE.all_reduce_min([3]) == [3.0] and SINGLE.all_reduce_max([]) == []
    SINGLE.barrier()


def test_single_world_broadcast_json_refuses_what_json_cannot_carry():
    with pytest.raises(TypeError, match="set"):
        SINGLE.broadcast_json({"features": {"a", "b"}})


def test_process_group_single_installs_nothing():
    import torch.distributed as dist

    before = signal.getsignal(signal.SIGTERM)
    with process_group(SINGLE) as world:
        assert world is SINGLE
        assert signal.getsignal(signal.SIGTERM) is before
        assert not dist.is_initialized()


def test_process_group_rendezvous_failure_names_master_address(monkeypatch):
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.setenv("MASTER_PORT", "29511")
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KdedgeError, match=r"MASTER_ADDR:MASTER_PORT \(unset\):29511 .*"
                                          r"torchrun --standalone"):
        with process_group(World(rank=0, size=2)):
            pytest.fail("the block ran without a process group")
    assert signal.getsignal(signal.SIGTERM) is before


def test_cli_flags_known_answer():
    values = {"data": "wine.csv", "target": "-1", "no_header": True, "force": False,
              "features": None, "seed": -1, "lr": 0.1 + 0.2, "teacher_hidden": [64, 32],
              "student_hidden": (16,), "search_seconds": 60.0}
    assert cli_flags(values) == [
        "--data", "wine.csv", "--target", "-1", "--no_header", "--seed", "-1",
        "--lr", "0.30000000000000004", "--teacher_hidden", "64,32", "--student_hidden", "16",
        "--search_seconds", "60.0"]


def test_cli_flags_round_trip_through_the_kdedge_command(monkeypatch, capsys):
    """What `kdedge distill FLAGS` hands the distill stage equals the values the flags came from."""
    import kdedge.distill
    from kdedge.cli import main

    received = {}

    def fake_distill(**kwargs):
        received.update(kwargs)
        return "runs/fake"

    monkeypatch.setattr(kdedge.distill, "distill", fake_distill)
    values = {"data": "my data.csv", "target": "-1", "no_header": True, "positive": "1",
              "out": "runs/x y", "force": True, "seed": 7, "test_size": 0.1 + 0.2,
              "teacher_hidden": [64, 32], "student_hidden": [16], "features": 3,
              "alpha": 0.0, "lr": 1e-05, "temperature": 2.5, "rank": None}
    main(["distill", *cli_flags(values)])
    assert {name: received[name] for name in values} == values


def test_torchrun_command_shape():
    command = torchrun_command({"out": "runs/a", "force": True}, nproc=3)
    assert command == [sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--nproc_per_node", "3", "-m", "kdedge", "distill",
                       "--out", "runs/a", "--force"]


@pytest.mark.parametrize("nproc", [0, 2.0, True])
def test_torchrun_command_refuses_a_bad_process_count(nproc):
    with pytest.raises(KdedgeError, match="must be a whole number >= 1"):
        torchrun_command({}, nproc=nproc)


def test_launch_failing_child_names_status_and_out(monkeypatch, tmp_path):
    monkeypatch.setattr(distributed, "torchrun_command",
                        lambda values, *, nproc: [sys.executable, "-c", "raise SystemExit(3)"])
    out = tmp_path / "run"
    with pytest.raises(KdedgeError, match=rf"distill on 2 processes failed \(torchrun exit "
                                          rf"status 3;.*nothing was written to {out}"):
        launch({"out": str(out)}, nproc=2, out=str(out))


def test_launch_environment_of_the_children(monkeypatch, tmp_path):
    report = tmp_path / "env.json"
    names = ["GLOO_SOCKET_IFNAME", "OMP_NUM_THREADS", "PYTHONUNBUFFERED", LAUNCH_ENV]
    script = f"import json, os; json.dump({{n: os.environ.get(n) for n in {names!r}}}, " \
             f"open({str(report)!r}, 'w'))"
    monkeypatch.setattr(distributed, "torchrun_command",
                        lambda values, *, nproc: [sys.executable, "-c", script])
    monkeypatch.delenv("GLOO_SOCKET_IFNAME", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    launch({}, nproc=2, out="unused")
    assert json.loads(report.read_text()) == {"GLOO_SOCKET_IFNAME": distributed.LOOPBACK,
                                              "OMP_NUM_THREADS": "2", "PYTHONUNBUFFERED": "1",
                                              LAUNCH_ENV: "1"}


def test_launch_ctrl_c_stops_the_child_and_reraises(monkeypatch):
    children = []

    class InterruptedOnce(subprocess.Popen):
        """The first plain wait() is interrupted, as Ctrl-C would."""

        def wait(self, timeout=None):
            if timeout is None and self not in children:
                children.append(self)
                raise KeyboardInterrupt
            return super().wait(timeout)

    monkeypatch.setattr(distributed.subprocess, "Popen", InterruptedOnce)
    monkeypatch.setattr(distributed, "torchrun_command",
                        lambda values, *, nproc: [sys.executable, "-c",
                                                  "import time; time.sleep(60)"])
    with pytest.raises(KeyboardInterrupt):
        launch({}, nproc=2, out="unused")
    assert children[0].returncode == -signal.SIGTERM


TWO_RANKS = textwrap.dedent("""
    import json, os, signal, sys, time
    from pathlib import Path

    import torch.distributed as dist
    from kdedge.distributed import process_group, world_from_env

    world = world_from_env()
    result = {"describe": world.describe()}
    with process_group(world):
        with process_group(world):  # already initialised: the inner one leaves it alone
            pass
        result["initialised_after_nested"] = dist.is_initialized()
        sent = ({"features": ["proline", "alcohol"], "k": 2, "agreement": 0.1 + 0.2,
                 "nested": [[1, -2.5], ["é"]], "none": None} if world.is_main else None)
        result["received"] = world.broadcast_json(sent)
        result["sum"] = world.all_reduce_sum([world.rank + 1.0, 0.25])
        result["min"] = world.all_reduce_min([world.rank])
        result["max"] = world.all_reduce_max([world.rank])
        import torch

        buffers = [torch.full((2,), float(world.rank + 5)), torch.tensor(world.rank * 7)]
        world.broadcast_tensors(buffers)
        result["buffers"] = [buffers[0].tolist(), int(buffers[1])]
        try:
            world.broadcast_json({"a set": {1}} if world.is_main else None)
        except (TypeError, RuntimeError) as exc:
            result["unsendable"] = type(exc).__name__
        result["from_rank_1"] = world.broadcast_json(["rank 1"] if world.rank == 1 else None,
                                                     src=1)
        if world.rank == 1:
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(10)
            except SystemExit as exc:
                result["sigterm_exit"] = exc.code
        world.barrier()
    result["handler_restored"] = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    result["initialised_after"] = dist.is_initialized()
    Path(sys.argv[1], f"rank{world.rank}.json").write_text(json.dumps(result))
""")


def test_two_gloo_processes_share_rank_zeros_results(tmp_path):
    script = tmp_path / "two_ranks.py"
    script.write_text(TWO_RANKS, encoding="utf-8")
    env = {**os.environ, "GLOO_SOCKET_IFNAME": distributed.LOOPBACK, "OMP_NUM_THREADS": "1"}
    finished = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                               "--nproc_per_node", "2", str(script), str(tmp_path)],
                              env=env, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    sent = {"features": ["proline", "alcohol"], "k": 2, "agreement": 0.30000000000000004,
            "nested": [[1, -2.5], ["é"]], "none": None}
    for result in results:
        assert result["describe"] == "2 processes (gloo), rank 0 writes"
        assert result["received"] == sent
        assert result["sum"] == [3.0, 0.5]
        assert result["min"] == [0.0] and result["max"] == [1.0]
        assert result["buffers"] == [[5.0, 5.0], 0]  # rank 0's, in place, float and int
        assert result["from_rank_1"] == ["rank 1"]
        assert result["initialised_after_nested"] and not result["initialised_after"]
        assert result["handler_restored"]
    assert results[0]["unsendable"] == "TypeError" and results[1]["unsendable"] == "RuntimeError"
    assert results[1]["sigterm_exit"] == 128 + signal.SIGTERM and "sigterm_exit" not in results[0]
