"""Flags latency samples taken while the device throttles, with the agent's own readers.

A background thread checks every `interval_s` (and once at each end of the run): the Pi
firmware's `get_throttled` bits 0/2/3 (under-voltage, throttled, soft temperature limit) set
*now*, or any thermal zone / hwmon sensor at or above HOT_CELSIUS (the Pi firmware's soft
limit). A sample is flagged when a check within one interval of it saw throttling: the
checks are seconds apart, so this errs towards flagging.
"""

from __future__ import annotations

import bisect
import threading
import time
from types import TracebackType

from agent.collectors.base import CollectorContext, read_int
from agent.collectors.thermal import discover
from agent.collectors.vcgencmd import parse_throttled

HOT_CELSIUS = 80.0
THROTTLING_BITS = (0, 2, 3)  # under-voltage, throttled, soft temperature limit: now


class ThrottleWatch:
    """`with ThrottleWatch(ctx): ...` then `flagged(starts, durations_ms)`."""

    def __init__(self, ctx: CollectorContext | None = None, interval_s: float = 1.0,
                 clock=time.perf_counter) -> None:
        self._ctx = ctx or CollectorContext()
        self._interval_s = interval_s
        self._clock = clock
        self._vcgencmd = self._ctx.which("vcgencmd")
        self._sensors = [path for path, _, _ in discover(str(self._ctx.sys_root))]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="throttle-watch", daemon=True)
        self.checks: list[tuple[float, bool]] = []
        self.reasons: set[str] = set()

    @property
    def source(self) -> str:
        """What could tell throttling here ("none" when nothing could)."""
        parts = (["vcgencmd"] if self._vcgencmd else []) + (["thermal"] if self._sensors else [])
        return "+".join(parts) or "none"

    def check(self) -> bool:
        hot = False
        if self._vcgencmd:
            mask = parse_throttled(self._ctx.run([self._vcgencmd, "get_throttled"]))
            bits = [b for b in THROTTLING_BITS if mask >> b & 1]
            if bits:
                hot = True
                self.reasons.add(f"get_throttled={mask:#x}")
        for path in self._sensors:
            try:
                celsius = read_int(path) / 1000.0
            except (OSError, ValueError):
                continue  # a sensor with no data now says nothing about throttling
            if celsius >= HOT_CELSIUS:
                hot = True
                self.reasons.add(f"{celsius:.1f} °C at {path}")
        self.checks.append((self._clock(), hot))
        return hot

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.check()

    def flagged(self, starts: list[float], durations_ms: list[float]) -> list[bool]:
        """Per sample: did a check within one interval of it see throttling?"""
        hot_times = sorted(t for t, hot in self.checks if hot)
        out = []
        for start, ms in zip(starts, durations_ms, strict=True):
            lo = bisect.bisect_left(hot_times, start - self._interval_s)
            out.append(lo < len(hot_times) and hot_times[lo] <= start + ms / 1000.0
                       + self._interval_s)
        return out

    def __enter__(self) -> ThrottleWatch:
        self.check()
        if self.source != "none":
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.check()
