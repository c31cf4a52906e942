"""Multi-process training: torchrun's environment, the gloo process group, and a launcher.

`torchrun` (`python -m torch.distributed.run`) starts one Python process per rank and tells each
who it is through its environment: RANK (0 … WORLD_SIZE-1), WORLD_SIZE (processes in all),
LOCAL_RANK (its index on this machine), and MASTER_ADDR/MASTER_PORT (where the rendezvous store
listens; `--standalone` picks a free port on this machine). `world_from_env` reads them into a
`World`; without them kdedge is one process (`SINGLE`) and nothing here touches
torch.distributed, so single-process runs are exactly as before.

The backend is gloo, on CPU: kdedge's teachers and students are small MLPs trained on CPU, and
gloo is torch's CPU backend for DistributedDataParallel's gradient all-reduce; nccl reduces only
tensors on GPUs and would need the models moved there.

Every rank runs the same distill code. What must be decided once — the size search, the feature
ranking — runs on rank 0 while the other ranks wait in `broadcast_json`, which hands rank 0's
result to every rank; per-rank counts and losses are combined with `all_reduce_sum`; rank 0 alone
writes the run directory (`World.is_main`). A collective waits up to TIMEOUT_SECONDS for a peer,
long enough for rank 0's search.

JSON, not pickle: `torch.distributed.broadcast_object_list` pickles, and unpickling runs whatever
code the bytes name; kdedge unpickles nothing. The results passed around are numbers, strings and
lists, so they travel as UTF-8 JSON bytes in a uint8 tensor (length first), and every rank —
rank 0 included — returns the decoded JSON, so all ranks hold equal values (a tuple arrives as a
list, on every rank). Standard library only at import; torch is imported where it is used.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from kdedge.errors import KdedgeError

BACKEND = "gloo"
TIMEOUT_SECONDS = 3600  # collectives wait at most this long for a peer (rank 0 searches alone)
LAUNCH_ENV = "KDEDGE_LAUNCHED"  # "1" in the processes `launch` starts: distill must not relaunch
ENV_NAMES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")  # what torchrun sets for each process
LOOPBACK = "lo0" if sys.platform == "darwin" else "lo"  # the loopback interface's name
STOP_SECONDS = 60  # after Ctrl-C: torchrun gives its workers 30 s before SIGKILL; we wait longer
_ENCODE_FAILED = -1  # the length rank `src` sends when its value is not JSON


@dataclass(frozen=True)
class World:
    """This process's place among the processes torchrun started (one process: `SINGLE`)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that decides (search, ranking) and writes the run directory."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.size > 1

    def broadcast_json(self, obj: Any = None, *, src: int = 0) -> Any:
        """Rank `src`'s `obj` on every rank (the others pass None), sent as UTF-8 JSON.

        One process: `obj` itself, after checking that it is JSON, so a value torchrun could not
        carry fails in single-process runs too. Raises TypeError/ValueError on rank `src` for a
        value JSON cannot carry, and RuntimeError on the other ranks (instead of waiting for it).
        """
        if not self.is_distributed:
            _encode(obj)
            return obj
        import torch
        import torch.distributed as dist

        payload = b""
        if self.rank == src:
            try:
                payload = _encode(obj)
            except (TypeError, ValueError):
                dist.broadcast(torch.tensor([_ENCODE_FAILED], dtype=torch.int64), src=src)
                raise
        length = torch.tensor([len(payload)], dtype=torch.int64)
        dist.broadcast(length, src=src)
        if int(length.item()) == _ENCODE_FAILED:
            raise RuntimeError(f"rank {src} could not send its value as JSON (its error is in "
                               "its own output)")
        if self.rank == src:
            data = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
        else:
            data = torch.empty(int(length.item()), dtype=torch.uint8)
        dist.broadcast(data, src=src)
        return json.loads(data.numpy().tobytes().decode("utf-8"))

    def all_reduce_sum(self, values: Sequence[float]) -> list[float]:
        """The float64 sum over ranks of each of `values` (one process: `values` as floats)."""
        return self._all_reduce(values, "SUM")

    def all_reduce_min(self, values: Sequence[float]) -> list[float]:
        """The smallest over ranks of each of `values` (one process: `values` as floats)."""
        return self._all_reduce(values, "MIN")

    def all_reduce_max(self, values: Sequence[float]) -> list[float]:
        """The largest over ranks of each of `values` (one process: `values` as floats)."""
        return self._all_reduce(values, "MAX")

    def _all_reduce(self, values: Sequence[float], op: str) -> list[float]:
        floats = [float(v) for v in values]
        if not self.is_distributed or not floats:
            return floats
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(floats, dtype=torch.float64)
        dist.all_reduce(tensor, op=getattr(dist.ReduceOp, op))
        return tensor.tolist()

    def broadcast_tensors(self, tensors, *, src: int = 0) -> None:
        """Overwrite each tensor of `tensors` in place with rank `src`'s (one process: nothing)."""
        if self.is_distributed:
            import torch.distributed as dist

            for tensor in tensors:
                dist.broadcast(tensor, src)

    def barrier(self) -> None:
        """Wait until every rank gets here (one process: returns at once)."""
        if self.is_distributed:
            import torch.distributed as dist

            dist.barrier()

    def describe(self) -> str:
        """For progress lines: "1 process" or "2 processes (gloo), rank 0 writes"."""
        if not self.is_distributed:
            return "1 process"
        return f"{self.size} processes ({BACKEND}), rank 0 writes"


SINGLE = World()


def _encode(obj: Any) -> bytes:
    """Compact UTF-8 JSON; TypeError for what JSON cannot carry (a set, a numpy array)."""
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def world_from_env(environ: Mapping[str, str] = os.environ) -> World:
    """The `World` torchrun describes in RANK, WORLD_SIZE and LOCAL_RANK; none set: `SINGLE`."""
    given = [name for name in ENV_NAMES if name in environ]
    if not given:
        return SINGLE
    missing = [name for name in ENV_NAMES if name not in environ]
    if missing:
        raise KdedgeError(f"{', '.join(given)} set but not {', '.join(missing)}: torchrun sets "
                          f"all of {', '.join(ENV_NAMES)}; launch with torchrun, or unset "
                          f"{', '.join(given)} to run as one process")
    rank, size, local_rank = (_env_int(environ, name) for name in ENV_NAMES)
    if size < 1:
        raise KdedgeError(f"WORLD_SIZE={size}: it must be at least 1; launch with torchrun, or "
                          "unset RANK, WORLD_SIZE and LOCAL_RANK to run as one process")
    if not 0 <= rank < size:
        raise KdedgeError(f"RANK={rank} with WORLD_SIZE={size}: RANK must be in 0 … "
                          f"{size - 1}; launch with torchrun, which sets both")
    if local_rank < 0:
        raise KdedgeError(f"LOCAL_RANK={local_rank}: it must be at least 0; launch with torchrun")
    return World(rank=rank, size=size, local_rank=local_rank)


def _env_int(environ: Mapping[str, str], name: str) -> int:
    text = environ[name]
    try:
        return int(text.strip())
    except ValueError:
        raise KdedgeError(f"{name}={text!r} is not a whole number: torchrun sets it; launch with "
                          f"torchrun, or unset {', '.join(ENV_NAMES)} to run as one process"
                          ) from None


@contextlib.contextmanager
def process_group(world: World, *, timeout_seconds: float = TIMEOUT_SECONDS) -> Iterator[World]:
    """Join the gloo process group for the block, and leave it after; yields `world`.
    Collectives wait at most `timeout_seconds` for a peer.

    One process: does nothing. Otherwise it initialises torch.distributed (env://, from torchrun's
    MASTER_ADDR/MASTER_PORT) unless something already did, and destroys the group on exit only if
    it made it. Inside the block SIGTERM raises SystemExit(143) in the main thread: torchrun
    SIGTERMs the surviving ranks when one fails, and the exception lets rank 0's `finally`
    remove its staging folder. The previous handler is restored on exit.
    """
    if not world.is_distributed:
        yield world
        return
    import torch.distributed as dist

    restore = _raise_on_sigterm()
    made = False
    try:
        if not dist.is_initialized():
            _init_process_group(world, timeout_seconds)
            made = True
        yield world
    finally:
        try:
            if made and dist.is_initialized():
                # DDP's reducers sit in reference cycles: freed now, while the group and the
                # interpreter are alive (freed at interpreter exit, gloo aborted: SIGABRT)
                gc.collect()
                dist.destroy_process_group()
        finally:
            restore()


def _init_process_group(world: World, timeout_seconds: float) -> None:
    import torch.distributed as dist

    address = (f"{os.environ.get('MASTER_ADDR', '(unset)')}:"
               f"{os.environ.get('MASTER_PORT', '(unset)')}")
    try:
        dist.init_process_group(BACKEND, init_method="env://", rank=world.rank,
                                world_size=world.size, timeout=timedelta(seconds=timeout_seconds))
    except (RuntimeError, ValueError, TimeoutError, OSError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise KdedgeError(
            f"rank {world.rank} of {world.size} could not join the process group at "
            f"MASTER_ADDR:MASTER_PORT {address} ({reason}): launch with `torchrun --standalone "
            "--nproc_per_node N -m kdedge distill ...` (it picks a free port on this machine); "
            "across machines set MASTER_ADDR to rank 0's reachable address and MASTER_PORT to a "
            f"free port; on one machine set GLOO_SOCKET_IFNAME={LOOPBACK}") from exc


def _raise_on_sigterm():
    """Make SIGTERM raise SystemExit(128 + 15); returns the function that undoes it.

    Only the main thread may set a handler; elsewhere nothing changes. A process blocked inside a
    collective sees the exception only when the collective returns (torchrun SIGKILLs it 30 s on).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    # None: a handler not set from Python; the default is the closest we can restore
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _exit_on_signal(signum: int, frame) -> None:
    raise SystemExit(128 + signum)


def cli_flags(values: Mapping[str, Any]) -> list[str]:
    """`kdedge distill` flags for distill keyword arguments, in the mapping's order.

    None and False are left out (every kdedge on/off flag defaults to off), True is the bare
    flag, a list or tuple is "a,b", a float its repr (it reads back as the same float), anything
    else str(value): {"target": "-1", "teacher_hidden": [64, 32]} → --target -1
    --teacher_hidden 64,32.
    """
    flags: list[str] = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        if value is True:
            flags.append(f"--{name}")
        elif isinstance(value, (list, tuple)):
            flags += [f"--{name}", ",".join(_flag_text(item) for item in value)]
        else:
            flags += [f"--{name}", _flag_text(value)]
    return flags


def _flag_text(value: Any) -> str:
    # float(): numpy's float64 reprs as "np.float64(0.1)"
    return repr(float(value)) if isinstance(value, float) else str(value)


def torchrun_command(values: Mapping[str, Any], *, nproc: int) -> list[str]:
    """The command that runs `kdedge distill` with `values` on `nproc` processes here."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise KdedgeError(f"the process count {nproc!r} must be a whole number >= 1")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(nproc), "-m", "kdedge", "distill", *cli_flags(values)]


def launch_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The launched processes' environment: this one, all traffic on the loopback interface
    (unless GLOO_SOCKET_IFNAME is set), one OpenMP thread unless set, unbuffered output."""
    env = dict(environ)
    env.setdefault("GLOO_SOCKET_IFNAME", LOOPBACK)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env[LAUNCH_ENV] = "1"
    return env


def launch(values: Mapping[str, Any], *, nproc: int, out: str) -> None:
    """Run `kdedge distill` with `values` (its --out already resolved to `out`) on `nproc`
    processes on this machine under torchrun; their output passes straight through.

    Raises KdedgeError when torchrun exits non-zero. On Ctrl-C it stops torchrun's process group
    (torchrun then stops the ranks, and rank 0 removes its staging folder) and re-raises.
    """
    command = torchrun_command(values, nproc=nproc)
    started = time.time()
    # its own session: Ctrl-C reaches this process only, which stops torchrun in order
    child = subprocess.Popen(command, env=launch_env(), start_new_session=True)
    try:
        status = child.wait()
    except KeyboardInterrupt:
        _stop(child)
        raise
    if status != 0:
        manifest = Path(out) / "run.json"
        written = manifest.is_file() and manifest.stat().st_mtime >= started
        outcome = (f"rank 0 had already written the whole run to {out}, so it is complete, but "
                   "check the error" if written else
                   f"nothing was written to {out}: fix the cause and run again")
        raise KdedgeError(f"distill on {nproc} processes failed (torchrun exit status {status}; "
                          f"the failing rank's error is above); {outcome}")


def _stop(child: subprocess.Popen) -> None:
    """SIGTERM the child's process group, SIGKILL it if still there after STOP_SECONDS."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)
        try:
            child.wait(timeout=STOP_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue
