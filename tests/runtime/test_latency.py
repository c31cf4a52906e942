"""kdedge.runtime.latency: the repetition rule and the statistics."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kdedge.contract import RepetitionRule
from kdedge.runtime.latency import latency_stats, measure_interleaved


def test_measure_interleaved_follows_the_repetition_rule():
    order = []
    calls = {"fast": lambda: order.append("fast"), "slow": lambda: (order.append("slow"), time.sleep(0.001))}
    rule = RepetitionRule(min_reps=30, min_time_s=0.02, max_time_s=1.0, warmup_time_s=0.0)
    stats = measure_interleaved(calls, rule=rule, rows_per_call=8, block_time=0.005)
    assert stats["fast"].reps >= 30 and stats["slow"].reps >= 20  # >= 20 ms of 1 ms calls
    assert stats["slow"].seconds >= 0.02
    assert stats["slow"].p50_us > 900 > stats["fast"].p50_us
    assert stats["slow"].throughput_rows_per_s == pytest.approx(8 / stats["slow"].p50_us * 1e6, rel=1e-3)
    assert stats["slow"].ratio_to_floor is None  # the bench sets it, not the timer
    timed = order[10:]  # after the 5 + 5 warm-up calls the two models alternate in blocks
    switches = sum(1 for a, b in zip(timed, timed[1:]) if a != b)
    assert switches >= 4


def test_measure_interleaved_stops_at_max_time():
    rule = RepetitionRule(min_reps=10_000, min_time_s=0.01, max_time_s=0.02, warmup_time_s=0.0)
    stats = measure_interleaved({"sleepy": lambda: time.sleep(0.002)}, rule=rule)
    assert stats["sleepy"].reps < 50 and stats["sleepy"].p99_reliable is False


def test_latency_stats_known_answer():
    stats = latency_stats(np.arange(1, 101, dtype=np.float64), min_reps=100, rows_per_call=32)
    assert stats.p50_us == pytest.approx(50.5) and stats.p99_us == pytest.approx(99.01)
    assert (stats.min_us, stats.max_us, stats.mean_us, stats.reps) == (1, 100, 50.5, 100)
    assert stats.std_us == pytest.approx(np.sqrt((100**2 - 1) / 12), abs=1e-3)  # population std of 1..100
    assert stats.seconds == pytest.approx(5050e-6, abs=1e-4)  # rounded to 0.1 ms
    assert stats.throughput_rows_per_s == pytest.approx(32 / 50.5e-6, abs=0.1)
    assert stats.p99_reliable is True
    assert latency_stats(np.arange(1, 101, dtype=np.float64), min_reps=200).p99_reliable is False


def test_latency_stats_throughput_is_from_the_median_not_the_mean():
    # 99 calls of 10 µs and one preempted call of 1 ms: the mean (19.9 µs) halves the throughput
    stats = latency_stats(np.array([10.0] * 99 + [1000.0]), min_reps=100, rows_per_call=32)
    assert (stats.p50_us, stats.mean_us) == (10.0, 19.9)
    assert stats.throughput_rows_per_s == 3_200_000.0  # 32 rows / 10 µs
