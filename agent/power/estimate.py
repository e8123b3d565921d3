"""CPU power estimated from load, used only when the device has no power sensor at all.

Model (CodeCarbon's): P = TDP × (0.1 + 0.9·u³), u = CPU busy ratio over the last interval
(/proc/stat deltas); energy is P × dt per interval. Every reading is labelled
`estimated:tdp-load-cubic` so it is never mistaken for a measurement.
Default TDP per arch when not configured (`cpu_tdp_watts`):
- arm64: 5 W (a Pi 5's PMIC rails read ~4.5 W with four busy cores; CodeCarbon's generic
  16 W for Cortex-A parts has no measurement behind it),
- arm (32-bit Pi 3 / Zero 2 W class): 3 W,
- anything else (amd64): 4 W per logical CPU (CodeCarbon's fallback when the CPU model is
  not in its TDP table).
"""

from __future__ import annotations

import os

from agent.collectors.base import CollectorContext
from agent.collectors.cpu import read_cpu_times, usage_ratio
from agent.collectors.identity import oci_arch
from agent.power.base import Reading

METHOD = "estimated:tdp-load-cubic"
ARCH_TDP_W = {"arm64": 5.0, "arm": 3.0}
WATTS_PER_CPU = 4.0


def default_tdp(arch: str, cpus: int) -> float:
    """Per-arch default TDP in watts (see the module docstring for where they come from)."""
    return ARCH_TDP_W.get(arch, WATTS_PER_CPU * cpus)


def load_power(tdp_w: float, usage: float) -> float:
    """P = TDP × (0.1 + 0.9·u³): a tenth of TDP idle, TDP flat out."""
    return tdp_w * (0.1 + 0.9 * usage**3)


class EstimateSource:
    """Domain "cpu": modelled power and its integral, labelled as an estimate."""

    name = "estimate"
    problem: str | None = None

    def __init__(self, ctx: CollectorContext) -> None:
        self._stat = str(ctx.proc_root / "stat")
        self._clock = ctx.monotonic
        self.tdp_w = ctx.cpu_tdp_watts or default_tdp(oci_arch(ctx.machine), os.cpu_count() or 1)
        self._prev: tuple[float, tuple[int, int]] | None = None
        self._energy_j = 0.0

    def applies(self) -> bool:
        return os.path.exists(self._stat)

    def read(self) -> list[Reading]:
        t, cur = self._clock(), read_cpu_times(self._stat)["cpu"]
        prev, self._prev = self._prev, (t, cur)
        usage = usage_ratio(prev[1], cur) if prev is not None else None
        if prev is None or usage is None:
            return [Reading("cpu", self._energy_j, None, METHOD)]
        power = load_power(self.tdp_w, usage)
        self._energy_j += power * max(0.0, t - prev[0])
        return [Reading("cpu", self._energy_j, power, METHOD)]

    def close(self) -> None:
        """Nothing held open."""
