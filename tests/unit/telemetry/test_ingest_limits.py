"""The series limit inside write groups, the header-time token gate and the limit settings,
over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from controller.config import Settings
from controller.store import Store
from controller.store.telemetry import Sample, Series
from controller.telemetry import tokens
from controller.telemetry.errors import SeriesLimitExceeded, Unauthorized
from controller.telemetry.gate import TokenGate
from controller.telemetry.settings import TelemetrySettings
from controller.telemetry.writer import GroupWriter, PushResult
from tests.clock import Clock
from tests.unit.telemetry.payloads import body
from tests.unit.telemetry.test_store import T0, count, make_push


def labelled(first_seq: int, *cpus: int) -> dict:
    payload = body(first_seq, len(cpus), ts=T0)
    for sample, cpu in zip(payload["samples"], cpus, strict=True):
        sample["labels"] = {"cpu": str(cpu)}
    return payload


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store(settings.db_url)
    yield store
    store.dispose()


@pytest.mark.backends
def test_pushes_in_one_group_share_the_limit(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    writer = GroupWriter(store.engine, max_series_per_device=5)
    outcomes = writer.write([
        make_push(token, labelled(1, 0, 1, 2)),
        make_push(token, labelled(4, 2, 3, 4, 5)),  # 3 new: 6 > 5
        make_push(token, labelled(4, 2, 3, 4)),  # 2 new: 5, as many as allowed
    ])
    assert outcomes[0] == PushResult(3, 0)
    assert isinstance(outcomes[1], SeriesLimitExceeded)
    assert "would give device 'rpi-01' 6 series" in str(outcomes[1])
    assert outcomes[2] == PushResult(3, 0)
    assert (count(store, Series), count(store, Sample)) == (5, 6)


@pytest.mark.backends
def test_series_another_process_created_are_found_not_counted_twice(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    assert GroupWriter(store.engine, 5).write([make_push(token, labelled(1, 0, 1, 2, 3, 4))])
    # A second server process: an empty cache, the same store.
    other = GroupWriter(store.engine, 5)
    assert other.write([make_push(token, labelled(6, 4, 3, 2, 1, 0))]) == [PushResult(5, 0)]
    [refused] = other.write([make_push(token, labelled(11, 0, 9))])
    assert isinstance(refused, SeriesLimitExceeded)
    assert (count(store, Series), count(store, Sample)) == (5, 10)


@pytest.mark.backends
def test_the_gate_remembers_good_tokens_for_its_ttl_only(store: Store) -> None:
    token = tokens.create(store, "rpi-01")
    clock = Clock(0.0)
    gate = TokenGate(store, ttl_s=60.0, monotonic=clock)
    header = f"Bearer {token}"
    assert asyncio.run(gate.check(header)) == tokens.hash_token(token)
    tokens.revoke(store, "rpi-01")
    clock.tick(59)  # still remembered: the writer refuses it in the storing transaction
    assert asyncio.run(gate.check(header)) == tokens.hash_token(token)
    clock.tick(2)
    with pytest.raises(Unauthorized, match="unknown or revoked"):
        asyncio.run(gate.check(header))
    with pytest.raises(Unauthorized, match="missing or malformed"):
        asyncio.run(gate.check(None))


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEFLEET_TELEMETRY_MAX_SERIES_PER_DEVICE", "5000")
    monkeypatch.setenv("EDGEFLEET_TELEMETRY_BODY_TIMEOUT", "3s")
    settings = TelemetrySettings.from_env()
    assert (settings.max_series_per_device, settings.body_timeout_s) == (5000, 3.0)
    assert TelemetrySettings().max_series_per_device == 2000
    for bad in ("many", "0", "-1", "2.5"):
        monkeypatch.setenv("EDGEFLEET_TELEMETRY_MAX_SERIES_PER_DEVICE", bad)
        with pytest.raises(ValueError, match="positive integer"):
            TelemetrySettings.from_env()
