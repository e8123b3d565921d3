"""The timed loop: warm-up, then one perf_counter reading pair per iteration.

On CUDA the clock is read only after `torch.cuda.synchronize()`, so a sample is the whole
kernel time and not the launch. Each sample keeps its start (monotonic) so samples taken
while the device was throttling can be flagged afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Samples:
    durations_ms: list[float]
    starts: list[float]  # time.perf_counter() at each iteration's start
    wall_s: float  # whole timed loop, for throughput and utilisation


def synchronizer(device: str) -> Callable[[], None]:
    if device == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def run_timed(step: Callable[[], object], iterations: int, warmup: int,
              device: str = "cpu") -> Samples:
    """Time `iterations` calls of `step` after `warmup` untimed ones."""
    sync = synchronizer(device)
    for _ in range(warmup):
        step()
    sync()
    clock = time.perf_counter
    durations: list[float] = []
    starts: list[float] = []
    loop_start = clock()
    for _ in range(iterations):
        t0 = clock()
        step()
        sync()
        t1 = clock()
        starts.append(t0)
        durations.append((t1 - t0) * 1000.0)
    return Samples(durations, starts, clock() - loop_start)
