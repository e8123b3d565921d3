"""Raspberry Pi firmware readings through vcgencmd: SoC temperature and throttling state.

`get_throttled` packs the firmware's power/thermal state into a bitmask; bits 0-3 are the
state now and bits 16-19 the same conditions since boot. Both the raw mask and each decoded
flag are sent (any of under-voltage/throttled/soft-limit now makes concurrent latency
measurements suspect). vcgencmd spawns a process per call, so it runs at most once per
`vcgencmd_interval_s` (5 s by default) and skipped cycles send nothing rather than stale data.
"""

from __future__ import annotations

import re

from agent.collectors.base import CollectorContext, CommandError, RateLimit
from agent.protocol import Sample

# bit offset within each half -> flag name (raspberrypi.com documentation, vcgencmd)
THROTTLE_FLAGS = ("under_voltage", "frequency_capped", "throttled", "soft_temp_limit")
SINCE_BOOT_SHIFT = 16
_TEMP = re.compile(r"temp=([-\d.]+)'C")
_MASK = re.compile(r"throttled=(0x[0-9a-fA-F]+)")


def decode_throttled(mask: int) -> dict[tuple[str, str], int]:
    """{(flag, "now"|"since_boot"): 0/1} for the four conditions of a get_throttled mask."""
    out: dict[tuple[str, str], int] = {}
    for bit, flag in enumerate(THROTTLE_FLAGS):
        out[(flag, "now")] = (mask >> bit) & 1
        out[(flag, "since_boot")] = (mask >> (bit + SINCE_BOOT_SHIFT)) & 1
    return out


def parse_throttled(text: str) -> int:
    """`throttled=0x50005` -> 0x50005; anything else raises with vcgencmd's own words."""
    m = _MASK.search(text)
    if m is None:
        raise CommandError(f"vcgencmd get_throttled: unexpected output {text.strip()[:80]!r}")
    return int(m.group(1), 16)


def parse_temp(text: str) -> float:
    """`temp=48.3'C` -> 48.3."""
    m = _TEMP.search(text)
    if m is None:
        raise CommandError(f"vcgencmd measure_temp: unexpected output {text.strip()[:80]!r}")
    return float(m.group(1))


class VcgencmdCollector:
    """soc_temperature_celsius, throttled_flags (raw mask), throttle_flag{flag,scope}."""

    name = "vcgencmd"

    def __init__(self, ctx: CollectorContext) -> None:
        self._ctx = ctx
        self._limit = RateLimit(ctx.vcgencmd_interval_s, ctx.monotonic)
        self._exe = "vcgencmd"

    def applies(self) -> bool:
        """Where the binary exists; a vcgencmd that then fails (not in group `video`) is
        reported by collect(), not hidden."""
        exe = self._ctx.which("vcgencmd")
        if exe is None:
            return False
        self._exe = exe
        return True

    def collect(self, now: float) -> list[Sample]:
        if not self._limit.ready():
            return []
        temp = parse_temp(self._ctx.run([self._exe, "measure_temp"]))
        mask = parse_throttled(self._ctx.run([self._exe, "get_throttled"]))
        out = [Sample("soc_temperature_celsius", temp, "celsius", now, "vcgencmd"),
               Sample("throttled_flags", mask, "flags", now, "vcgencmd")]
        for (flag, scope), value in decode_throttled(mask).items():
            out.append(Sample("throttle_flag", value, "flags", now, "vcgencmd",
                              {"flag": flag, "scope": scope}))
        return out

    def close(self) -> None:
        """Nothing held open."""
