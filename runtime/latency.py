"""Interleaved latency measurement of several `session.run` calls.

Repetition rule (defaults; `bench(quick=True)` shrinks them for tests):
  * warm-up: each call runs for at least `warmup_time` seconds and 5 calls; the warm-up also
    estimates the call time, which sets the block size (calls per model per round, ~`block_time`);
  * rounds: each round runs one block of every model still measuring, in turn (round-robin), so a
    slow-down of the machine lands on all models alike, the floor included;
  * a model stops after at least `min_reps` calls AND `min_time` seconds of calls, or at
    `max_time` seconds whatever its count (then `reps` < `min_reps` and `p99_reliable` is false).
The timer is `time.perf_counter_ns` around each Python call; the garbage collector is paused.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import numpy as np


def measure_interleaved(calls: dict[str, Callable[[], object]], *, min_reps: int, min_time: float,
                        max_time: float, warmup_time: float, block_time: float = 0.01) -> dict[str, dict]:
    """Time each zero-argument call, interleaving them in round-robin blocks.

    Args:
        calls: {name: callable}; each call is one `session.run` with its feed bound.
        min_reps: Calls per model at least (unless `max_time` is hit first).
        min_time: Seconds of calls per model at least.
        max_time: Seconds of calls per model at most.
        warmup_time: Seconds of untimed calls per model before measuring.
        block_time: Target seconds of one block.

    Returns:
        {name: latency statistics in microseconds} (see `latency_stats`).
    """
    block = {}
    for name, call in calls.items():
        start, count = time.perf_counter(), 0
        while count < 5 or time.perf_counter() - start < warmup_time:
            call()
            count += 1
        per_call = (time.perf_counter() - start) / count
        block[name] = int(min(max(block_time / max(per_call, 1e-9), 1), 10_000))

    samples = {name: [] for name in calls}
    spent = {name: 0 for name in calls}  # ns
    active = list(calls)
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while active:
            for name in list(active):
                call, record = calls[name], samples[name].append
                total = 0
                for _ in range(block[name]):
                    t0 = clock()
                    call()
                    elapsed = clock() - t0
                    record(elapsed)
                    total += elapsed
                spent[name] += total
                done_reps = len(samples[name]) >= min_reps and spent[name] >= min_time * 1e9
                if done_reps or spent[name] >= max_time * 1e9:
                    active.remove(name)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: latency_stats(np.asarray(samples[name], dtype=np.float64) / 1e3, min_reps=min_reps)
            for name in calls}


def latency_stats(us: np.ndarray, *, min_reps: int) -> dict:
    """p50/p90/p95/p99/mean/std/min/max in microseconds, the count, and whether p99 is trustworthy."""
    p50, p90, p95, p99 = np.percentile(us, [50, 90, 95, 99])
    return {
        "p50_us": round(float(p50), 3), "p90_us": round(float(p90), 3),
        "p95_us": round(float(p95), 3), "p99_us": round(float(p99), 3),
        "mean_us": round(float(us.mean()), 3), "std_us": round(float(us.std()), 3),
        "min_us": round(float(us.min()), 3), "max_us": round(float(us.max()), 3),
        "reps": int(us.size), "seconds": round(float(us.sum()) / 1e6, 4),
        # p99 from >= 100 samples leaves >= 1 sample above it; below min_reps we say so.
        "p99_reliable": bool(us.size >= max(100, min_reps)),
    }
