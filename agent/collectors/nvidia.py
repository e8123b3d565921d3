"""NVIDIA GPUs through NVML (package nvidia-ml-py, module pynvml), one session for the agent.

Per GPU: utilisation, memory, temperature, power and the total-energy counter. A query the
GPU answers NotSupported (no energy counter before Volta, no memory info on unified-memory
parts) is left out for that GPU from then on: absent, never zero. Any other NVML error (GPU
fallen off the bus) raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.collectors import nvml_session
from agent.collectors.base import CollectorContext, probe
from agent.collectors.nvml_session import Gpu, NvmlSession
from agent.protocol import Sample


def _queries(nvml: Any) -> list[tuple[str, str, Callable[[Any], float]]]:
    """(metric, unit, read(handle) in that unit) for every GPU metric; NVML units converted."""
    return [
        ("gpu_utilization_ratio", "ratio",
         lambda h: nvml.nvmlDeviceGetUtilizationRates(h).gpu / 100.0),
        ("gpu_memory_used_bytes", "bytes", lambda h: nvml.nvmlDeviceGetMemoryInfo(h).used),
        ("gpu_memory_total_bytes", "bytes", lambda h: nvml.nvmlDeviceGetMemoryInfo(h).total),
        ("gpu_temperature_celsius", "celsius",
         lambda h: nvml.nvmlDeviceGetTemperature(h, nvml.NVML_TEMPERATURE_GPU)),
        ("gpu_power_watts", "watts", lambda h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),  # mW
        ("gpu_energy_joules_total", "joules_total",  # mJ since the driver loaded
         lambda h: nvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0),
    ]


class NvidiaCollector:
    """gpu_* metrics labelled {gpu: index, uuid}."""

    name = "nvidia"

    def __init__(self, ctx: CollectorContext) -> None:
        self._ctx = ctx
        self._session: NvmlSession | None = None
        self._queries: list[tuple[str, str, Callable[[Any], float]]] = []
        self._unsupported: set[tuple[int, str]] = set()

    def applies(self) -> bool:
        """False without pynvml, NVML library, driver or GPU."""
        return probe(self.name, self._probe)

    def _probe(self) -> bool:
        self._session = nvml_session.acquire(self._ctx)
        if self._session is None:
            return False
        self._queries = _queries(self._session.nvml)
        return True

    def collect(self, now: float) -> list[Sample]:
        session = self._session
        if session is None:
            raise RuntimeError("nvidia collector used without applies() or after close()")
        out: list[Sample] = []
        for gpu in session.gpus:
            out += self._gpu(session, gpu, now)
        return out

    def _gpu(self, session: NvmlSession, gpu: Gpu, now: float) -> list[Sample]:
        labels = {"gpu": str(gpu.index), "uuid": gpu.uuid}
        out: list[Sample] = []
        for metric, unit, read in self._queries:
            if (gpu.index, metric) in self._unsupported:
                continue
            try:
                value = read(gpu.handle)
            except session.nvml.NVMLError as exc:
                if not session.unsupported(exc):
                    raise
                self._unsupported.add((gpu.index, metric))
                continue
            out.append(Sample(metric, value, unit, now, "nvml", labels))
        return out

    def close(self) -> None:
        if self._session is not None:
            nvml_session.release(self._ctx, self._session)
            self._session = None
