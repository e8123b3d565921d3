"""Series queries: one device, one metric name, a time range, a bucket step.

Every answer has the same shape whatever table served it: per bucket (epoch-aligned start
`ts`), avg/min/max/count. The source is the finest resolution (raw, 1m, 1h) that divides
the step, still covers `since` and needs at most MAX_ROWS_PER_SERIES rows per series;
otherwise the coarsest dividing one. Rollups lag raw data by up to one maintenance interval
plus the settle time, which is why recent short ranges come from raw rows.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, func, literal, select
from sqlalchemy.engine import Connection

from controller.store.telemetry import Rollup1h, Rollup1m, Sample, Series
from controller.telemetry.errors import InvalidPayload
from controller.telemetry.settings import TelemetrySettings, parse_duration

MAX_POINTS = 20_000
MAX_ROWS_PER_SERIES = 50_000
DEFAULT_POINTS = 720
_EPOCH_MIN = 1e9  # numbers below this are "seconds ago", above it epoch seconds
# Every time a query names must lie in 1970..9999 (as ISO-8601 can): anything else is a
# typo or a probe, and past about 2**63 ms it overflowed the database's integers (500s).
TIME_RANGE = (0.0, 253_402_300_799.0)
MAX_STEP_S = 10 * 366 * 86400  # ten years: one bucket for any retention there is
COLUMNS = ("ts", "avg", "min", "max", "count")


@dataclass(frozen=True)
class Window:
    since: float
    until: float
    step: int


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "..."


def parse_time(text: str, now: float) -> float:
    """Time ago ('3600', '15m', '2d'), epoch seconds ('1763900000') or ISO-8601 -> epoch s,
    within TIME_RANGE."""
    try:
        number = parse_duration(text)
    except ValueError:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidPayload(
                f"{_shown(text)} is not a time (time ago like 3600 or 15m, epoch seconds or "
                "ISO-8601)"
            ) from None
        t = (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    else:
        t = number if number >= _EPOCH_MIN else now - number
    if not (math.isfinite(t) and TIME_RANGE[0] <= t <= TIME_RANGE[1]):
        raise InvalidPayload(f"{_shown(text)} is out of range: times must lie in 1970..9999")
    return t


def window(since: str | None, until: str | None, step: int | None, now: float) -> Window:
    start = parse_time(since, now) if since else now - 3600
    end = parse_time(until, now) if until else now
    if end <= start:
        raise InvalidPayload("since must be before until")
    if step is None:
        step = min(MAX_STEP_S, max(1, math.ceil((end - start) / DEFAULT_POINTS)))
    if not 1 <= step <= MAX_STEP_S:
        raise InvalidPayload(f"step must be 1 to {MAX_STEP_S} seconds")
    if (end - start) / step > MAX_POINTS:
        raise InvalidPayload(f"step {step} s gives more than {MAX_POINTS} points; use a larger one")
    return Window(start, end, step)


def parse_labels(text: str | None) -> dict[str, str]:
    """'cpu=total,zone=cpu-thermal' -> {'cpu': 'total', 'zone': 'cpu-thermal'}."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InvalidPayload(f"labels: {part!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def _resolution(w: Window, settings: TelemetrySettings, now: float) -> tuple[str, int]:
    """(name, bucket width in ms) of the table that serves this window."""
    options = [("raw", 1, settings.raw_retention_s), ("1m", 60, settings.rollup_1m_retention_s),
               ("1h", 3600, settings.rollup_1h_retention_s)]
    dividing = [o for o in options if w.step % o[1] == 0]
    for name, width, retention in dividing:
        if w.since >= now - retention and (w.until - w.since) / width <= MAX_ROWS_PER_SERIES:
            return name, width * 1000
    name, width, _ = dividing[-1]
    return name, width * 1000


def series(conn: Connection, device_pk: int, name: str, labels: dict[str, str], w: Window,
           settings: TelemetrySettings, now: float) -> dict[str, Any]:
    """The `GET /api/devices/{id}/metrics` body (less the device) for one metric name."""
    found = [
        (sid, json.loads(lbl), unit, source)
        for sid, lbl, unit, source in conn.execute(
            select(Series.id, Series.labels, Series.unit, Series.source)
            .where(Series.device_pk == device_pk, Series.name == name).order_by(Series.id)
        )
    ]
    found = [f for f in found if all(f[1].get(k) == v for k, v in labels.items())]
    resolution, width_ms = _resolution(w, settings, now)
    step_ms = w.step * 1000
    points: dict[int, list[list[float]]] = {sid: [] for sid, *_ in found}
    if found:
        points = _points(conn, [f[0] for f in found], resolution, width_ms, step_ms, w, points)
    return {
        "name": name,
        "since": w.since,
        "until": w.until,
        "step": w.step,
        "resolution": resolution,
        "columns": list(COLUMNS),
        "series": [{"labels": lbl, "unit": unit, "source": source, "points": points[sid]}
                   for sid, lbl, unit, source in found],
    }


def _points(conn: Connection, ids: list[int], resolution: str, width_ms: int, step_ms: int,
            w: Window, out: dict[int, list[list[float]]]) -> dict[int, list[list[float]]]:
    lo_ms, hi_ms = math.floor(w.since * 1000), math.ceil(w.until * 1000)
    if resolution == "raw":
        bucket = (Sample.ts_ms // literal(step_ms, BigInteger)).label("b")
        stmt = select(Sample.series_id, bucket, func.sum(Sample.value), func.min(Sample.value),
                      func.max(Sample.value), func.count()).where(
            Sample.series_id.in_(ids), Sample.ts_ms >= lo_ms, Sample.ts_ms < hi_ms
        ).group_by(Sample.series_id, bucket)
    else:
        t = Rollup1m if resolution == "1m" else Rollup1h
        bucket = (t.bucket // literal(step_ms // width_ms, BigInteger)).label("b")
        stmt = select(t.series_id, bucket, func.sum(t.sum), func.min(t.min), func.max(t.max),
                      func.sum(t.count)).where(
            t.series_id.in_(ids), t.bucket >= lo_ms // width_ms, t.bucket < -(-hi_ms // width_ms)
        ).group_by(t.series_id, bucket)
    for sid, b, total, low, high, count in conn.execute(stmt.order_by(bucket)):
        out[sid].append([b * w.step, total / count, low, high, count])
    return out
