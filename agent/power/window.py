"""Zeus-style measurement windows: energy used between `begin_window` and `end_window`.

For benchmarks: `with` a monitor over the device's selected sources, bracket the work with
begin/end, get `Measurement(energy_j, duration_s, source)`. Counter sources (RAPL, NVML) are
exact whatever the window; integrating sources (INA3221, NVML power-only, PMIC, estimate)
are only as good as their sampling, so give those a `poll_interval_s` (a background thread
reads them in between). A source with no fresh reading at a window's edge (PMIC is limited
to 1 Hz) is carried to that instant at its last power, like Zeus's instant-power
approximation. Short windows on NVML's counter can read 0 J (it updates every ~10-100 ms):
treat sub-second GPU energy as approximate.
No source at all raises: a window is never a silent 0 J.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from agent.collectors.base import CollectorContext
from agent.power.base import PowerSource, Reading
from agent.power.estimate import EstimateSource
from agent.power.select import PowerSelection, measured_sources


@dataclass(frozen=True)
class Measurement:
    """Energy over one window, the sources it came from ("+"-joined), and per domain."""

    energy_j: float
    duration_s: float
    source: str
    by_domain: dict[str, float]


def _domain_key(r: Reading) -> str:
    """"gpu{gpu=0}", "cpu{package=0}", "soc"."""
    inner = ",".join(f"{k}={v}" for k, v in sorted(r.labels.items()))
    return f"{r.domain}{{{inner}}}" if inner else r.domain


class PowerMonitor:
    """Windows over power sources; thread-safe, windows may overlap or nest."""

    def __init__(self, sources: list[PowerSource], clock: Callable[[], float] = time.monotonic,
                 poll_interval_s: float | None = None) -> None:
        self._sources = sources
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[tuple[str, ...], tuple[Reading, float]] = {}  # reading, when read
        self._windows: dict[str, tuple[float, dict[tuple[str, ...], float]]] = {}
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if poll_interval_s is not None:
            self._thread = threading.Thread(target=self._poll_loop, args=(poll_interval_s,),
                                            name="power-monitor", daemon=True)
            self._thread.start()

    @classmethod
    def for_device(cls, ctx: CollectorContext,
                   poll_interval_s: float | None = None) -> PowerMonitor:
        """A monitor over the sources the agent would select on this device."""
        selection = PowerSelection(measured_sources(ctx), EstimateSource(ctx))
        return cls(selection.chosen(), ctx.monotonic, poll_interval_s)

    def _poll_loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            try:
                self.poll()
            except Exception as exc:  # surfaced by the next end_window
                self._error = exc
                return

    def poll(self) -> None:
        """Read every source now (integrating sources gain a sample)."""
        with self._lock:
            for source in self._sources:
                readings = source.read()
                t = self._clock()
                for r in readings:
                    self._last[r.key] = (r, t)

    def _energy_at(self, t: float) -> dict[tuple[str, ...], tuple[Reading, float]]:
        """Each in-total reading's energy carried forward to `t` at its last power."""
        return {k: (r, r.energy_j + (r.power_w or 0.0) * max(0.0, t - read_at))
                for k, (r, read_at) in self._last.items() if r.in_total}

    def begin_window(self, name: str) -> None:
        if not self._sources:
            raise RuntimeError("no power source on this device: nothing to measure")
        self.poll()
        with self._lock:
            if name in self._windows:
                raise ValueError(f"window {name!r} is already open")
            t0 = self._clock()
            start = {k: joules for k, (_, joules) in self._energy_at(t0).items()}
            self._windows[name] = (t0, start)

    def end_window(self, name: str) -> Measurement:
        with self._lock:
            if name not in self._windows:
                raise ValueError(f"window {name!r} was not begun")
        if self._error is not None:
            raise RuntimeError("power polling failed") from self._error
        self.poll()
        with self._lock:
            t0, start = self._windows.pop(name)
            t1 = self._clock()
            ends = [(r, joules - start[k]) for k, (r, joules) in self._energy_at(t1).items()
                    if k in start]
        if not ends:
            raise RuntimeError(f"window {name!r}: no source gave a reading at both ends")
        by_domain = {_domain_key(r): joules for r, joules in ends}
        sources = "+".join(sorted({r.source for r, _ in ends}))
        return Measurement(sum(by_domain.values()), t1 - t0, sources, by_domain)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for source in self._sources:
            source.close()

    def __enter__(self) -> PowerMonitor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
