"""Memory and swap from /proc/meminfo.

Used is MemTotal - MemAvailable (what applications could still get without swapping), not
MemTotal - MemFree, which counts the page cache as used and reads ~100 % on a healthy box.
"""

from __future__ import annotations

import os

from agent.collectors.base import CollectorContext, read_text
from agent.protocol import Sample

_FIELDS = ("MemTotal", "MemAvailable", "SwapTotal", "SwapFree")


def read_meminfo(path: str) -> dict[str, int]:
    """The fields this collector needs, in bytes (meminfo says kB and means KiB)."""
    found: dict[str, int] = {}
    for line in read_text(path).splitlines():
        key, _, rest = line.partition(":")
        if key in _FIELDS:
            try:
                found[key] = int(rest.split()[0]) * 1024
            except (ValueError, IndexError):
                raise ValueError(f"{path}: garbled {line!r}") from None
    missing = [k for k in _FIELDS if k not in found]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return found


class MemoryCollector:
    """memory_{total,available,used}_bytes, swap_{total,used}_bytes."""

    name = "memory"

    def __init__(self, ctx: CollectorContext) -> None:
        self._path = str(ctx.proc_root / "meminfo")

    def applies(self) -> bool:
        return os.path.exists(self._path)

    def collect(self, now: float) -> list[Sample]:
        m = read_meminfo(self._path)
        src = "proc/meminfo"
        return [
            Sample("memory_total_bytes", m["MemTotal"], "bytes", now, src),
            Sample("memory_available_bytes", m["MemAvailable"], "bytes", now, src),
            Sample("memory_used_bytes", m["MemTotal"] - m["MemAvailable"], "bytes", now, src),
            Sample("swap_total_bytes", m["SwapTotal"], "bytes", now, src),
            Sample("swap_used_bytes", m["SwapTotal"] - m["SwapFree"], "bytes", now, src),
        ]

    def close(self) -> None:
        """Nothing held open."""
