"""One NVML session for the whole agent, shared by the GPU collector and the GPU power source.

`nvmlInit` costs tens of milliseconds and opens the driver; doing it per sample (or running
nvidia-smi per sample) is what makes naive agents heavy. pynvml is imported lazily so the
agent never requires it: no module, no library or no driver all mean "no GPU here".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from agent.collectors.base import CollectorContext, log


@dataclass(frozen=True)
class Gpu:
    """A GPU's index and UUID (the labels) and its NVML handle, looked up once."""

    index: int
    uuid: str
    handle: Any


class NvmlSession:
    """An initialised NVML library and its GPU handles; shut down when the last user leaves."""

    def __init__(self, nvml: Any, gpus: list[Gpu]) -> None:
        self.nvml = nvml
        self.gpus = gpus
        self.users = 0

    def unsupported(self, exc: Exception) -> bool:
        """True for NVML's NotSupported: that metric is absent on this GPU, not zero."""
        return isinstance(exc, self.nvml.NVMLError_NotSupported)


def _load(ctx: CollectorContext) -> Any | None:
    if ctx.pynvml is not None:
        return ctx.pynvml
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def _open(ctx: CollectorContext) -> NvmlSession | None:
    nvml = _load(ctx)
    if nvml is None:
        return None
    try:
        nvml.nvmlInit()
    except nvml.NVMLError:  # library not found, driver not loaded, ...: no GPU
        return None
    gpus = []
    try:
        count = nvml.nvmlDeviceGetCount()
    except nvml.NVMLError as exc:
        log.warning("NVML initialised but cannot count GPUs: %s", exc)
        count = 0
    for i in range(count):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            uuid = nvml.nvmlDeviceGetUUID(handle)
        except nvml.NVMLError as exc:  # e.g. GPU fallen off the bus: the others still count
            log.warning("GPU %d left out: %s", i, exc)
            continue
        gpus.append(Gpu(i, uuid.decode() if isinstance(uuid, bytes) else uuid, handle))
    if not gpus:
        nvml.nvmlShutdown()
        return None
    return NvmlSession(nvml, gpus)


def acquire(ctx: CollectorContext) -> NvmlSession | None:
    """The context's shared session (opened on first use), or None when there is no GPU."""
    if not ctx.nvml_probed:
        ctx.nvml_session = _open(ctx)
        ctx.nvml_probed = True
    session = ctx.nvml_session
    if session is not None:
        session.users += 1
    return session


def release(ctx: CollectorContext, session: NvmlSession) -> None:
    """Drop one user; the last one shuts NVML down (a later acquire opens it again)."""
    session.users -= 1
    if session.users == 0 and ctx.nvml_session is session:
        ctx.nvml_session = None
        ctx.nvml_probed = False
        session.nvml.nvmlShutdown()
