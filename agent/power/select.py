"""Choose the device's power sources and turn their readings into samples.

Selection, probed once:
1. every *measured* source that applies, in this order: ina3221 (Jetson module input),
   pmic (Pi 5 SoC rails), rapl (CPU packages), nvml (GPUs). They cover different domains
   (a GPU box uses rapl for the CPU and nvml for each GPU), so all that apply are used; the
   overlaps inside a family (RAPL MMIO vs MSR, INA3221 hwmon vs iio) are resolved by the
   source itself;
2. only when none applies: the load-based estimate, labelled `estimated:<method>`.
A sensor that exists but cannot be read (RAPL without root) is logged once, in words.

Each chosen source becomes its own collector (`power_rapl`, ...), so one failing sensor is
isolated by the daemon like any collector and the others keep reporting. Samples:
`energy_joules_total` (since the agent started) and `power_watts`, labelled
{domain, source, ...}; the Sample's own `source` field carries the same name.
Readings in domain "rail" (Jetson sub-rails) are already inside their "module" total: never
add them to it.
"""

from __future__ import annotations

import logging

from agent.collectors.base import Collector, CollectorContext, probe
from agent.power.base import PowerSource, Reading
from agent.power.estimate import EstimateSource
from agent.power.ina3221 import Ina3221Source
from agent.power.nvml import NvmlSource
from agent.power.pmic import PmicSource
from agent.power.rapl import RaplSource
from agent.protocol import Sample

log = logging.getLogger("edgefleet.agent.power")


def measured_sources(ctx: CollectorContext) -> list[PowerSource]:
    """Measuring sources, best first."""
    return [Ina3221Source(ctx), PmicSource(ctx), RaplSource(ctx), NvmlSource(ctx)]


class PowerSelection:
    """Probes the candidates once and remembers which are used."""

    def __init__(self, measured: list[PowerSource], fallback: PowerSource) -> None:
        self.candidates = [*measured, fallback]
        self._measured = measured
        self._fallback = fallback
        self._chosen: list[PowerSource] | None = None

    def chosen(self) -> list[PowerSource]:
        if self._chosen is None:
            chosen = [s for s in self._measured if probe(f"power_{s.name}", s.applies)]
            for s in self._measured:
                if s.problem:
                    log.warning("power source %s unavailable: %s", s.name, s.problem)
            if not chosen and probe("power_estimate", self._fallback.applies):
                chosen = [self._fallback]
            self._chosen = chosen
        return self._chosen


def to_samples(readings: list[Reading], now: float) -> list[Sample]:
    """energy_joules_total always, power_watts when the source knows it."""
    out = []
    for r in readings:
        labels = {"domain": r.domain, "source": r.source, **r.labels}
        out.append(Sample("energy_joules_total", r.energy_j, "joules_total", now, r.source,
                          labels))
        if r.power_w is not None:
            out.append(Sample("power_watts", r.power_w, "watts", now, r.source, labels))
    return out


class PowerCollector:
    """One selected power source as a collector."""

    def __init__(self, selection: PowerSelection, source: PowerSource) -> None:
        self.name = f"power_{source.name}"
        self._selection = selection
        self._source = source

    def applies(self) -> bool:
        return self._source in self._selection.chosen()

    def collect(self, now: float) -> list[Sample]:
        return to_samples(self._source.read(), now)

    def close(self) -> None:
        self._source.close()


def power_collectors(ctx: CollectorContext) -> list[Collector]:
    """A collector per candidate source; applies() is True only for the selected ones."""
    selection = PowerSelection(measured_sources(ctx), EstimateSource(ctx))
    return [PowerCollector(selection, s) for s in selection.candidates]
