"""POST /api/telemetry over the real app and store: auth, limits, validation, dedupe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent.protocol import MAX_BODY_BYTES, MAX_SAMPLES_PER_BATCH
from controller.api.app import create_app
from controller.config import Settings
from controller.store.telemetry import Device, DeviceToken, Sample, Series, Stream
from controller.telemetry import tokens
from tests.clock import T0, Clock
from tests.unit.telemetry.payloads import DEVICE_ID, body, new_stream, raw

# Each test runs on SQLite and on a real PostgreSQL server.
pytestmark = pytest.mark.backends


@pytest.fixture
def app_client(settings: Settings) -> Iterator[tuple[TestClient, Any]]:
    app = create_app(settings)
    app.state.telemetry.clock = Clock()  # retention and heartbeats never see the wall clock
    with TestClient(app, base_url="http://localhost") as c:
        yield c, app


@pytest.fixture
def client(app_client: tuple[TestClient, Any]) -> TestClient:
    return app_client[0]


@pytest.fixture
def token(app_client: tuple[TestClient, Any]) -> str:
    return tokens.create(app_client[1].state.store, "rpi-01")


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def counts(app: Any) -> dict[str, int]:
    with app.state.store.session() as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
                for t in (Sample, Series, Device, Stream)}


NOTHING = {"telemetry_samples": 0, "telemetry_series": 0, "devices": 0, "telemetry_streams": 0}


def test_a_push_is_stored_and_the_device_registered(app_client, token) -> None:
    client, app = app_client
    res = client.post("/api/telemetry", json=body(1, 3, dropped=7), headers=auth(token))
    assert (res.status_code, res.json()) == (200, {"accepted": 3, "duplicates": 0})
    assert counts(app) == {"telemetry_samples": 3, "telemetry_series": 1, "devices": 1,
                           "telemetry_streams": 1}
    with app.state.store.session() as s:
        device = s.scalars(select(Device)).one()
        assert (device.id, device.name, device.arch, device.dropped_total) == (
            DEVICE_ID, "rpi-01", "arm64", 7)
        assert s.get(DeviceToken, "rpi-01").device_id == DEVICE_ID


def test_replays_are_counted_as_duplicates_and_stored_once(app_client, token) -> None:
    client, app = app_client
    first = body(1, 10, ts=T0 - 100)  # seq n at T0 - 101 + n, in every batch below
    assert client.post("/api/telemetry", json=first, headers=auth(token)).json() == {
        "accepted": 10, "duplicates": 0}
    # The same batch again (the agent never saw the answer), then one that overlaps it.
    assert client.post("/api/telemetry", json=first, headers=auth(token)).json() == {
        "accepted": 0, "duplicates": 10}
    overlap = body(6, 10, ts=T0 - 95)
    assert client.post("/api/telemetry", json=overlap, headers=auth(token)).json() == {
        "accepted": 5, "duplicates": 5}
    # A new stream (the agent's spool was recreated) starts its own numbering.
    fresh = body(1, 4, stream=new_stream(), ts=T0 - 50)
    assert client.post("/api/telemetry", json=fresh, headers=auth(token)).json()["accepted"] == 4
    assert counts(app)["telemetry_samples"] == 19
    with app.state.store.session() as s:
        assert s.scalar(select(func.count(func.distinct(Sample.ts_ms)))) == 19


def test_exactly_once_after_many_replays_in_any_interleaving(app_client, token) -> None:
    client, app = app_client
    batches = [body(1 + 5 * k, 5, ts=T0 - 60 + 5 * k) for k in range(8)]
    order = [0, 1, 1, 0, 2, 3, 2, 4, 4, 4, 5, 6, 5, 7, 7, 0]
    accepted = sum(
        client.post("/api/telemetry", json=batches[i], headers=auth(token)).json()["accepted"]
        for i in order
    )
    assert accepted == counts(app)["telemetry_samples"] == 40


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing or malformed device token"),
        ({"authorization": "Basic dXNlcjpwdw=="}, "missing or malformed"),
        ({"authorization": "Bearer short"}, "missing or malformed"),
        ({"authorization": "Bearer " + "A" * 43}, "unknown or revoked"),
    ],
)
def test_no_valid_token_is_401_and_writes_nothing(app_client, token, headers, detail) -> None:
    client, app = app_client
    res = client.post("/api/telemetry", json=body(), headers=headers)
    assert res.status_code == 401
    assert detail in res.json()["detail"]
    assert res.headers["www-authenticate"] == "Bearer"
    assert counts(app) == NOTHING


def test_the_admin_token_is_not_a_device_token(settings: Settings) -> None:
    app = create_app(settings, api_token="admin-secret-token-admin-secret-token")
    with TestClient(app, base_url="http://localhost") as c:
        res = c.post("/api/telemetry", json=body(),
                     headers=auth("admin-secret-token-admin-secret-token"))
        assert res.status_code == 401
        # ... while the device token works although the admin API is locked.
        token = tokens.create(app.state.store, "rpi-01")
        assert c.post("/api/telemetry", json=body(), headers=auth(token)).status_code == 200


def test_a_revoked_token_is_401(app_client, token) -> None:
    client, app = app_client
    assert client.post("/api/telemetry", json=body(1, 1), headers=auth(token)).status_code == 200
    tokens.revoke(app.state.store, "rpi-01")
    res = client.post("/api/telemetry", json=body(2, 1), headers=auth(token))
    assert res.status_code == 401
    assert counts(app)["telemetry_samples"] == 1


def test_a_token_bound_to_one_device_is_403_for_another(app_client, token) -> None:
    client, app = app_client
    assert client.post("/api/telemetry", json=body(1, 2), headers=auth(token)).status_code == 200
    other = body(1, 2, device_id="0" * 32, stream=new_stream())
    res = client.post("/api/telemetry", json=other, headers=auth(token))
    assert res.status_code == 403
    assert "rpi-01" in res.json()["detail"]
    assert counts(app)["telemetry_samples"] == 2
    assert counts(app)["devices"] == 1


def test_a_device_enrolled_under_one_name_cannot_take_another(app_client, token) -> None:
    client, app = app_client
    assert client.post("/api/telemetry", json=body(1, 1), headers=auth(token)).status_code == 200
    second = tokens.create(app.state.store, "rpi-02")
    res = client.post("/api/telemetry", json=body(2, 1), headers=auth(second))
    assert res.status_code == 403
    assert "enrolled as 'rpi-01'" in res.json()["detail"]
    with app.state.store.session() as s:
        assert s.get(DeviceToken, "rpi-02").device_id is None


def test_a_rotated_token_rebinds_on_its_first_push(app_client, token) -> None:
    client, app = app_client
    assert client.post("/api/telemetry", json=body(1, 1), headers=auth(token)).status_code == 200
    new = tokens.create(app.state.store, "rpi-01", rotate=True)
    assert client.post("/api/telemetry", json=body(2, 1), headers=auth(token)).status_code == 401
    assert client.post("/api/telemetry", json=body(2, 1), headers=auth(new)).json() == {
        "accepted": 1, "duplicates": 0}


def test_oversize_bodies_are_413_by_header_and_by_bytes(app_client, token) -> None:
    client, app = app_client
    big = b" " * (MAX_BODY_BYTES + 1)
    res = client.post("/api/telemetry", content=big, headers=auth(token))
    assert res.status_code == 413
    assert "larger than" in res.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    res = client.post("/api/telemetry", content=chunks(), headers=auth(token))
    assert res.status_code == 413
    assert counts(app) == NOTHING


def _mutate(path: str, value: Any) -> dict[str, Any]:
    payload = body(1, 3)
    *parents, leaf = path.split(".")
    node: Any = payload
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    if value is _DELETE:
        del node[leaf]
    else:
        node[int(leaf) if leaf.isdigit() else leaf] = value
    return payload


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        ("extra", 1, "extra: Extra inputs are not permitted"),
        ("protocol", 2, "protocol: Input should be 1"),
        ("stream", "not-a-uuid", "stream: String should match pattern"),
        ("device.id", "x", "device.id"),
        ("device.boot_time", "yesterday", "device.boot_time"),
        ("dropped", _DELETE, "dropped: Field required"),
        ("samples.1.value", "0.5", "samples.1.value: Input should be a valid number"),
        ("samples.1.unit", "percent", "samples.1.unit: Input should be"),
        ("samples.1.name", "CPU usage", "samples.1.name: String should match pattern"),
        ("samples.1.seq", 9, "samples.1.seq is 9, expected 2"),
        ("samples.1.ts", 12.0, "samples.1.ts: Input should be greater than or equal to 1577836800"),
        ("samples.1.ts", 4_000_000_000.0, "samples.1.ts is in the future"),
        ("samples.1.labels", {f"k{i}": "v" for i in range(9)}, "samples.1.labels"),
        ("samples.1.labels", {"zone": "x" * 129}, "samples.1.labels.zone"),
        ("samples.1.color", "red", "samples.1.color: Extra inputs are not permitted"),
        ("batch.last_seq", 9, "batch 1..9 announces 9 samples, body has 3"),
        ("samples", [], "samples: List should have at least 1 item"),
    ],
)
def test_malformed_is_422_with_one_line_and_writes_nothing(app_client, token, path, value,
                                                           reason) -> None:
    client, app = app_client
    res = client.post("/api/telemetry", json=_mutate(path, value), headers=auth(token))
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert reason in detail and "\n" not in detail
    assert counts(app) == NOTHING


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"", b"[]", b"null", raw(body()).replace(b"0.25", b"NaN"),
     raw(body()).replace(b"0.25", b"1e999")],
)
def test_unparseable_or_non_finite_is_422(app_client, token, content: bytes) -> None:
    client, app = app_client
    res = client.post("/api/telemetry", content=content, headers=auth(token))
    assert res.status_code == 422
    assert counts(app) == NOTHING


def test_too_many_samples_is_422(app_client, token) -> None:
    client, app = app_client
    small = body(1, 1)
    small["samples"] = small["samples"] * (MAX_SAMPLES_PER_BATCH + 1)
    assert len(json.dumps(small)) < MAX_BODY_BYTES  # the count, not the size, is wrong
    res = client.post("/api/telemetry", json=small, headers=auth(token))
    assert res.status_code == 422
    assert "at most 5000" in res.json()["detail"]
    assert counts(app) == NOTHING


def test_a_bad_token_with_a_malformed_body_is_401_not_422(app_client, token) -> None:
    client, _ = app_client
    res = client.post("/api/telemetry", content=b"{not json",
                      headers=auth("B" * 43))
    assert res.status_code == 401


def test_x_forwarded_for_is_not_trusted(app_client, token) -> None:
    client, app = app_client
    headers = {**auth(token), "x-forwarded-for": "203.0.113.9"}
    assert client.post("/api/telemetry", json=body(), headers=headers).status_code == 200
    with app.state.store.session() as s:
        assert s.scalars(select(Device.address)).one() != "203.0.113.9"
