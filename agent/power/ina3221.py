"""NVIDIA Jetson power from the module's INA3221 monitors, integrated to energy.

Two kernel interfaces, the newer preferred:
- hwmon (L4T ≥ 32.6 / mainline): hwmonN/name "ina3221", inK_label, inK_input (mV),
  currK_input (mA) for channels K = 1..3;
- iio (older L4T, /sys/bus/i2c/drivers/ina3221x/*/iio:device*): rail_name_K,
  in_powerK_input (mW).
The module total is the input rail where there is one (POM_5V_IN on Nano/TX2, VDD_IN on
TX1/Xavier NX/Orin): it already contains the CPU/GPU rails (jetson_stats #51), which are sent
as sub-rails flagged not-in-total. Without an input rail (AGX Xavier) the total is the sum
of the rails. The carrier board is not measured. Unconnected channels ("NC") are skipped.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

from agent.collectors.base import CollectorContext, clip, read_int, read_text
from agent.power.base import Reading, Trapezoid, integrated

INPUT_RAILS = frozenset({"POM_5V_IN", "VDD_IN", "5V_IN"})


def _hwmon_rails(sys_root: str) -> list[tuple[str, Callable[[], float]]]:
    """(rail name, read watts) for each labelled hwmon INA3221 channel with V and I."""
    rails = []
    for chip in sorted(glob.glob(os.path.join(sys_root, "class/hwmon/hwmon*"))):
        name_file = os.path.join(chip, "name")
        if not os.path.exists(name_file) or read_text(name_file).strip() != "ina3221":
            continue
        for label_file in sorted(glob.glob(os.path.join(chip, "in[1-3]_label"))):
            k = os.path.basename(label_file)[2]
            volt, curr = os.path.join(chip, f"in{k}_input"), os.path.join(chip, f"curr{k}_input")
            rail = clip(read_text(label_file).strip())
            if rail == "NC" or not (os.path.exists(volt) and os.path.exists(curr)):
                continue
            rails.append((rail, lambda v=volt, c=curr: read_int(v) * read_int(c) / 1e6))
    return rails


def _iio_rails(sys_root: str) -> list[tuple[str, Callable[[], float]]]:
    """(rail name, read watts) for each rail of the older L4T iio driver (mW)."""
    rails = []
    pattern = os.path.join(sys_root, "bus/i2c/drivers/ina3221x/*/iio:device*/rail_name_*")
    for name_file in sorted(glob.glob(pattern)):
        k = name_file.rsplit("_", 1)[1]
        power = os.path.join(os.path.dirname(name_file), f"in_power{k}_input")
        rail = clip(read_text(name_file).strip())
        if rail != "NC" and os.path.exists(power):
            rails.append((rail, lambda p=power: read_int(p) / 1000.0))
    return rails


class Ina3221Source:
    """Domain "module" (the total) and domain "rail" per rail {rail}, power integrated."""

    name = "ina3221"
    problem: str | None = None

    def __init__(self, ctx: CollectorContext) -> None:
        self._sys_root = str(ctx.sys_root)
        self._clock = ctx.monotonic
        self.source = f"ina3221:{integrated(ctx.interval_s)}"
        self._rails: list[tuple[str, Callable[[], float]]] = []
        self._total_rail: str | None = None
        self._meters: dict[str, Trapezoid] = {}

    def applies(self) -> bool:
        self._rails = _hwmon_rails(self._sys_root) or _iio_rails(self._sys_root)
        names = [name for name, _ in self._rails]
        self._total_rail = next((n for n in names if n in INPUT_RAILS), None)
        self._meters = {n: Trapezoid() for n in [*names, "module"]}
        return bool(self._rails)

    def read(self) -> list[Reading]:
        t = self._clock()
        watts = {name: read_watts() for name, read_watts in self._rails}
        total_rail = self._total_rail
        total = watts[total_rail] if total_rail else sum(watts.values())
        out = [Reading("module", self._meters["module"].add(t, total), total, self.source,
                       {"rail": total_rail or "sum"})]
        for name, w in watts.items():
            if name != total_rail:
                out.append(Reading("rail", self._meters[name].add(t, w), w, self.source,
                                   {"rail": name}, in_total=False))
        return out

    def close(self) -> None:
        """Nothing held open."""
