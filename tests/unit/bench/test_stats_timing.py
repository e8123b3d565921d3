"""Latency statistics and the timed loop."""

from __future__ import annotations

import statistics
import time

import pytest

from bench.stats import LatencyStats, percentile
from bench.timing import run_timed


def test_percentiles_interpolate_like_numpy():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 90) == pytest.approx(90.1)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_stats_of_samples():
    samples = [5.0, 1.0, 3.0, 2.0, 4.0]
    s = LatencyStats.of(samples)
    assert (s.min, s.max, s.p50, s.mean, s.n) == (1.0, 5.0, 3.0, 3.0, 5)
    assert s.std == pytest.approx(statistics.stdev(samples))
    assert set(s.as_dict()) == {"mean", "std", "min", "max", "p50", "p90", "p99", "n"}


def test_warmup_is_not_timed_and_every_iteration_is():
    calls = []

    def step():
        calls.append(time.perf_counter())
        time.sleep(0.002 if len(calls) > 3 else 0.05)  # slow first calls = warm-up

    s = run_timed(step, iterations=10, warmup=3)
    assert len(calls) == 13 and len(s.durations_ms) == len(s.starts) == 10
    assert all(1.9 <= d < 45 for d in s.durations_ms)
    assert s.starts == sorted(s.starts) and calls[2] < s.starts[0] <= calls[3]
    assert s.wall_s * 1000 >= sum(s.durations_ms)
