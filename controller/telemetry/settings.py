"""Telemetry tunables (retention, heartbeat, maintenance, ingest limits), read from
EDGEFLEET_TELEMETRY_*.

Durations are seconds, or a number with an s/m/h/d suffix (`EDGEFLEET_TELEMETRY_RAW_RETENTION=48h`);
counts are plain integers (`EDGEFLEET_TELEMETRY_MAX_SERIES_PER_DEVICE=5000`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DAY_S = 86400.0

DEFAULT_KEY_METRICS = (
    "cpu_usage_ratio", "load*", "memory_*", "*_celsius", "gpu_*", "*_watts",
    "*rtt*", "throttled_flags",
)


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '48h', '30d' -> seconds; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90, 15m, 48h, 30d)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def parse_count(text: str) -> int:
    """'2000' -> 2000; ValueError for anything but a positive integer."""
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"not a positive integer: {text!r}")
    return int(text)


@dataclass(frozen=True)
class TelemetrySettings:
    """Retention per resolution, the heartbeat threshold and how often maintenance runs."""

    raw_retention_s: float = 1 * DAY_S
    rollup_1m_retention_s: float = 30 * DAY_S
    rollup_1h_retention_s: float = 400 * DAY_S
    offline_after_s: float = 15.0
    maintenance_interval_s: float = 60.0
    # A rollup only reads raw rows stored at least this long ago, so a slow concurrent
    # transaction (PostgreSQL, several server processes) cannot commit rows behind it.
    rollup_settle_s: float = 10.0
    # Samples stamped further in the future than this are rejected (clock not synced).
    max_future_skew_s: float = 300.0
    key_metrics: tuple[str, ...] = DEFAULT_KEY_METRICS
    # A push whose body has not fully arrived this long after its headers is answered 408:
    # a stalled upload must not hold a connection and its buffers indefinitely.
    body_timeout_s: float = 10.0
    # Distinct (name, labels) series one device may create, like Prometheus' sample_limit:
    # a batch that would go past it is refused whole (422), so one token cannot make the
    # store and every device view grow without bound.
    max_series_per_device: int = 2_000

    @classmethod
    def from_env(cls) -> TelemetrySettings:
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f"EDGEFLEET_TELEMETRY_{f.name.removesuffix('_s').upper()}")
            if raw is None:
                continue
            if f.name == "key_metrics":
                values[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
            elif f.type == "int":
                values[f.name] = parse_count(raw)
            else:
                values[f.name] = parse_duration(raw)
        return cls(**values)  # type: ignore[arg-type]
