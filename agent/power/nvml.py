"""NVIDIA GPU energy through the agent's one NVML session.

Preferred: the total-energy counter (mJ since driver load, Volta and newer), as deltas; it
sees spikes that sampled power misses. Where the GPU answers NotSupported, board power (mW)
is integrated instead and the source says so (`nvml:integrated@1hz`) — never the silent 0 W
CodeCarbon reports for such GPUs (codecarbon #1316). A GPU with neither is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.collectors import nvml_session
from agent.collectors.base import CollectorContext
from agent.collectors.nvml_session import Gpu, NvmlSession
from agent.power.base import CounterDelta, Reading, Trapezoid, integrated


@dataclass
class _Meter:
    gpu: Gpu
    counter: CounterDelta | None  # None: integrate power
    trapezoid: Trapezoid
    has_power: bool


class NvmlSource:
    """Domain "gpu" labelled {gpu: index}: joules from the counter, else integrated power."""

    name = "nvml"
    problem: str | None = None

    def __init__(self, ctx: CollectorContext) -> None:
        self._ctx = ctx
        self._clock = ctx.monotonic
        self._integrated = f"nvml:{integrated(ctx.interval_s)}"
        self._session: NvmlSession | None = None
        self._meters: list[_Meter] = []

    def _supports(self, session: NvmlSession, call: str, gpu: Gpu) -> bool:
        try:
            getattr(session.nvml, call)(gpu.handle)
        except session.nvml.NVMLError as exc:
            if session.unsupported(exc):
                return False
            raise
        return True

    def applies(self) -> bool:
        session = nvml_session.acquire(self._ctx)
        if session is None:
            return False
        for gpu in session.gpus:
            counter = self._supports(session, "nvmlDeviceGetTotalEnergyConsumption", gpu)
            power = self._supports(session, "nvmlDeviceGetPowerUsage", gpu)
            if counter or power:
                self._meters.append(_Meter(gpu, CounterDelta(1e-3) if counter else None,
                                           Trapezoid(), power))
        if not self._meters:
            nvml_session.release(self._ctx, session)
            return False
        self._session = session
        return True

    def read(self) -> list[Reading]:
        session = self._session
        if session is None:
            raise RuntimeError("nvml power source used without applies() or after close()")
        nvml = session.nvml
        out = []
        for m in self._meters:
            t = self._clock()
            power = nvml.nvmlDeviceGetPowerUsage(m.gpu.handle) / 1000.0 if m.has_power else None
            labels = {"gpu": str(m.gpu.index)}
            if m.counter is not None:  # mJ counter
                energy, average = m.counter.add(
                    t, nvml.nvmlDeviceGetTotalEnergyConsumption(m.gpu.handle))
                out.append(Reading("gpu", energy, power if power is not None else average,
                                   "nvml:counter", labels))
            else:
                assert power is not None  # a meter has a counter or power
                out.append(Reading("gpu", m.trapezoid.add(t, power), power, self._integrated,
                                   labels))
        return out

    def close(self) -> None:
        if self._session is not None:
            nvml_session.release(self._ctx, self._session)
            self._session = None
