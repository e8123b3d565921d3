"""CPU usage (total and per core), frequency and load averages.

Usage is the busy share of /proc/stat jiffies between two cycles: the first call only primes
the counters (no sample rather than a meaningless 0), and nothing ever sleeps to measure an
interval (psutil.cpu_percent(interval>0) per sample made a 11 s job take 115 s in CodeCarbon).
"""

from __future__ import annotations

import glob
import os

from agent.collectors.base import CollectorContext, read_int, read_text
from agent.protocol import Sample

_LOAD_PERIODS = ("1m", "5m", "15m")


def read_cpu_times(stat_path: str) -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per `cpu*` line of /proc/stat; key "cpu" is all cores.

    Total is user..steal (guest time is already inside user/nice); idle and iowait are
    not busy.
    """
    times: dict[str, tuple[int, int]] = {}
    for line in read_text(stat_path).splitlines():
        if not line.startswith("cpu"):
            break  # the cpu lines come first
        fields = line.split()
        try:
            vals = [int(v) for v in fields[1:9]]
            total = sum(vals)
            times[fields[0]] = (total - vals[3] - vals[4], total)
        except (ValueError, IndexError):
            raise ValueError(f"{stat_path}: garbled cpu line {line[:60]!r}") from None
    if "cpu" not in times:
        raise ValueError(f"{stat_path}: no aggregate cpu line")
    return times


def usage_ratio(prev: tuple[int, int], cur: tuple[int, int]) -> float | None:
    """Busy share between two (busy, total) readings; None when no time passed."""
    d_total = cur[1] - prev[1]
    if d_total <= 0:
        return None
    return min(1.0, max(0.0, (cur[0] - prev[0]) / d_total))


class CpuCollector:
    """cpu_usage_ratio{cpu}, cpu_frequency_hertz{cpu}, load_average{period}."""

    name = "cpu"

    def __init__(self, ctx: CollectorContext) -> None:
        self._stat = str(ctx.proc_root / "stat")
        self._loadavg = str(ctx.proc_root / "loadavg")
        self._cpu_dir = str(ctx.sys_root / "devices/system/cpu")
        self._freq: list[tuple[str, str]] = []
        self._prev: dict[str, tuple[int, int]] = {}

    def applies(self) -> bool:
        pattern = os.path.join(self._cpu_dir, "cpu[0-9]*", "cpufreq", "scaling_cur_freq")
        paths = glob.glob(pattern)
        self._freq = sorted(((p.split(os.sep)[-3][3:], p) for p in paths),
                            key=lambda item: int(item[0]))
        return os.path.exists(self._stat)

    def collect(self, now: float) -> list[Sample]:
        out: list[Sample] = []
        times = read_cpu_times(self._stat)
        for key, cur in times.items():
            prev = self._prev.get(key)
            ratio = usage_ratio(prev, cur) if prev is not None else None
            if ratio is not None:
                label = "total" if key == "cpu" else key[3:]
                out.append(Sample("cpu_usage_ratio", ratio, "ratio", now, "proc/stat",
                                  {"cpu": label}))
        self._prev = times
        for cpu, path in self._freq:  # scaling_cur_freq is in kHz
            out.append(Sample("cpu_frequency_hertz", read_int(path) * 1000.0, "hertz", now,
                              "sysfs/cpufreq", {"cpu": cpu}))
        fields = read_text(self._loadavg).split()
        try:
            loads = [float(v) for v in fields[:3]]
        except ValueError:
            raise ValueError(f"{self._loadavg}: garbled {fields[:3]}") from None
        if len(loads) != 3:
            raise ValueError(f"{self._loadavg}: expected three load averages")
        for i, period in enumerate(_LOAD_PERIODS):  # no zip(strict=): runs on Python 3.8
            out.append(Sample("load_average", loads[i], "count", now, "proc/loadavg",
                              {"period": period}))
        return out

    def close(self) -> None:
        """Nothing held open."""
