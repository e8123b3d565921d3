"""Emissions = energy (kWh) x intensity of the hour the energy was used.

A window of energy that spans hours is split across them in proportion to the time spent in
each (constant power within one window is the assumption), and each share is multiplied by
that hour's intensity -- rather than total energy x the latest value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.carbon.records import Intensity, hour_of

J_PER_KWH = 3.6e6


def grams_co2(energy_j: float, intensity: Intensity) -> float:
    """gCO2eq for `energy_j` joules at `intensity` (g/kWh)."""
    if energy_j < 0:
        raise ValueError(f"energy must be >= 0 J, got {energy_j}")
    return energy_j / J_PER_KWH * intensity.g_per_kwh


@dataclass(frozen=True)
class EnergyWindow:
    """Energy measured over [start, end) (timezone-aware datetimes)."""

    start: datetime
    end: datetime
    energy_j: float


@dataclass(frozen=True)
class HourBucket:
    hour: datetime
    energy_j: float
    intensity: Intensity
    grams: float


@dataclass(frozen=True)
class HourlyEmissions:
    buckets: list[HourBucket]

    @property
    def grams(self) -> float:
        return sum(b.grams for b in self.buckets)

    @property
    def energy_j(self) -> float:
        return sum(b.energy_j for b in self.buckets)

    @property
    def uses_fallback(self) -> bool:
        return any(b.intensity.is_fallback for b in self.buckets)


def _split(window: EnergyWindow) -> Iterable[tuple[datetime, float]]:
    """(hour, energy share) pairs for one window."""
    if window.end < window.start:
        raise ValueError("an energy window cannot end before it starts")
    total = (window.end - window.start).total_seconds()
    if total == 0:
        yield hour_of(window.start), window.energy_j
        return
    cursor = window.start
    while cursor < window.end:
        hour = hour_of(cursor)
        stop = min(window.end, hour + timedelta(hours=1))
        yield hour, window.energy_j * (stop - cursor).total_seconds() / total
        cursor = stop


def hourly_grams_co2(
    windows: Iterable[EnergyWindow], lookup: Callable[[datetime], Intensity]
) -> HourlyEmissions:
    """Bucket energy per UTC hour, then price each bucket at `lookup(hour)`."""
    energy: dict[datetime, float] = {}
    for window in windows:
        for hour, share in _split(window):
            energy[hour] = energy.get(hour, 0.0) + share
    buckets = []
    for hour in sorted(energy):
        intensity = lookup(hour)
        grams = grams_co2(energy[hour], intensity)
        buckets.append(HourBucket(hour, energy[hour], intensity, grams))
    return HourlyEmissions(buckets)
