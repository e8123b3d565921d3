"""Process memory and CPU use while a benchmark runs.

Peak memory is sampled by a background thread reading /proc/self/statm every few ms, so a
transient peak inside a forward pass is seen, not just the RSS left at the end. CPU use is
process CPU time over wall time in top's convention (100 = one core busy, 200 = two): it
shows how much of the machine a variant occupies, which is not how fast it is.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType

import torch

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MB = 1024 * 1024


def rss_bytes() -> int | None:
    """Resident set size now, or None off Linux."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class RssSampler:
    """Peak and mean RSS over a `with` block, sampled every `interval_s` by a thread."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.samples: list[int] = []
        self.times: list[float] = []  # perf_counter of each sample

    def _take(self) -> None:
        rss = rss_bytes()
        if rss is not None:
            self.times.append(time.perf_counter())
            self.samples.append(rss)

    def _loop(self) -> None:
        while True:
            self._take()
            if self._stop.wait(self._interval_s):
                return

    def between(self, t0: float, t1: float) -> list[int]:
        """The samples taken in [t0, t1] (for per-phase and per-epoch figures)."""
        return [s for t, s in zip(self.times, self.samples, strict=False) if t0 <= t <= t1]

    @property
    def peak_bytes(self) -> int | None:
        return max(self.samples) if self.samples else None

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self._take()  # the state at the end counts too


class CpuUse:
    """Process CPU time / wall time over a `with` block, in percent of one core."""

    def __enter__(self) -> CpuUse:
        t = os.times()
        self._cpu0, self._wall0 = t.user + t.system, time.perf_counter()
        self.percent = 0.0
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        t = os.times()
        wall = time.perf_counter() - self._wall0
        self.percent = 100.0 * (t.user + t.system - self._cpu0) / wall if wall > 0 else 0.0


def gpu_peak_mb(device: str) -> float | None:
    """Peak CUDA memory allocated by torch since the last reset; None off GPU."""
    if device != "cuda":
        return None
    return torch.cuda.max_memory_allocated() / MB
