"""Raspberry Pi 5 power from its PMIC ADCs (`vcgencmd pmic_read_adc`), integrated to energy.

Output lines look like `VDD_CORE_A current(7)=0.74125960A` and `VDD_CORE_V volt(15)=0.88V`;
power is Σ V·I over the rails that have both. Rails without current (EXT5V_V, BATT_V) are
left out, so this is the SoC-side rails' power (domain "soc"), not the board's input power.
Each read spawns vcgencmd, so reads happen at most once per `pmic_interval_s` (≥ 1 s);
rate-limited cycles return nothing. A Pi 4 answers `error=1 error_msg="Command not
registered"`: no rails, so the source does not apply.
"""

from __future__ import annotations

import re

from agent.collectors.base import CollectorContext, CommandError, RateLimit
from agent.power.base import Reading, Trapezoid, integrated

_LINE = re.compile(r"^\s*(\S+)_([AV])\s+(?:current|volt)\(\d+\)=([-+\d.eE]+)[AV]\s*$")
MIN_INTERVAL_S = 1.0


def parse_pmic(text: str) -> dict[str, float]:
    """Watts per rail having both a current and a voltage line."""
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            (amps if m.group(2) == "A" else volts)[m.group(1)] = float(m.group(3))
    return {rail: volts[rail] * a for rail, a in amps.items() if rail in volts}


class PmicSource:
    """Domain "soc": Σ V·I of the Pi 5 PMIC rails, integrated."""

    name = "pmic"
    problem: str | None = None

    def __init__(self, ctx: CollectorContext) -> None:
        self._ctx = ctx
        self._clock = ctx.monotonic
        self._limit = RateLimit(max(MIN_INTERVAL_S, ctx.pmic_interval_s), ctx.monotonic)
        self.source = f"pmic:{integrated(max(ctx.interval_s, self._limit.min_interval_s))}"
        self._exe = "vcgencmd"
        self._meter = Trapezoid()

    def _rails(self) -> dict[str, float]:
        return parse_pmic(self._ctx.run([self._exe, "pmic_read_adc"]))

    def applies(self) -> bool:
        exe = self._ctx.which("vcgencmd")
        if exe is None:
            return False
        self._exe = exe
        try:
            return bool(self._rails())
        except CommandError as exc:
            if "not registered" not in str(exc):  # a Pi 5 whose vcgencmd fails (group video)
                self.problem = str(exc)
            return False

    def read(self) -> list[Reading]:
        if not self._limit.ready():
            return []
        rails = self._rails()
        if not rails:
            raise CommandError("vcgencmd pmic_read_adc: no rail has both volts and amps")
        watts = sum(rails.values())
        return [Reading("soc", self._meter.add(self._clock(), watts), watts, self.source)]

    def close(self) -> None:
        """Nothing held open."""
