"""Carbon intensity per zone and hour: Electricity Maps when it answers, the offline table when not.

Matching by hour: a request for a time in the current UTC hour reads `/latest`; a request for
an earlier hour reads `/history` (the last 24 h). Both fill one per-zone map of hour slot ->
value, kept `cache_s` seconds, so a batch of results from one run costs at most one call per
zone. The API publishes with a lag, so a time up to `_LAG_HOURS` past the newest slot uses
that newest slot. Anything else -- no token, 401/429, a timeout, a malformed body, an hour
outside the history -- is answered from the fallback table, marked as such, and after an API
failure the zone is not asked again for `backoff_s` (free-tier bursts get 401/429).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from controller.carbon.electricitymaps import ElectricityMapsClient
from controller.carbon.errors import CarbonApiError
from controller.carbon.fallback import fallback_intensity
from controller.carbon.records import Intensity, hour_of
from controller.carbon.settings import CarbonSettings
from controller.errors import ControllerError

log = logging.getLogger("edgefleet.carbon")
_ZONE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,12}){0,3}$")
_LAG_HOURS = 2


class InvalidZone(ControllerError):
    http_status = 422


def check_zone(zone: str) -> str:
    """Electricity Maps zone keys: a country code, optionally with sub-zones (`US-CAL-CISO`)."""
    if not isinstance(zone, str) or not _ZONE.match(zone):
        raise InvalidZone(
            f"zone {zone!r} is not an Electricity Maps zone key (e.g. 'DE', 'KR', 'US-CAL-CISO')"
        )
    return zone


@dataclass
class _ZoneCache:
    hours: dict[datetime, Intensity] = field(default_factory=dict)
    latest_at: float = float("-inf")  # monotonic time of the last /latest answer
    history_at: float = float("-inf")
    blocked_until: float = float("-inf")
    last_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, hour: datetime) -> Intensity | None:
        if hour in self.hours:
            return self.hours[hour]
        newest = max(self.hours, default=None)
        if newest is not None and timedelta(0) < hour - newest <= timedelta(hours=_LAG_HOURS):
            return self.hours[newest]
        return None


class CarbonIntensity:
    """One per controller process; thread-safe; agents never call the API themselves."""

    def __init__(
        self,
        settings: CarbonSettings | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or CarbonSettings.from_env()
        self._now, self._mono = now, monotonic
        self._client = (
            ElectricityMapsClient(self.settings, transport) if self.settings.token else None
        )
        self._zones: dict[str, _ZoneCache] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def for_zone(self, zone: str, at: datetime | None = None) -> Intensity:
        """Intensity for `zone` in the UTC hour of `at` (default: now); never raises for API
        trouble, only for a malformed zone."""
        check_zone(zone)
        when = at or self._now()
        hour = hour_of(when)
        if self._client is None:
            return fallback_intensity(zone, when, "no Electricity Maps token configured")
        with self._lock:
            cache = self._zones.setdefault(zone, _ZoneCache())
        with cache.lock:
            return self._lookup(zone, cache, hour, when)

    def _lookup(self, zone: str, cache: _ZoneCache, hour: datetime, when: datetime) -> Intensity:
        assert self._client is not None
        current = hour >= hour_of(self._now())
        fetched_at = cache.latest_at if current else cache.history_at
        fresh = self._mono() - fetched_at < self.settings.cache_s
        if fresh and (found := cache.find(hour)) is not None:
            return found
        if not fresh:
            if self._mono() < cache.blocked_until:
                reason = f"{cache.last_error} (not retried for {self.settings.backoff_s:.0f} s)"
                return fallback_intensity(zone, when, reason)
            try:
                if current:
                    record = self._client.latest(zone)
                    cache.hours[record.datetime] = record
                    cache.latest_at = self._mono()
                else:
                    cache.hours.update((r.datetime, r) for r in self._client.history(zone))
                    cache.history_at = self._mono()
            except CarbonApiError as exc:
                cache.last_error = str(exc)
                cache.blocked_until = self._mono() + self.settings.backoff_s
                log.warning("carbon intensity for %s: %s; using the offline table", zone, exc)
                return fallback_intensity(zone, when, str(exc))
            if (found := cache.find(hour)) is not None:
                return found
        return fallback_intensity(
            zone, when, f"Electricity Maps has no value for {hour.isoformat()} (last 24 h only)"
        )
