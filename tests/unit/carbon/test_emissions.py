"""Emissions: unit conversion and energy bucketed by the hour it was used."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.carbon import EnergyWindow, Intensity, grams_co2, hourly_grams_co2
from controller.carbon.records import hour_of


def intensity(g: float, hour: datetime, source: str = "api") -> Intensity:
    return Intensity("DE", g, hour, source, False, "lifecycle")  # type: ignore[arg-type]


def test_one_kwh_at_400_g_is_400_g() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert grams_co2(3.6e6, intensity(400, at)) == pytest.approx(400.0)
    assert grams_co2(0.5, intensity(430.6, at)) == pytest.approx(0.5 / 3.6e6 * 430.6)
    with pytest.raises(ValueError, match=">= 0 J"):
        grams_co2(-1.0, intensity(400, at))


def test_energy_spanning_two_hours_is_priced_per_hour() -> None:
    prices = {10: 100.0, 11: 500.0}
    seen: list[datetime] = []

    def lookup(hour: datetime) -> Intensity:
        seen.append(hour)
        return intensity(prices[hour.hour], hour)

    # 45 min in hour 10 and 15 min in hour 11: 3/4 and 1/4 of 3.6 MJ.
    window = EnergyWindow(
        datetime(2026, 1, 1, 10, 15, tzinfo=UTC), datetime(2026, 1, 1, 11, 15, tzinfo=UTC), 3.6e6
    )
    out = hourly_grams_co2([window], lookup)
    assert [b.hour.hour for b in out.buckets] == [10, 11] and len(seen) == 2
    assert [b.energy_j for b in out.buckets] == pytest.approx([2.7e6, 0.9e6])
    assert out.grams == pytest.approx(0.75 * 100 + 0.25 * 500)  # not 1 kWh x the latest 500
    assert out.energy_j == pytest.approx(3.6e6) and not out.uses_fallback


def test_windows_in_one_hour_share_a_bucket_and_fallback_is_flagged() -> None:
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    windows = [
        EnergyWindow(start, start.replace(minute=10), 10.0),
        EnergyWindow(start.replace(minute=20), start.replace(minute=20), 5.0),  # instant
    ]
    out = hourly_grams_co2(windows, lambda h: intensity(200, h, "fallback"))
    assert len(out.buckets) == 1 and out.buckets[0].energy_j == 15.0
    assert out.uses_fallback


def test_backwards_window_is_an_error() -> None:
    start = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    backwards = EnergyWindow(start, start.replace(minute=0), 1.0)
    with pytest.raises(ValueError, match="end before it starts"):
        hourly_grams_co2([backwards], lambda h: intensity(1.0, h))


def test_naive_times_are_taken_as_utc() -> None:
    assert hour_of(datetime(2026, 1, 1, 9, 59)) == datetime(2026, 1, 1, 9, tzinfo=UTC)
