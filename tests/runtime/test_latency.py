"""kdedge.runtime.latency: the repetition rule and the statistics."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kdedge.runtime.latency import latency_stats, measure_interleaved


def test_measure_interleaved_follows_the_repetition_rule():
    order = []
    calls = {"fast": lambda: order.append("fast"), "slow": lambda: (order.append("slow"), time.sleep(0.001))}
    stats = measure_interleaved(calls, min_reps=30, min_time=0.02, max_time=1.0, warmup_time=0.0,
                                block_time=0.005)
    assert stats["fast"]["reps"] >= 30 and stats["slow"]["reps"] >= 20  # >= 20 ms of 1 ms calls
    assert stats["slow"]["p50_us"] > 900 > stats["fast"]["p50_us"]
    timed = order[10:]  # after the 5 + 5 warm-up calls the two models alternate in blocks
    switches = sum(1 for a, b in zip(timed, timed[1:]) if a != b)
    assert switches >= 4


def test_measure_interleaved_stops_at_max_time():
    stats = measure_interleaved({"sleepy": lambda: time.sleep(0.002)}, min_reps=10_000, min_time=0.01,
                                max_time=0.02, warmup_time=0.0)
    assert stats["sleepy"]["reps"] < 50 and stats["sleepy"]["p99_reliable"] is False


def test_latency_stats_known_answer():
    stats = latency_stats(np.arange(1, 101, dtype=np.float64), min_reps=100)
    assert stats["p50_us"] == pytest.approx(50.5) and stats["p99_us"] == pytest.approx(99.01)
    assert (stats["min_us"], stats["max_us"], stats["mean_us"], stats["reps"]) == (1, 100, 50.5, 100)
    assert stats["p99_reliable"] is True
