"""Energy per inference from the agent's power sources (agent.power.window.PowerMonitor).

The device's best sources are chosen exactly as the agent chooses them (NVML counter, RAPL,
INA3221, PMIC; the TDP x load estimate only when none measures). A window brackets the timed
loop; J per inference = window energy / forward passes. Energy is gross (idle power
included, not subtracted). `energy_source` names the sources; a source starting with
`estimated:` sets `energy_estimated`, and selection must not treat it as a measurement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType

from agent.collectors.base import CollectorContext
from agent.power.estimate import EstimateSource
from agent.power.select import PowerSelection, measured_sources
from agent.power.window import Measurement, PowerMonitor

log = logging.getLogger("edgefleet.bench.energy")
# Integrating sources (estimate, INA3221, PMIC) only see what they sample.
POLL_INTERVAL_S = 0.1


@dataclass(frozen=True)
class Energy:
    per_inference_j: float | None
    source: str | None
    estimated: bool
    window: Measurement | None


NO_ENERGY = Energy(None, None, False, None)


class EnergyMeter:
    """Opens the device's power monitor once; `window(name)` brackets one measurement."""

    def __init__(self, ctx: CollectorContext | None = None) -> None:
        ctx = ctx or CollectorContext()
        sources = PowerSelection(measured_sources(ctx), EstimateSource(ctx)).chosen()
        self.available = bool(sources)
        self._monitor = PowerMonitor(sources, ctx.monotonic,
                                     POLL_INTERVAL_S if sources else None)

    def begin(self, name: str) -> None:
        if self.available:
            self._monitor.begin_window(name)

    def end(self, name: str, inferences: int) -> Energy:
        if not self.available:
            return NO_ENERGY
        m = self._monitor.end_window(name)
        estimated = any(part.startswith("estimated:") for part in m.source.split("+"))
        return Energy(m.energy_j / inferences, m.source, estimated, m)

    def close(self) -> None:
        self._monitor.close()

    def __enter__(self) -> EnergyMeter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
