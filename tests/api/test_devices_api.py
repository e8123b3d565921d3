"""GET /api/devices[/{id}[/metrics]]: registry, heartbeat age, Ansible join, series reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from controller.api.app import create_app
from controller.config import Settings
from controller.store import Host
from controller.store.telemetry import Rollup1m
from controller.telemetry import tokens
from tests.clock import T0, Clock
from tests.conftest import wait_for
from tests.unit.telemetry.payloads import DEVICE_ID, body

# Each test runs on SQLite and on a real PostgreSQL server.
pytestmark = pytest.mark.backends


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    app = create_app(settings)
    app.state.telemetry.clock = Clock(T0)
    with TestClient(app, base_url="http://localhost") as c:
        app.state.client = c
        yield app


def push(app: Any, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    res = app.state.client.post("/api/telemetry", json=payload,
                                headers={"authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text
    return res.json()


def test_online_then_offline_by_heartbeat_age(app) -> None:
    c, clock = app.state.client, app.state.telemetry.clock
    token = tokens.create(app.state.store, "rpi-01")
    [never] = c.get("/api/devices").json()
    assert (never["name"], never["status"], never["online"], never["id"]) == (
        "rpi-01", "never_seen", False, None)
    push(app, token, body(1, 3, ts=T0 - 3, dropped=5))
    clock.t = T0 + 10
    [dev] = c.get("/api/devices").json()
    assert (dev["id"], dev["status"], dev["online"], dev["heartbeat_age_s"]) == (
        DEVICE_ID, "online", True, 10.0)
    assert (dev["arch"], dev["hostname"], dev["agent_version"], dev["dropped_total"]) == (
        "arm64", "rpi-01", "0.1.0", 5)
    assert dev["latest"] == [{"name": "cpu_usage_ratio", "labels": {"cpu": "total"},
                              "value": 2.25, "unit": "ratio", "source": "procfs",
                              "ts": T0 - 1}]
    clock.t = T0 + 16  # default threshold: 15 s
    assert c.get(f"/api/devices/{DEVICE_ID}").json()["status"] == "offline"
    push(app, token, body(4, 1, ts=T0 + 15))
    assert c.get("/api/devices/rpi-01").json()["online"] is True


def test_no_secret_ever_leaves_the_api(app) -> None:
    c = app.state.client
    token = tokens.create(app.state.store, "rpi-01")
    push(app, token, body(ts=T0 - 3))
    text = c.get("/api/devices").text + c.get("/api/devices/rpi-01").text
    assert token not in text
    assert tokens.hash_token(token) not in text
    assert "token_hash" not in text
    assert c.get("/api/devices/rpi-01").json()["has_token"] is True


def test_devices_are_joined_with_the_ansible_host_view(app) -> None:
    c = app.state.client
    with app.state.store.session() as s:
        s.add(Host(name="rpi-01", address="10.0.0.5", groups=["rpi"], facts={"arch": "arm64"},
                   results={"ping": {"status": "ok"}}, last_status="ok", last_job_id="j1"))
        s.add(Host(name="gpu-01", address="10.0.0.6", groups=["gpu"], last_status="ok"))
    push(app, tokens.create(app.state.store, "rpi-01"), body(ts=T0 - 3))
    devices = {d["name"]: d for d in c.get("/api/devices").json()}
    assert devices["rpi-01"]["ansible"]["results"] == {"ping": {"status": "ok"}}
    assert "facts" not in devices["rpi-01"]["ansible"]
    assert devices["gpu-01"]["status"] == "never_seen"
    assert devices["gpu-01"]["ansible"]["groups"] == ["gpu"]
    full = c.get("/api/devices/rpi-01").json()
    assert full["ansible"]["facts"] == {"arch": "arm64"}


def test_unknown_device_is_404(app) -> None:
    c = app.state.client
    assert c.get("/api/devices/nosuch").status_code == 404
    res = c.get("/api/devices/nosuch/metrics", params={"name": "cpu_usage_ratio"})
    assert res.status_code == 404


def test_metrics_with_step_min_max_avg_and_labels(app) -> None:
    c, clock = app.state.client, app.state.telemetry.clock
    token = tokens.create(app.state.store, "rpi-01")
    # 120 samples, one a second, values 0..119, two label sets interleaved by seq.
    push(app, token, body(1, 120, ts=T0 - 120, value=0.0))
    push(app, token, body(121, 60, ts=T0 - 60, labels={"cpu": "0"}, value=1000.0))
    clock.t = T0
    res = c.get("/api/devices/rpi-01/metrics",
                params={"name": "cpu_usage_ratio", "since": "120", "step": 60,
                        "labels": "cpu=total"})
    out = res.json()
    assert out["resolution"] == "raw" and out["columns"] == ["ts", "avg", "min", "max", "count"]
    [series] = out["series"]
    assert series["labels"] == {"cpu": "total"}
    points = series["points"]
    assert sum(p[4] for p in points) == 120
    first = points[0]
    assert first[0] % 60 == 0 and first[2] == 0.0
    assert max(p[3] for p in points) == 119.0
    both = c.get("/api/devices/rpi-01/metrics",
                 params={"name": "cpu_usage_ratio", "since": T0 - 300, "step": 300}).json()
    assert sorted(json.dumps(s["labels"]) for s in both["series"]) == [
        '{"cpu": "0"}', '{"cpu": "total"}']
    assert c.get("/api/devices/rpi-01/metrics",
                 params={"name": "nosuch_metric"}).json()["series"] == []


def test_metrics_come_from_rollups_for_long_ranges(app) -> None:
    c, clock = app.state.client, app.state.telemetry.clock
    push(app, tokens.create(app.state.store, "rpi-01"), body(1, 90, ts=T0 - 7200, value=1.0))
    app.state.telemetry.maintain(T0 - 100)
    app.state.telemetry.maintain(T0)  # settled: rolled up
    clock.t = T0 + 40 * 86400  # raw and 1m retention passed; 1h remains
    app.state.telemetry.maintain(clock.t)
    out = c.get("/api/devices/rpi-01/metrics",
                params={"name": "cpu_usage_ratio", "since": "45d", "step": 3600}).json()
    assert out["resolution"] == "1h"
    [[ts, avg, low, high, count]] = out["series"][0]["points"]
    assert (count, low, high) == (90, 1.0, 90.0)
    assert avg == pytest.approx(45.5)
    assert ts == int(T0 - 7200) // 3600 * 3600


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"name": "cpu_usage_ratio", "since": "yesterday"}, "is not a time"),
        ({"name": "cpu_usage_ratio", "since": "10", "until": "20"}, "since must be before"),
        ({"name": "cpu_usage_ratio", "since": "30d", "step": 1}, "more than 20000 points"),
        ({"name": "cpu_usage_ratio", "step": 0}, "step"),
        ({"name": "CPU"}, "name"),
        ({"name": "cpu_usage_ratio", "labels": "cpu"}, "not key=value"),
        ({}, "name"),
    ],
)
def test_bad_metric_queries_are_422(app, params: dict[str, Any], reason: str) -> None:
    c = app.state.client
    push(app, tokens.create(app.state.store, "rpi-01"), body(ts=T0 - 3))
    res = c.get("/api/devices/rpi-01/metrics", params=params)
    assert res.status_code == 422
    assert reason in res.json()["detail"]


def test_read_endpoints_need_the_admin_token(tmp_path: Path, settings: Settings) -> None:
    app = create_app(settings, api_token="admin-secret-token-admin-secret-token")
    with TestClient(app, base_url="http://localhost") as c:
        assert c.get("/api/devices").status_code == 401
        assert c.get("/api/devices/x/metrics", params={"name": "a"}).status_code == 401
        ok = c.get("/api/devices", headers={
            "authorization": "Bearer admin-secret-token-admin-secret-token"})
        assert ok.status_code == 200


def test_the_server_rolls_up_on_its_own(settings: Settings) -> None:
    quick = replace(settings.telemetry, maintenance_interval_s=0.1, rollup_settle_s=0.0)
    app = create_app(replace(settings, telemetry=quick))
    app.state.telemetry.clock = Clock()
    with TestClient(app, base_url="http://localhost") as c:
        token = tokens.create(app.state.store, "rpi-01")
        res = c.post("/api/telemetry", json=body(1, 30),
                     headers={"authorization": f"Bearer {token}"})
        assert res.status_code == 200

        def rolled_up() -> int:
            with app.state.store.session() as s:
                return s.scalar(select(func.sum(Rollup1m.count))) or 0

        wait_for(lambda: rolled_up() == 30, timeout=10)
