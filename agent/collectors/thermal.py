"""Every thermal zone and every hwmon temperature sensor, in °C.

Both interfaces report milli-°C (48312 -> 48.312). Sensors are discovered once; a sensor whose
driver answers "no data right now" (ENODATA/EAGAIN/EIO/EINVAL: e.g. iwlwifi while the radio
sleeps) is absent that cycle, while a vanished file or a garbled value raises like any read.
"""

from __future__ import annotations

import errno
import glob
import os

from agent.collectors.base import CollectorContext, clip, probe, read_int, read_text
from agent.protocol import Sample

_NO_DATA = frozenset({errno.ENODATA, errno.EAGAIN, errno.EIO, errno.EINVAL})


def _index(path: str, prefix: str) -> int:
    """Numeric suffix for a stable order: thermal_zone10 after thermal_zone9."""
    tail = os.path.basename(path)[len(prefix):]
    digits = tail.split("_", 1)[0]
    return int(digits) if digits.isdigit() else 0


def discover(sys_root: str) -> list[tuple[str, str, dict[str, str]]]:
    """(path, metric name, labels) of every temperature input under sys_root."""
    found: list[tuple[str, str, dict[str, str]]] = []
    zones = glob.glob(os.path.join(sys_root, "class/thermal/thermal_zone*"))
    for zone in sorted(zones, key=lambda p: _index(p, "thermal_zone")):
        temp = os.path.join(zone, "temp")
        if os.path.exists(temp):
            type_file = os.path.join(zone, "type")
            kind = read_text(type_file).strip() if os.path.exists(type_file) else "unknown"
            labels = {"zone": str(_index(zone, "thermal_zone")), "type": clip(kind)}
            found.append((temp, "thermal_zone_temperature_celsius", labels))
    seen: set[tuple[str, str]] = set()
    chips = glob.glob(os.path.join(sys_root, "class/hwmon/hwmon*"))
    for chip in sorted(chips, key=lambda p: _index(p, "hwmon")):
        name_file = os.path.join(chip, "name")
        name = read_text(name_file).strip() if os.path.exists(name_file) else os.path.basename(chip)
        inputs = glob.glob(os.path.join(chip, "temp*_input"))
        for path in sorted(inputs, key=lambda p: _index(p, "temp")):
            stem = os.path.basename(path)[: -len("_input")]
            label_file = os.path.join(chip, stem + "_label")
            sensor = read_text(label_file).strip() if os.path.exists(label_file) else stem
            chip_label = name
            if (chip_label, sensor) in seen:  # two chips of one kind (dual-socket coretemp)
                chip_label = f"{name}.{os.path.basename(chip)[len('hwmon'):]}"
            seen.add((chip_label, sensor))
            found.append((path, "hwmon_temperature_celsius", {"chip": clip(chip_label),
                                                              "sensor": clip(sensor)}))
    return found


class ThermalCollector:
    """thermal_zone_temperature_celsius{zone,type}, hwmon_temperature_celsius{chip,sensor}."""

    name = "thermal"

    def __init__(self, ctx: CollectorContext) -> None:
        self._sys_root = str(ctx.sys_root)
        self._sensors: list[tuple[str, str, dict[str, str]]] = []

    def applies(self) -> bool:
        return probe(self.name, self._probe)

    def _probe(self) -> bool:
        self._sensors = discover(self._sys_root)
        return bool(self._sensors)

    def collect(self, now: float) -> list[Sample]:
        out: list[Sample] = []
        for path, metric, labels in self._sensors:
            try:
                milli = read_int(path)
            except OSError as exc:
                if exc.errno in _NO_DATA:
                    continue
                raise
            source = "sysfs/thermal" if metric.startswith("thermal") else "sysfs/hwmon"
            out.append(Sample(metric, milli / 1000.0, "celsius", now, source, labels))
        return out

    def close(self) -> None:
        """Nothing held open."""
