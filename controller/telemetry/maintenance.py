"""Rollups and retention: what keeps a year of fleet telemetry bounded.

Three resolutions, each with its own retention (TelemetrySettings, EDGEFLEET_TELEMETRY_*):

    raw samples        default 24 h   (telemetry_samples)
    1-minute rollups   default 30 d   (telemetry_rollup_1m: count, sum, min, max)
    1-hour rollups     default 400 d  (telemetry_rollup_1h)

Each run (every `maintenance_interval_s` in the server, or `run()` from a test):

1. records a mark (now, highest sample id) in telemetry_marks;
2. rolls up raw rows by id range, from the cursor to the highest id marked at least
   `rollup_settle_s` ago, into both rollup tables at once. Rollups store sum and count (not
   avg) and merge with ON CONFLICT, so a sample replayed late from an agent's spool lands in
   its old buckets exactly, and no row is ever rolled up twice (the cursor moves in the same
   transaction). Work happens in chunks of short transactions so ingest is never held up;
3. deletes raw rows stored before now - raw retention (by id, through the marks: the rowid
   range, never a scan), but never rows not yet rolled up; deletes 1m/1h buckets older than
   their retention.

Bound, for 100 devices x 20 metrics at 1 Hz (2,000 series, 2,000 samples/s), forever:

    raw: 2,000/s x 86,400 s                      = 172.8 M rows (+ one run interval)
    1m:  2,000 series x 1,440/day x 30 days      =  86.4 M rows
    1h:  2,000 series x 24/day x 400 days        =  19.2 M rows
    total                                        ~ 278 M rows, whatever the uptime

(plus 2,000 series rows and about 2,900 marks). A year of raw data would be 63 G rows; every
row count above scales linearly with its retention, so e.g. 6 h raw and 7 d of 1m rollups
bring the total to about 82 M.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, delete, func, insert, literal, select, update
from sqlalchemy.engine import Connection, Engine

from controller.store.telemetry import Rollup1h, Rollup1m, RollupCursor, Sample, StoredMark
from controller.telemetry.settings import TelemetrySettings
from controller.telemetry.txn import insert_for, larger, smaller, write_transaction

MINUTE_MS, HOUR_MS = 60_000, 3_600_000
_CURSOR = "samples"


@dataclass(frozen=True)
class Report:
    rolled_up: int
    deleted_raw: int
    deleted_1m: int
    deleted_1h: int


def run(engine: Engine, settings: TelemetrySettings, now: float, chunk: int = 50_000) -> Report:
    """One maintenance pass at time `now` (epoch seconds; injectable for tests)."""
    mark(engine, now)
    rolled = rollup(engine, now - settings.rollup_settle_s, chunk)
    raw, m1, h1 = expire(engine, settings, now, chunk)
    return Report(rolled, raw, m1, h1)


def mark(engine: Engine, now: float) -> None:
    with write_transaction(engine) as conn:
        top = conn.execute(select(func.coalesce(func.max(Sample.id), 0))).scalar_one()
        if conn.execute(select(StoredMark.at).where(StoredMark.at == now)).first() is None:
            conn.execute(insert(StoredMark).values(at=now, max_id=top))


def _marked_id(conn: Connection, at_or_before: float) -> int:
    """Highest sample id that existed at `at_or_before` (0 if there is no mark that old)."""
    return conn.execute(
        select(func.coalesce(func.max(StoredMark.max_id), 0))
        .where(StoredMark.at <= at_or_before)
    ).scalar_one()


def _cursor(conn: Connection) -> int:
    value = conn.execute(
        select(RollupCursor.rolled_up_to).where(RollupCursor.name == _CURSOR)
    ).scalar()
    if value is None:
        conn.execute(insert(RollupCursor).values(name=_CURSOR, rolled_up_to=0))
        return 0
    return value


def rollup(engine: Engine, settled_at: float, chunk: int) -> int:
    """Roll up every raw row marked at or before `settled_at`; returns how many."""
    total = 0
    while True:
        with write_transaction(engine) as conn:
            lo = _cursor(conn)
            hi = min(_marked_id(conn, settled_at), lo + chunk)
            if hi <= lo:
                return total
            minutes = conn.execute(
                select(
                    Sample.series_id,
                    (Sample.ts_ms // literal(MINUTE_MS, BigInteger)).label("bucket"),
                    func.count().label("count"),
                    func.sum(Sample.value).label("sum"),
                    func.min(Sample.value).label("min"),
                    func.max(Sample.value).label("max"),
                )
                .where(Sample.id > lo, Sample.id <= hi)
                .group_by(Sample.series_id, "bucket")
            ).mappings().all()
            _merge(conn, Rollup1m, [dict(r) for r in minutes])
            _merge(conn, Rollup1h, _coarser(minutes, HOUR_MS // MINUTE_MS))
            conn.execute(
                update(RollupCursor).where(RollupCursor.name == _CURSOR).values(rolled_up_to=hi)
            )
            total += sum(r["count"] for r in minutes)


def _coarser(rows: Any, factor: int) -> list[dict[str, Any]]:
    """Fold buckets `factor` at a time (minutes -> hours) without going back to raw rows."""
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        key = (r["series_id"], r["bucket"] // factor)
        acc = out.get(key)
        if acc is None:
            out[key] = {"series_id": key[0], "bucket": key[1], "count": r["count"],
                        "sum": r["sum"], "min": r["min"], "max": r["max"]}
        else:
            acc["count"] += r["count"]
            acc["sum"] += r["sum"]
            acc["min"] = min(acc["min"], r["min"])
            acc["max"] = max(acc["max"], r["max"])
    return list(out.values())


def _merge(conn: Connection, table: type[Rollup1m] | type[Rollup1h], rows: list[dict]) -> None:
    if not rows:
        return
    t = table.__table__
    stmt = insert_for(t, conn)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.series_id, t.c.bucket],
        set_={
            "count": t.c.count + stmt.excluded.count,
            "sum": t.c.sum + stmt.excluded.sum,
            "min": smaller(conn, t.c.min, stmt.excluded.min),
            "max": larger(conn, t.c.max, stmt.excluded.max),
        },
    )
    conn.execute(stmt, rows)


def expire(engine: Engine, settings: TelemetrySettings, now: float,
           chunk: int) -> tuple[int, int, int]:
    """Delete what is past retention; returns (raw, 1m, 1h) rows deleted."""
    raw = 0
    while True:
        with write_transaction(engine) as conn:
            horizon = min(_marked_id(conn, now - settings.raw_retention_s), _cursor(conn))
            lowest = conn.execute(select(func.min(Sample.id))).scalar()
            if lowest is None or lowest > horizon:
                break
            raw += conn.execute(
                delete(Sample).where(Sample.id <= min(horizon, lowest + chunk - 1))
            ).rowcount
    with write_transaction(engine) as conn:
        m1 = conn.execute(delete(Rollup1m).where(
            Rollup1m.bucket < int((now - settings.rollup_1m_retention_s) * 1000) // MINUTE_MS
        )).rowcount
        h1 = conn.execute(delete(Rollup1h).where(
            Rollup1h.bucket < int((now - settings.rollup_1h_retention_s) * 1000) // HOUR_MS
        )).rowcount
        # Marks older than the newest one past the raw horizon are never read again.
        oldest_needed = conn.execute(
            select(func.max(StoredMark.at)).where(StoredMark.at <= now - settings.raw_retention_s)
        ).scalar()
        if oldest_needed is not None:
            conn.execute(delete(StoredMark).where(StoredMark.at < oldest_needed))
    return raw, m1, h1
