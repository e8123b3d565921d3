"""CarbonIntensity against a real loopback HTTP server serving Electricity Maps v3 responses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from controller.carbon import CarbonIntensity, CarbonSettings
from controller.carbon.fallback import table
from controller.carbon.service import InvalidZone
from tests.clock import Clock
from tests.fake_electricitymaps import TOKEN, FakeElectricityMaps

LATEST = "/v3/carbon-intensity/latest"
HISTORY = "/v3/carbon-intensity/history"
NOW = datetime(2026, 12, 2, 2, 20, tzinfo=UTC)


def service(api: FakeElectricityMaps, clock: Clock | None = None, **kw: object) -> CarbonIntensity:
    settings = CarbonSettings(token=TOKEN, base_url=api.url, **kw)  # type: ignore[arg-type]
    return CarbonIntensity(settings, now=lambda: NOW, monotonic=clock or Clock(1000.0))


def test_latest_keeps_value_datetime_estimation_and_factor(fake_api: FakeElectricityMaps) -> None:
    fake_api.serve(LATEST, "DE", 200, "latest_DE.json")
    got = service(fake_api).for_zone("DE")
    assert (got.zone, got.g_per_kwh, got.source) == ("DE", 302.0, "api")
    assert got.datetime == datetime(2026, 12, 2, 2, tzinfo=UTC)
    assert got.is_estimated is True and got.estimation_method == "TIME_SLICER_AVERAGE"
    assert got.emission_factor_type == "lifecycle" and not got.is_fallback
    [req] = fake_api.requests
    assert req == {
        "path": LATEST, "auth": TOKEN, "zone": "DE", "emissionFactorType": "lifecycle"
    }


def test_latest_slot_serves_the_publication_lag(fake_api: FakeElectricityMaps) -> None:
    """KR's newest slot is 01:00 while it is 02:20: that slot is the latest there is."""
    fake_api.serve(LATEST, "KR", 200, "latest_KR.json")
    got = service(fake_api).for_zone("KR")
    assert (got.g_per_kwh, got.is_estimated, got.datetime.hour) == (415.0, False, 1)


def test_cached_per_zone_for_minutes_then_refreshed(fake_api: FakeElectricityMaps) -> None:
    fake_api.serve(LATEST, "DE", 200, "latest_DE.json")
    fake_api.serve(LATEST, "KR", 200, "latest_KR.json")
    clock = Clock(1000.0)
    svc = service(fake_api, clock, cache_s=600.0)
    for _ in range(5):
        svc.for_zone("DE")
    svc.for_zone("KR")
    assert fake_api.calls(LATEST) == 2  # one per zone
    clock.t += 599
    svc.for_zone("DE")
    assert fake_api.calls(LATEST) == 2
    clock.t += 2
    svc.for_zone("DE")
    assert fake_api.calls(LATEST) == 3


def test_past_hour_is_matched_from_history(fake_api: FakeElectricityMaps) -> None:
    fake_api.serve(HISTORY, "DE", 200, "history_DE.json")
    svc = service(fake_api)
    at = datetime(2026, 12, 1, 20, 35, tzinfo=UTC)  # slot 17 of the history: 250 + 170
    got = svc.for_zone("DE", at)
    assert (got.g_per_kwh, got.datetime, got.source) == (420.0, at.replace(minute=0), "api")
    assert svc.for_zone("DE", datetime(2026, 12, 1, 4, 10, tzinfo=UTC)).g_per_kwh == 260.0
    assert fake_api.calls(HISTORY) == 1  # the whole day came in one call


def test_history_gap_and_older_hours_fall_back(fake_api: FakeElectricityMaps) -> None:
    fake_api.serve(HISTORY, "DE", 200, "history_DE.json")
    svc = service(fake_api)
    gap = svc.for_zone("DE", datetime(2026, 12, 1, 8, 30, tzinfo=UTC))  # the null slot
    assert gap.is_fallback and "no value for 2026-12-01T08:00:00+00:00" in gap.fallback_reason
    old = svc.for_zone("DE", NOW - timedelta(days=3))
    assert old.is_fallback and old.g_per_kwh == table()["g_per_kwh"]["DE"]


@pytest.mark.parametrize(
    ("status", "fixture", "reason"),
    [
        (401, "error_401.json", "answered 401: Please provide a valid auth-token"),
        (429, "error_429.json", "answered 429: You have exceeded the rate limit"),
        (200, "malformed_latest.json", "malformed Electricity Maps record: carbonIntensity"),
        (200, "not_json.txt", "not JSON"),
        (502, "not_json.txt", "answered 502"),
    ],
)
def test_api_failures_fall_back_to_the_table_and_back_off(
    fake_api: FakeElectricityMaps, status: int, fixture: str, reason: str
) -> None:
    fake_api.serve(LATEST, "DE", status, fixture)
    clock = Clock(1000.0)
    svc = service(fake_api, clock, backoff_s=300.0)
    got = svc.for_zone("DE")
    assert got.is_fallback and got.source == "fallback"
    assert reason in got.fallback_reason
    assert got.g_per_kwh == table()["g_per_kwh"]["DE"]
    assert (got.fallback_source, got.fallback_year) == (table()["source"], 2023)
    assert got.as_dict()["fallback"] is True
    svc.for_zone("DE")
    assert fake_api.calls(LATEST) == 1  # backing off: not asked again
    assert "not retried" in svc.for_zone("DE").fallback_reason
    clock.t += 301
    fake_api.serve(LATEST, "DE", 200, "latest_DE.json")
    assert svc.for_zone("DE").source == "api"  # recovered after the backoff


def test_timeout_falls_back(fake_api: FakeElectricityMaps) -> None:
    fake_api.serve(LATEST, "DE", 200, "latest_DE.json", delay_s=1.0)
    got = service(fake_api, timeout_s=0.2).for_zone("DE")
    assert got.is_fallback and "timed out after 0.2 s" in got.fallback_reason


def test_no_token_never_calls_the_api(fake_api: FakeElectricityMaps) -> None:
    svc = CarbonIntensity(CarbonSettings(token=None, base_url=fake_api.url), now=lambda: NOW)
    got = svc.for_zone("KR")
    assert got.is_fallback and got.fallback_reason == "no Electricity Maps token configured"
    assert got.g_per_kwh == 430.6 and fake_api.requests == []


def test_token_is_never_logged_or_shown(
    fake_api: FakeElectricityMaps, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.serve(LATEST, "DE", 401, "error_401.json")
    settings = CarbonSettings(token=TOKEN, base_url=fake_api.url)
    with caplog.at_level(logging.DEBUG):
        got = CarbonIntensity(settings, now=lambda: NOW).for_zone("DE")
    assert "401" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(settings) and TOKEN not in str(got.as_dict())


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEFLEET_ELECTRICITYMAPS_TOKEN", " abc ")
    monkeypatch.setenv("EDGEFLEET_ELECTRICITYMAPS_URL", "http://127.0.0.1:9/")
    settings = CarbonSettings.from_env()
    assert (settings.token, settings.base_url) == ("abc", "http://127.0.0.1:9")
    monkeypatch.delenv("EDGEFLEET_ELECTRICITYMAPS_TOKEN")
    assert CarbonSettings.from_env().token is None


@pytest.mark.parametrize(
    ("zone", "key"), [("US-CAL-CISO", "US"), ("SE-SE3", "SE"), ("ZZ", "WORLD")]
)
def test_sub_zones_fall_back_to_their_country_or_the_world(zone: str, key: str) -> None:
    got = CarbonIntensity(CarbonSettings(token=None), now=lambda: NOW).for_zone(zone)
    assert got.g_per_kwh == table()["g_per_kwh"][key]
    assert got.estimation_method == f"annual average of {key}"


@pytest.mark.parametrize("zone", ["de", "", "DE;rm", "../KR", "D"])
def test_malformed_zone_is_rejected(zone: str) -> None:
    with pytest.raises(InvalidZone, match="not an Electricity Maps zone key"):
        CarbonIntensity(CarbonSettings(token=None)).for_zone(zone)
