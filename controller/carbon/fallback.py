"""Offline per-country annual averages, used when Electricity Maps can't answer.

A zone such as `US-CAL-CISO` or `SE-SE3` falls back to its country (`US`, `SE`); an unknown
country falls back to the world average. Every record says it is a fallback, from which
table and year, and why the API was not used.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from controller.carbon.records import Intensity, hour_of

_TABLE = Path(__file__).with_name("fallback_2023.json")
WORLD = "WORLD"


@cache
def table() -> dict[str, Any]:
    return json.loads(_TABLE.read_text())


def fallback_intensity(zone: str, at: datetime, reason: str) -> Intensity:
    data = table()
    values: dict[str, float] = data["g_per_kwh"]
    country = zone.split("-", 1)[0].upper()
    key = country if country in values else WORLD
    return Intensity(
        zone=zone,
        g_per_kwh=values[key],
        datetime=hour_of(at),
        source="fallback",
        is_estimated=True,  # an annual average stands in for the real hour
        emission_factor_type=data["emission_factor_type"],
        estimation_method=f"annual average of {key}",
        fallback_reason=reason,
        fallback_source=data["source"],
        fallback_year=int(data["year"]),
    )
