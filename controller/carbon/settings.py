"""Carbon settings from the environment; the API token never appears in repr or logs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_URL = "https://api.electricitymaps.com"


@dataclass(frozen=True)
class CarbonSettings:
    """Where to ask for carbon intensity, with what token, and how long answers stay fresh."""

    token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_URL
    cache_s: float = 600.0  # Electricity Maps publishes hourly: minutes of cache lose nothing
    backoff_s: float = 300.0  # after 401/429/timeouts, stop asking for a while
    timeout_s: float = 10.0
    emission_factor_type: str = "lifecycle"

    @classmethod
    def from_env(cls) -> CarbonSettings:
        """EDGEFLEET_ELECTRICITYMAPS_TOKEN / _URL, EDGEFLEET_CARBON_CACHE_S."""
        values: dict[str, object] = {}
        if token := os.environ.get("EDGEFLEET_ELECTRICITYMAPS_TOKEN", "").strip():
            values["token"] = token
        if url := os.environ.get("EDGEFLEET_ELECTRICITYMAPS_URL"):
            values["base_url"] = url.rstrip("/")
        if cache := os.environ.get("EDGEFLEET_CARBON_CACHE_S"):
            values["cache_s"] = float(cache)
        return cls(**values)  # type: ignore[arg-type]
