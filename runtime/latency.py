"""Interleaved latency measurement of several `session.run` calls.

Repetition rule (`kdedge.contract.RepetitionRule`; `bench(quick=True)` uses a tiny one for tests):
  * warm-up: each call runs for at least `warmup_time_s` seconds and 5 calls; the warm-up also
    estimates the call time, which sets the block size (calls per model per round, ~`block_time`);
  * rounds: each round runs one block of every model still measuring, in turn (round-robin), so a
    slow-down of the machine lands on all models alike, the floor included;
  * a model stops after at least `min_reps` calls AND `min_time_s` seconds of calls, or at
    `max_time_s` seconds whatever its count (then `reps` < `min_reps` and `p99_reliable` is false).
The timer is `time.perf_counter_ns` around each Python call; the garbage collector is paused.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import numpy as np

from kdedge.contract import LatencyStats, RepetitionRule

BLOCK_TIME_S = 0.01  # target seconds of one block of calls


def measure_interleaved(calls: dict[str, Callable[[], object]], *, rule: RepetitionRule,
                        rows_per_call: int = 1, block_time: float = BLOCK_TIME_S
                        ) -> dict[str, LatencyStats]:
    """Time each zero-argument call, interleaving them in round-robin blocks.

    Args:
        calls: {name: callable}; each call is one `session.run` with its feed bound.
        rule: How long to warm up and how many calls to time per model.
        rows_per_call: Rows each call processes (the batch size), for the throughput (batch / p50).
        block_time: Target seconds of one block.

    Returns:
        {name: its `LatencyStats` (microseconds; `ratio_to_floor` left unset)}.
    """
    blocks = {name: _block_size(call, rule.warmup_time_s, block_time) for name, call in calls.items()}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        samples = _timed_rounds(calls, blocks, rule)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: latency_stats(np.asarray(samples[name], dtype=np.float64) / 1e3,
                                min_reps=rule.min_reps, rows_per_call=rows_per_call)
            for name in calls}


def _block_size(call: Callable[[], object], warmup_time: float, block_time: float) -> int:
    """Warm the call up (>= 5 calls, >= warmup_time s); calls per block of ~block_time seconds."""
    start, count = time.perf_counter(), 0
    while count < 5 or time.perf_counter() - start < warmup_time:
        call()
        count += 1
    per_call = (time.perf_counter() - start) / count
    return int(min(max(block_time / max(per_call, 1e-9), 1), 10_000))


def _timed_rounds(calls: dict[str, Callable[[], object]], blocks: dict[str, int],
                  rule: RepetitionRule) -> dict[str, list[int]]:
    """Round-robin blocks until each call meets the rule; nanoseconds per call."""
    samples: dict[str, list[int]] = {name: [] for name in calls}
    spent = {name: 0 for name in calls}  # ns
    active = list(calls)
    clock = time.perf_counter_ns
    while active:
        for name in list(active):
            call, record = calls[name], samples[name].append
            total = 0
            for _ in range(blocks[name]):
                t0 = clock()
                call()
                elapsed = clock() - t0
                record(elapsed)
                total += elapsed
            spent[name] += total
            enough = len(samples[name]) >= rule.min_reps and spent[name] >= rule.min_time_s * 1e9
            if enough or spent[name] >= rule.max_time_s * 1e9:
                active.remove(name)
    return samples


def latency_stats(us: np.ndarray, *, min_reps: int, rows_per_call: int = 1) -> LatencyStats:
    """Percentiles, mean, std, extremes (µs), the count, throughput, and whether p99 is trustworthy.

    Throughput is rows per second at the median call (batch / p50): one preempted call of a
    few hundred should not move it, as it moves the mean.
    """
    p50, p90, p95, p99 = np.percentile(us, [50, 90, 95, 99])
    mean = float(us.mean())
    return LatencyStats(
        p50_us=round(float(p50), 3), p90_us=round(float(p90), 3),
        p95_us=round(float(p95), 3), p99_us=round(float(p99), 3),
        mean_us=round(mean, 3), std_us=round(float(us.std()), 3),
        min_us=round(float(us.min()), 3), max_us=round(float(us.max()), 3),
        reps=int(us.size), seconds=round(float(us.sum()) / 1e6, 4),
        # p99 from >= 100 samples leaves >= 1 sample above it; below min_reps we say so.
        p99_reliable=bool(us.size >= max(100, min_reps)),
        throughput_rows_per_s=round(rows_per_call / float(p50) * 1e6, 1),
    )
