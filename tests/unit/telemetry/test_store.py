"""The telemetry store over a real database (SQLite, or EDGEFLEET_TEST_DATABASE_URL):
group writes, rollups, retention and their exactness with late and replayed data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from controller.config import Settings
from controller.store import Store
from controller.store.telemetry import Rollup1h, Rollup1m, Sample, StoredMark
from controller.telemetry import maintenance, tokens
from controller.telemetry.errors import Forbidden, Unauthorized
from controller.telemetry.schemas import parse_push
from controller.telemetry.settings import TelemetrySettings
from controller.telemetry.writer import GroupWriter, Push, PushResult
from tests.unit.telemetry.payloads import body, new_stream

# Each test runs on SQLite and on a real PostgreSQL server.
pytestmark = pytest.mark.backends

T0 = 1_790_006_400.0  # on an hour boundary
SETTINGS = TelemetrySettings(rollup_settle_s=0.0)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store(settings.db_url)
    yield store
    store.dispose()


def make_push(token: str, payload: dict, now: float = T0 + 3600) -> Push:
    parsed = parse_push(json.dumps(payload).encode(), now=now, max_skew=300)
    return Push(tokens.hash_token(token), parsed, "192.0.2.1", now)


def count(store: Store, table: type) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def rollups(store: Store, table: type) -> dict[int, tuple[int, float, float, float]]:
    with store.session() as s:
        return {r.bucket: (r.count, r.sum, r.min, r.max) for r in s.scalars(select(table))}


def test_a_group_answers_each_push_and_keeps_going_past_a_bad_one(store: Store) -> None:
    good = tokens.create(store, "rpi-01")
    other = tokens.create(store, "rpi-02")
    writer = GroupWriter(store.engine)
    first = body(1, 5, ts=T0)
    outcomes = writer.write([
        make_push(good, first),
        make_push("C" * 43, body(1, 5, ts=T0, device_id="1" * 32)),
        make_push(good, first),  # same batch twice in one group
        make_push(other, body(1, 2, ts=T0, device_id="2" * 32, stream=new_stream())),
        make_push(other, body(3, 2, ts=T0, device_id="3" * 32)),  # token now bound to 2...
    ])
    assert outcomes[0] == PushResult(5, 0)
    assert isinstance(outcomes[1], Unauthorized)
    assert outcomes[2] == PushResult(0, 5)
    assert outcomes[3] == PushResult(2, 0)
    assert isinstance(outcomes[4], Forbidden)
    assert count(store, Sample) == 7


def test_rollups_are_exact_and_late_samples_merge_into_old_buckets(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    writer = GroupWriter(store.engine)
    # Two minutes of data, values 0..119.
    writer.write([make_push(token, body(1, 120, ts=T0, value=0.0))])
    maintenance.run(store.engine, SETTINGS, T0 + 200)
    minute = int(T0) // 60
    assert rollups(store, Rollup1m) == {
        minute: (60, sum(range(60)), 0.0, 59.0),
        minute + 1: (60, sum(range(60, 120)), 60.0, 119.0),
    }
    # A replayed spool brings samples for the first minute long after it was rolled up.
    late = body(1, 3, ts=T0 + 10, value=-5.0, stream=new_stream())
    writer.write([make_push(token, late)])
    report = maintenance.run(store.engine, SETTINGS, T0 + 300)
    assert report.rolled_up == 3
    assert rollups(store, Rollup1m)[minute] == (63, sum(range(60)) - 15 + 3, -5.0, 59.0)
    assert rollups(store, Rollup1h) == {
        int(T0) // 3600: (123, sum(range(120)) - 15 + 3, -5.0, 119.0)
    }
    # Nothing is rolled up twice, however often maintenance runs.
    assert maintenance.run(store.engine, SETTINGS, T0 + 301).rolled_up == 0
    assert rollups(store, Rollup1h)[int(T0) // 3600][0] == 123


def test_rows_newer_than_the_settle_time_wait_for_the_next_run(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    GroupWriter(store.engine).write([make_push(token, body(1, 10, ts=T0))])
    settle = replace(SETTINGS, rollup_settle_s=10.0)
    assert maintenance.run(store.engine, settle, T0 + 100).rolled_up == 0
    assert maintenance.run(store.engine, settle, T0 + 105).rolled_up == 0
    assert maintenance.run(store.engine, settle, T0 + 111).rolled_up == 10


def test_retention_per_resolution(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    writer = GroupWriter(store.engine)
    short = TelemetrySettings(raw_retention_s=3600, rollup_1m_retention_s=86400,
                              rollup_1h_retention_s=7 * 86400, rollup_settle_s=0)
    writer.write([make_push(token, body(1, 60, ts=T0))])
    maintenance.run(store.engine, short, T0 + 60)  # stored and rolled up at T0 + 60
    writer.write([make_push(token, body(61, 60, ts=T0 + 7200), now=T0 + 7300)])
    report = maintenance.run(store.engine, short, T0 + 7300)
    # Raw rows stored before T0 + 7300 - 3600 are gone; the later batch stays.
    assert (report.deleted_raw, count(store, Sample)) == (60, 60)
    assert len(rollups(store, Rollup1m)) == 2
    maintenance.run(store.engine, short, T0 + 2 * 86400)
    assert count(store, Sample) == 0  # rolled up first, then expired
    assert rollups(store, Rollup1m) == {}
    assert sum(c for c, *_ in rollups(store, Rollup1h).values()) == 120
    maintenance.run(store.engine, short, T0 + 8 * 86400)
    assert rollups(store, Rollup1h) == {}


def test_raw_rows_are_never_deleted_before_they_are_rolled_up(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    GroupWriter(store.engine).write([make_push(token, body(1, 30, ts=T0))])
    maintenance.mark(store.engine, T0)
    stuck = TelemetrySettings(raw_retention_s=1, rollup_settle_s=10**9)  # never settles
    assert maintenance.run(store.engine, stuck, T0 + 3600).deleted_raw == 0
    assert count(store, Sample) == 30


def test_raw_expiry_goes_in_chunks_and_marks_stay_bounded(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    writer = GroupWriter(store.engine)
    for k in range(5):
        writer.write([make_push(token, body(1 + 100 * k, 100, ts=T0 + 100 * k))])
        maintenance.run(store.engine, SETTINGS, T0 + 1000 + k)
    short = replace(SETTINGS, raw_retention_s=10)
    assert maintenance.expire_raw(store.engine, short, T0 + 2000, chunk=150) == 150
    assert maintenance.run(store.engine, short, T0 + 2000).deleted_raw == 350
    assert count(store, StoredMark) <= 2
