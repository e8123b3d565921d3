"""A fake pynvml module object: there is no NVIDIA GPU (nor NVML) on the test machine.

It implements the handful of pynvml calls the agent makes, with pynvml's names, units
(mW, mJ, percent, bytes) and error classes, and counts nvmlInit/nvmlShutdown so tests can
check that the agent keeps one session.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace


class NVMLError(Exception):  # noqa: N818 (pynvml's names)
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801
    pass


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801
    pass


class NVMLError_GpuIsLost(NVMLError):  # noqa: N801
    pass


@dataclass
class FakeGpu:
    uuid: str
    util_percent: int = 37
    mem_used: int | None = 3 * 2**30  # None: NotSupported (unified memory)
    mem_total: int = 24 * 2**30
    temp_c: int = 54
    power_mw: int | None = 71_250  # None: NotSupported
    energy_mj: int | None = 123_456_789  # None: NotSupported (pre-Volta)
    lost: bool = False


class FakeNvml:
    """pynvml lookalike; library=False makes nvmlInit fail like a machine without a driver."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, gpus: list[FakeGpu] | None = None, library: bool = True) -> None:
        self.gpus = gpus or []
        self.library = library
        self.inits = 0
        self.shutdowns = 0

    def nvmlInit(self) -> None:  # noqa: N802
        if not self.library:
            raise NVMLError_LibraryNotFound("NVML Shared Library Not Found")
        self.inits += 1

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.shutdowns += 1

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> FakeGpu:  # noqa: N802
        return self.gpus[i]

    def nvmlDeviceGetUUID(self, h: FakeGpu) -> str:  # noqa: N802
        return self._check(h, h.uuid)

    @staticmethod
    def _check(h: FakeGpu, value: int | str | None) -> int | str:
        if h.lost:
            raise NVMLError_GpuIsLost("GPU is lost")
        if value is None:
            raise NVMLError_NotSupported("Not Supported")
        return value

    def nvmlDeviceGetUtilizationRates(self, h: FakeGpu) -> SimpleNamespace:  # noqa: N802
        return SimpleNamespace(gpu=self._check(h, h.util_percent), memory=10)

    def nvmlDeviceGetMemoryInfo(self, h: FakeGpu) -> SimpleNamespace:  # noqa: N802
        used = self._check(h, h.mem_used)
        return SimpleNamespace(used=used, total=h.mem_total, free=h.mem_total - used)

    def nvmlDeviceGetTemperature(self, h: FakeGpu, sensor: int) -> int:  # noqa: N802
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._check(h, h.temp_c)

    def nvmlDeviceGetPowerUsage(self, h: FakeGpu) -> int:  # noqa: N802
        return self._check(h, h.power_mw)

    def nvmlDeviceGetTotalEnergyConsumption(self, h: FakeGpu) -> int:  # noqa: N802
        return self._check(h, h.energy_mj)
