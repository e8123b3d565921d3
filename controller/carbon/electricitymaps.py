"""Electricity Maps API v3 client: latest and last-24-hours carbon intensity for one zone.

Only reads; the token travels in the `auth-token` header and never in a URL, log or error.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.carbon.errors import CarbonApiError
from controller.carbon.records import Intensity, hour_of
from controller.carbon.settings import CarbonSettings


class _Record(BaseModel):
    """One v3 carbon-intensity record; unknown fields (updatedAt, createdAt...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    zone: str
    carbonIntensity: float | None = Field(None, ge=0, le=5000)  # noqa: N815 - API spelling
    datetime: datetime
    isEstimated: bool = False  # noqa: N815
    emissionFactorType: str = "lifecycle"  # noqa: N815
    estimationMethod: str | None = None  # noqa: N815

    def intensity(self) -> Intensity | None:
        if self.carbonIntensity is None:  # a gap in the history: no value for that hour
            return None
        return Intensity(
            zone=self.zone,
            g_per_kwh=self.carbonIntensity,
            datetime=hour_of(self.datetime),
            source="api",
            is_estimated=self.isEstimated,
            emission_factor_type=self.emissionFactorType,
            estimation_method=self.estimationMethod,
        )


class _History(BaseModel):
    zone: str
    history: list[_Record]


class ElectricityMapsClient:
    """Thin synchronous client; every failure becomes a one-line CarbonApiError."""

    def __init__(self, settings: CarbonSettings, transport: httpx.BaseTransport | None = None):
        if not settings.token:
            raise CarbonApiError("no Electricity Maps token configured")
        self._settings = settings
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers={"auth-token": settings.token},
            timeout=settings.timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def latest(self, zone: str) -> Intensity:
        try:
            record = _Record.model_validate(self._get("/v3/carbon-intensity/latest", zone))
        except ValidationError as exc:
            raise CarbonApiError(f"malformed Electricity Maps record: {_first(exc)}") from None
        found = record.intensity()
        if found is None:
            raise CarbonApiError(f"Electricity Maps has no latest value for zone {zone}")
        return found

    def history(self, zone: str) -> list[Intensity]:
        """The last 24 hourly values (gaps skipped), oldest first."""
        body = self._get("/v3/carbon-intensity/history", zone)
        try:
            records = _History.model_validate(body).history
        except ValidationError as exc:
            raise CarbonApiError(f"malformed Electricity Maps history: {_first(exc)}") from None
        return sorted(
            (i for r in records if (i := r.intensity()) is not None), key=lambda i: i.datetime
        )

    def _get(self, path: str, zone: str) -> object:
        params = {"zone": zone, "emissionFactorType": self._settings.emission_factor_type}
        try:
            res = self._http.get(path, params=params)
        except httpx.TimeoutException:
            raise CarbonApiError(
                f"Electricity Maps timed out after {self._settings.timeout_s} s"
            ) from None
        except httpx.HTTPError as exc:
            raise CarbonApiError(f"Electricity Maps unreachable: {type(exc).__name__}") from None
        if res.status_code != 200:
            raise CarbonApiError(
                f"Electricity Maps answered {res.status_code}: {_api_message(res)}",
                status=res.status_code,
            )
        try:
            return res.json()
        except ValueError:
            raise CarbonApiError("Electricity Maps answered a body that is not JSON") from None


def _api_message(res: httpx.Response) -> str:
    """The API's own `message`/`error` field, cut to one short line."""
    try:
        body = res.json()
    except ValueError:
        return res.reason_phrase or "no reason given"
    if isinstance(body, dict):
        text = body.get("message") or body.get("error")
        if isinstance(text, str) and text.strip():
            return " ".join(text.split())[:200]
    return res.reason_phrase or "no reason given"


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "body"
    return f"{where}: {err.get('msg', 'invalid')}"
