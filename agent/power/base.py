"""What every power source returns, and the two ways energy is accounted.

Sources keep their own cumulative energy since the agent started, in joules: from a hardware
counter (wrap-corrected deltas, the accurate way) or by integrating power readings with the
trapezoid rule. `Reading.source` says which (`<sensor>:counter`, `<sensor>:integrated@<hz>`,
`estimated:<method>`), so a consumer always knows how far to trust a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Reading:
    """One power domain's state after a read.

    `in_total` is False for sub-rails already contained in another reading of the same
    source (Jetson CPU/GPU rails inside the module input): adding those would double count.
    """

    domain: str
    energy_j: float
    power_w: float | None
    source: str
    labels: dict[str, str] = field(default_factory=dict)
    in_total: bool = True

    @property
    def key(self) -> tuple[str, ...]:
        """Identity of the series across reads."""
        return (self.source, self.domain, *sorted(f"{k}={v}" for k, v in self.labels.items()))


class PowerSource(Protocol):
    """A power/energy sensor family (rapl, nvml, ...)."""

    name: str
    # Set by applies() when the sensor exists but cannot be used, in words for the operator.
    problem: str | None

    def applies(self) -> bool:
        """Probe once: True when this device has the sensor and it can be read."""
        ...

    def read(self) -> list[Reading]:
        """Current readings; [] when rate-limited this time. Raises on failure."""
        ...

    def close(self) -> None:
        """Release what applies() opened."""
        ...


def integrated(interval_s: float) -> str:
    """`integrated@1hz`: the method of a source integrating power sampled every `interval_s`
    (lower case: the wire's `source` pattern has no capitals)."""
    return f"integrated@{1.0 / interval_s:g}hz"


class Trapezoid:
    """E = Σ ½(Pᵢ + Pᵢ₋₁)(tᵢ - tᵢ₋₁) over power samples taken at monotonic times."""

    def __init__(self) -> None:
        self.energy_j = 0.0
        self._last: tuple[float, float] | None = None

    def add(self, t: float, power_w: float) -> float:
        last = self._last
        if last is not None and t > last[0]:
            self.energy_j += 0.5 * (power_w + last[1]) * (t - last[0])
        self._last = (t, power_w)
        return self.energy_j


class CounterDelta:
    """Accumulates a hardware energy counter that wraps at `max_range`.

    A reading below the previous one means the counter wrapped once (the caller must poll
    faster than the wrap period; RAPL at 1 Hz wraps after minutes at the earliest).
    Without `max_range` (a 64-bit counter) a drop is a reset: that interval is lost, not
    counted negative.
    """

    def __init__(self, scale_to_j: float, max_range: int | None = None) -> None:
        self.scale_to_j = scale_to_j
        self.max_range = max_range
        self.energy_j = 0.0
        self._last: tuple[float, int] | None = None

    def add(self, t: float, raw: int) -> tuple[float, float | None]:
        """(cumulative joules, average watts since the previous read or None)."""
        last = self._last
        self._last = (t, raw)
        if last is None:
            return self.energy_j, None
        delta = raw - last[1]
        if delta < 0:
            delta = delta + self.max_range if self.max_range else 0
        joules = delta * self.scale_to_j
        self.energy_j += joules
        dt = t - last[0]
        return self.energy_j, (joules / dt if dt > 0 else None)
