"""Live device state as selection inputs: what a device can give a model right now.

Benchmarks are measured on an idle device; the model then runs beside whatever else the
device is doing. So before selecting, each candidate's latencies are scaled to what they
would be now, the memory limit becomes the memory actually free, and the latency budget
loses the time the request spends on the wire:

- background CPU load: the kernel shares the cores fairly between runnable threads, so a
  model running T threads on C cores beside R other runnable threads gets C * T / (R + T)
  cores-worth where it had T: it runs max(1, (R + T) / C) times slower. R is the larger of
  the busy cores (usage ratio x C: saturates at C) and the 1-minute load average (sees an
  oversubscribed device, a minute late). Without a core count, 1 / (1 - busy) (at most
  1 / MIN_FREE_SHARE);
- throttling (under-voltage, thermal throttle or soft limit now, or a sensor >= 80 °C):
  THROTTLE_SLOWDOWN on top, unless the row was itself measured while throttling;
- free memory: MEMORY_SAFETY of `memory_available` bounds a model's peak memory;
- bandwidth: uploading one request's image at the measured downlink rate comes off the
  budget (the budget is what a client waits for, the device's latency is what is left).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from controller.selection.algorithm import Policy
from controller.selection.candidates import Candidate

MIN_FREE_SHARE = 0.1
# A Raspberry Pi 5 capped from 2.4 to 1.5 GHz runs CPU-bound code 1.6x slower.
THROTTLE_SLOWDOWN = 1.6
MEMORY_SAFETY = 0.9


@dataclass(frozen=True)
class LiveState:
    """One device's state from its telemetry (None: not reported)."""

    cpu_busy: float | None = None  # share of all cores busy, 0..1
    cores: int | None = None
    load_1m: float | None = None  # runnable threads, averaged over a minute
    memory_available_mb: float | None = None
    throttled: bool = False
    downlink_mbps: float | None = None

    def load_slowdown(self, threads: int | None = None) -> float:
        """How much the background load slows a model running `threads` (default: all cores)."""
        busy = min(max(self.cpu_busy or 0.0, 0.0), 1.0)
        if not self.cores:
            return 1.0 / max(1.0 - busy, MIN_FREE_SHARE)
        t = min(threads or self.cores, self.cores)
        others = max(busy * self.cores, self.load_1m or 0.0)
        return max(1.0, (others + t) / self.cores)

    def slowdown(self, c: Candidate) -> float:
        """How much slower `c` runs now than when it was benchmarked."""
        throttle = THROTTLE_SLOWDOWN if self.throttled and not c.throttled else 1.0
        return self.load_slowdown(c.threads) * throttle

    def transfer_ms(self, request_bytes: int) -> float:
        """Time to upload one request body at the measured downlink rate (0: not measured)."""
        if not self.downlink_mbps:
            return 0.0
        return request_bytes * 8 / (self.downlink_mbps * 1e6) * 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "cpu_busy": self.cpu_busy,
            "cores": self.cores,
            "load_1m": self.load_1m,
            "memory_available_mb": self.memory_available_mb,
            "throttled": self.throttled,
            "downlink_mbps": self.downlink_mbps,
            "load_slowdown": self.load_slowdown(),
        }


def expected(candidates: list[Candidate], live: LiveState) -> list[Candidate]:
    """The candidates with the latencies they would have now."""
    out = []
    for c in candidates:
        f = live.slowdown(c)
        out.append(replace(c, p50_ms=c.p50_ms * f, p90_ms=c.p90_ms * f,
                           p99_ms=None if c.p99_ms is None else c.p99_ms * f))
    return out


def live_policy(policy: Policy, live: LiveState, request_bytes: int) -> Policy | None:
    """`policy` with the budget left after the upload and the memory that is free now;
    None when the upload alone takes the whole budget."""
    budget = policy.budget_ms - live.transfer_ms(request_bytes)
    if budget <= 0:
        return None
    limits = [m for m in (policy.memory_mb, live.memory_available_mb and
                          live.memory_available_mb * MEMORY_SAFETY) if m]
    return replace(policy, budget_ms=budget, memory_mb=min(limits) if limits else None)
