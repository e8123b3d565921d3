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
   transaction). Chunks of ROLLUP_CHUNK_ROWS, each one short transaction of pure SQL;
3. deletes raw rows stored before now - raw retention (by id, through the marks: the rowid
   range, never a scan), but never rows not yet rolled up, in short chunked transactions;
   deletes 1m/1h buckets older than their retention.

The server runs the steps on its event loop between ingest groups (service.py), so
maintenance and ingest take turns with SQLite's single write lock instead of racing for it.

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

from sqlalchemy import BigInteger, Table, delete, func, insert, literal, select, update
from sqlalchemy.engine import Connection, Engine

from controller.store.telemetry import Rollup1h, Rollup1m, RollupCursor, Sample, StoredMark
from controller.telemetry.settings import TelemetrySettings
from controller.telemetry.txn import insert_for, larger, smaller, write_transaction

MINUTE_MS, HOUR_MS = 60_000, 3_600_000
_CURSOR = "samples"
_ROLLUP_COLUMNS = ["series_id", "bucket", "count", "sum", "min", "max"]
# Raw rows per rollup transaction: a few seconds of a 1,000-device fleet, tens of ms of
# work. Smaller chunks merge each series-minute more often; larger ones hold the lock longer.
ROLLUP_CHUNK_ROWS = 100_000
DELETE_CHUNK_ROWS = 20_000


@dataclass(frozen=True)
class Report:
    rolled_up: int
    deleted_raw: int
    deleted_1m: int
    deleted_1h: int


def run(engine: Engine, settings: TelemetrySettings, now: float) -> Report:
    """One maintenance pass at time `now` (epoch seconds; injectable for tests)."""
    mark(engine, now)
    rolled = 0
    while (rows := rollup_step(engine, now - settings.rollup_settle_s)) is not None:
        rolled += rows
    raw = 0
    while (deleted := expire_raw(engine, settings, now)) is not None:
        raw += deleted
    m1, h1 = expire_rollups(engine, settings, now)
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
    return conn.execute(
        select(RollupCursor.rolled_up_to).where(RollupCursor.name == _CURSOR)
    ).scalar() or 0


def rollup_step(engine: Engine, settled_at: float,
                max_rows: int = ROLLUP_CHUNK_ROWS) -> int | None:
    """Roll up the next chunk of settled raw rows into both tables: how many; None when done.

    Pure SQL (INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE): no sample row
    passes through Python, and each statement is a single database call.
    """
    with write_transaction(engine) as conn:
        lo = _cursor(conn)
        hi = min(_marked_id(conn, settled_at), lo + max_rows)
        if hi <= lo:
            return None
        in_chunk = (Sample.id > lo, Sample.id <= hi)
        rows = conn.execute(select(func.count()).where(*in_chunk)).scalar_one()
        for table, width in ((Rollup1m.__table__, MINUTE_MS), (Rollup1h.__table__, HOUR_MS)):
            bucket = Sample.ts_ms // literal(width, BigInteger)
            aggregate = (
                select(Sample.series_id, bucket, func.count(), func.sum(Sample.value),
                       func.min(Sample.value), func.max(Sample.value))
                .where(*in_chunk).group_by(Sample.series_id, bucket)
            )
            stmt = insert_for(table, conn.dialect.name).from_select(_ROLLUP_COLUMNS, aggregate)
            conn.execute(_merge(stmt, table, conn.dialect.name))
        cursor = RollupCursor.__table__
        if conn.execute(update(cursor).where(cursor.c.name == _CURSOR)
                        .values(rolled_up_to=hi)).rowcount == 0:
            conn.execute(insert(cursor).values(name=_CURSOR, rolled_up_to=hi))
    return rows


def _merge(stmt: Any, table: Table, dialect: str) -> Any:
    """ON CONFLICT: add counts and sums, keep the extremes (exact for late data)."""
    return stmt.on_conflict_do_update(
        index_elements=[table.c.series_id, table.c.bucket],
        set_={
            "count": table.c.count + stmt.excluded.count,
            "sum": table.c.sum + stmt.excluded.sum,
            "min": smaller(dialect, table.c.min, stmt.excluded.min),
            "max": larger(dialect, table.c.max, stmt.excluded.max),
        },
    )


def expire_raw(engine: Engine, settings: TelemetrySettings, now: float,
               chunk: int = DELETE_CHUNK_ROWS) -> int | None:
    """Delete one chunk of expired raw rows; None when none is left."""
    with write_transaction(engine) as conn:
        horizon = min(_marked_id(conn, now - settings.raw_retention_s), _cursor(conn))
        lowest = conn.execute(select(func.min(Sample.id))).scalar()
        if lowest is None or lowest > horizon:
            return None
        return conn.execute(
            delete(Sample).where(Sample.id <= min(horizon, lowest + chunk - 1))
        ).rowcount


def expire_rollups(engine: Engine, settings: TelemetrySettings, now: float) -> tuple[int, int]:
    """Delete 1m/1h buckets past retention, and marks no longer needed; (1m, 1h) deleted."""
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
    return m1, h1
