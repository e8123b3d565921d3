"""One carbon-intensity value with its provenance (none of CodeCarbon/Zeus keep this)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Source = Literal["api", "fallback"]


def hour_of(at: datetime) -> datetime:
    """The UTC hour slot `at` falls in (Electricity Maps stamps a slot by its start)."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Intensity:
    """gCO2eq/kWh for a zone and hour, and where the number came from.

    `source` is "api" (Electricity Maps) or "fallback" (offline annual average); a fallback
    record also names its table's source and year and why the API was not used.
    """

    zone: str
    g_per_kwh: float
    datetime: datetime
    source: Source
    is_estimated: bool
    emission_factor_type: str
    estimation_method: str | None = None
    fallback_reason: str | None = None
    fallback_source: str | None = None
    fallback_year: int | None = None

    @property
    def is_fallback(self) -> bool:
        return self.source == "fallback"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["datetime"] = self.datetime.isoformat()
        out["fallback"] = self.is_fallback
        return out
