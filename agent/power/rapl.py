"""Intel/AMD CPU energy from RAPL counters under /sys/class/powercap.

`energy_uj` is a µJ counter that wraps at `max_energy_range_uj` (read once: a 32-bit counter
can wrap within minutes at high power), so energy is the sum of wrap-corrected deltas. Package
domains are used (core/uncore are inside them); psys only when there is no package domain.
When a package appears both as MMIO (intel-rapl-mmio:N) and MSR (intel-rapl:N) zone, the MMIO
one is kept. Since kernel 5.10 (CVE-2020-8694 "Platypus") energy_uj is readable by root only:
that is reported in words, not turned into a missing zero. Absent on ARM and in most VMs.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass

from agent.collectors.base import CollectorContext, read_int, read_text
from agent.power.base import CounterDelta, Reading

SOURCE = "rapl:counter"
_TOP_ZONE = re.compile(r"^intel-rapl(-mmio)?:\d+$")


def permission_message(path: str) -> str:
    return (f"{path}: permission denied: the kernel lets only root read RAPL energy "
            "(CVE-2020-8694); grant the agent read access (udev rule or group) to get "
            "CPU energy")


@dataclass
class _Zone:
    name: str
    energy_path: str
    counter: CounterDelta


def discover(powercap: str) -> list[tuple[str, str, int]]:
    """(domain name, energy_uj path, max_energy_range_uj) of the zones to read."""
    by_name: dict[str, tuple[bool, str]] = {}
    for zone in sorted(glob.glob(os.path.join(powercap, "intel-rapl*"))):
        base = os.path.basename(zone)
        if not _TOP_ZONE.match(base):
            continue  # subzones (core, uncore, dram inside a package)
        name = read_text(os.path.join(zone, "name")).strip()
        mmio = "-mmio" in base
        if name not in by_name or (mmio and not by_name[name][0]):
            by_name[name] = (mmio, zone)
    packages = sorted(n for n in by_name if n.startswith("package"))
    chosen = packages or [n for n in by_name if n == "psys"]
    return [(n, os.path.join(by_name[n][1], "energy_uj"),
             read_int(os.path.join(by_name[n][1], "max_energy_range_uj"))) for n in chosen]


class RaplSource:
    """CPU package energy (µJ counter -> J), domain "cpu" labelled {package}."""

    name = "rapl"

    def __init__(self, ctx: CollectorContext) -> None:
        self._powercap = str(ctx.sys_root / "class/powercap")
        self._clock = ctx.monotonic
        self._zones: list[_Zone] = []
        self.problem: str | None = None

    def applies(self) -> bool:
        if not os.path.isdir(self._powercap):
            return False
        try:
            found = discover(self._powercap)
            for _, path, _ in found:
                try:
                    read_int(path)
                except PermissionError:
                    self.problem = permission_message(path)
                    return False
        except PermissionError as exc:
            self.problem = permission_message(str(exc.filename))
            return False
        self._zones = [_Zone(n, p, CounterDelta(1e-6, max_range)) for n, p, max_range in found]
        return bool(self._zones)

    def read(self) -> list[Reading]:
        out = []
        for zone in self._zones:
            try:
                raw = read_int(zone.energy_path)
            except PermissionError:
                raise PermissionError(permission_message(zone.energy_path)) from None
            energy, power = zone.counter.add(self._clock(), raw)
            domain, labels = ("cpu", {"package": zone.name.split("-", 1)[1]}) \
                if zone.name.startswith("package-") else (zone.name, {})
            out.append(Reading(domain, energy, power, SOURCE, labels))
        return out

    def close(self) -> None:
        """Nothing held open."""
