"""Issue 14's ingest findings, each over real server code: stalled and unauthenticated
uploads (a real `edgefleet controller serve` on loopback, raw sockets), per-device series and
label limits, a device list that does not grow with series, and bounded query numbers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from agent.transport import Outcome, Transport
from controller.api.app import create_app
from controller.config import Settings
from controller.store import Store
from controller.store.telemetry import DeviceToken, Sample, Series
from controller.telemetry import tokens
from controller.telemetry.registry import MAX_LATEST_LISTED
from tests.browser.conftest import LocalController, local_controller
from tests.clock import T0, Clock
from tests.conftest import wait_for
from tests.unit.telemetry.payloads import body, raw

BODY_TIMEOUT_S = 2.0
SERVER_SERIES_LIMIT = 50


def with_series(payload: dict[str, Any], labels: list[dict[str, str]]) -> dict[str, Any]:
    """`payload` with sample i labelled labels[i]: one series per distinct label set."""
    for sample, lbl in zip(payload["samples"], labels, strict=True):
        sample["labels"] = lbl
    return payload


def cores(*numbers: int) -> list[dict[str, str]]:
    return [{"cpu": str(n)} for n in numbers]


def outcome_count(metrics_text: str, outcome: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if (sample.name == "edgefleet_telemetry_pushes_total"
                    and sample.labels.get("outcome") == outcome):
                return sample.value
    raise AssertionError(f"no edgefleet_telemetry_pushes_total{{outcome={outcome!r}}}")


# --- a real server on loopback: stalled, unauthenticated and aborted uploads ---------------


@pytest.fixture(scope="module")
def server(project: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[LocalController, str]]:
    """`edgefleet controller serve` with a 2 s body deadline; yields it and a device token."""
    home = tmp_path_factory.mktemp("hardening-home")
    store = Store(f"sqlite:///{home / 'controller.db'}")
    device_token = tokens.create(store, "rpi-01")
    store.dispose()
    ctl = local_controller(project, home, EDGEFLEET_TELEMETRY_BODY_TIMEOUT=str(BODY_TIMEOUT_S),
                           EDGEFLEET_TELEMETRY_MAX_SERIES_PER_DEVICE=str(SERVER_SERIES_LIMIT))
    ctl.start()
    try:
        yield ctl, device_token
    finally:
        ctl.stop()


def exchange(ctl: LocalController, authorization: str | None, declared: int, sent: bytes,
             wait_s: float = 8.0) -> tuple[bytes, float, bool]:
    """Send a push's headers and the first bytes of its body, then stall; read until the
    server closes. Returns (what came back, seconds it took, whether the server closed)."""
    head = (f"POST /api/telemetry HTTP/1.1\r\nHost: {ctl.host}:{ctl.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n")
    if authorization:
        head += f"Authorization: {authorization}\r\n"
    with socket.create_connection((ctl.host, ctl.port), timeout=wait_s) as s:
        start = time.monotonic()
        s.sendall(head.encode() + b"\r\n" + sent)
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except TimeoutError:
            return data, time.monotonic() - start, False
        return data, time.monotonic() - start, True


def server_metrics(ctl: LocalController) -> str:
    res = httpx.get(f"{ctl.url}/metrics", headers={"authorization": f"Bearer {ctl.read_token}"})
    assert res.status_code == 200, res.text
    return res.text


@pytest.mark.parametrize("authorization", [None, "Bearer " + "A" * 43, "Basic dXNlcjpwdw=="])
def test_an_upload_without_a_valid_token_is_401_before_its_body(server, authorization) -> None:
    ctl, _ = server
    before = outcome_count(server_metrics(ctl), "unauthorized")
    answer, took, closed = exchange(ctl, authorization, 1_000_000, b"")
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"connection: close" in answer.lower()
    assert closed and took < BODY_TIMEOUT_S  # at once: it waited for no body
    assert outcome_count(server_metrics(ctl), "unauthorized") == before + 1


def test_a_stalled_body_is_408_within_the_deadline_and_counted(server) -> None:
    ctl, device_token = server
    before = outcome_count(server_metrics(ctl), "timeout")
    answer, took, closed = exchange(ctl, f"Bearer {device_token}", 5000, b'{"protocol": 1')
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"not received within 2 s" in answer
    assert closed and BODY_TIMEOUT_S * 0.9 <= took < BODY_TIMEOUT_S + 4
    assert outcome_count(server_metrics(ctl), "timeout") == before + 1


def test_an_aborted_upload_is_counted_and_logs_no_traceback(server) -> None:
    ctl, device_token = server
    before = outcome_count(server_metrics(ctl), "aborted")
    head = (f"POST /api/telemetry HTTP/1.1\r\nHost: {ctl.host}:{ctl.port}\r\n"
            f"Authorization: Bearer {device_token}\r\nContent-Length: 5000\r\n\r\n")
    for _ in range(3):
        with socket.create_connection((ctl.host, ctl.port), timeout=5) as s:
            s.sendall(head.encode() + b'{"protocol": 1')
            time.sleep(0.2)  # the server is reading the body when the client goes
    wait_for(lambda: outcome_count(server_metrics(ctl), "aborted") == before + 3, timeout=10)
    log = (ctl.home / "server.log").read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log


def test_metrics_need_the_admin_api_token(server) -> None:
    ctl, device_token = server
    assert httpx.get(f"{ctl.url}/metrics").status_code == 401
    res = httpx.get(f"{ctl.url}/metrics", headers={"authorization": f"Bearer {device_token}"})
    assert res.status_code == 401


def test_the_agent_drops_a_batch_over_the_series_limit(server) -> None:
    """A 422 is final for the agent's transport (it drops the batch, never retries it)."""
    ctl, device_token = server
    over = SERVER_SERIES_LIMIT + 1
    payload = with_series(body(1, over), cores(*range(over)))
    transport = Transport(ctl.url, device_token)
    try:
        result = transport.push(raw(payload))
    finally:
        transport.close()
    assert (result.outcome, result.status) == (Outcome.REJECTED, 422)
    assert f"limit of {SERVER_SERIES_LIMIT}" in result.detail
    assert outcome_count(server_metrics(ctl), "series_limit") >= 1


# --- limits and reads over the app and both store backends --------------------------------

LIMIT = 5


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    limited = replace(settings.telemetry, max_series_per_device=LIMIT)
    app = create_app(replace(settings, telemetry=limited))
    app.state.telemetry.clock = Clock(T0)
    with TestClient(app, base_url="http://localhost") as c:
        app.state.client = c
        yield app


def post(app: Any, token: str, payload: dict[str, Any]) -> httpx.Response:
    return app.state.client.post("/api/telemetry", json=payload,
                                 headers={"authorization": f"Bearer {token}"})


def stored(app: Any) -> tuple[int, int]:
    with app.state.store.session() as s:
        return (s.scalar(select(func.count()).select_from(Sample)) or 0,
                s.scalar(select(func.count()).select_from(Series)) or 0)


@pytest.mark.backends
def test_a_batch_past_the_series_limit_is_refused_whole(app) -> None:
    token = tokens.create(app.state.store, "rpi-01")
    assert post(app, token, with_series(body(1, 5), cores(0, 1, 2, 3, 4))).status_code == 200
    # Two known series and two new ones: 7 > 5, so none of its four samples is stored.
    res = post(app, token, with_series(body(6, 4), cores(0, 1, 5, 6)))
    assert res.status_code == 422
    detail = res.json()["detail"]
    assert "limit of 5 per device" in detail and "MAX_SERIES_PER_DEVICE" in detail
    assert "\n" not in detail
    assert stored(app) == (5, 5)
    # Known series go on being stored, from the seq the refused batch did not advance.
    assert post(app, token, with_series(body(6, 3), cores(2, 3, 4))).json() == {
        "accepted": 3, "duplicates": 0}
    assert stored(app) == (8, 5)
    text = app.state.client.get("/metrics").text
    assert outcome_count(text, "series_limit") == 1
    assert outcome_count(text, "stored") == 2


@pytest.mark.backends
def test_a_new_device_over_the_limit_writes_nothing(app) -> None:
    token = tokens.create(app.state.store, "rpi-01")
    assert post(app, token, with_series(body(1, 6), cores(*range(6)))).status_code == 422
    assert stored(app) == (0, 0)
    with app.state.store.session() as s:
        assert s.get(DeviceToken, "rpi-01").device_id is None  # not even bound
    assert app.state.client.get("/api/devices").json()[0]["status"] == "never_seen"


@pytest.mark.backends
def test_the_limit_is_per_device(app) -> None:
    for n, name in enumerate(("rpi-01", "rpi-02")):
        token = tokens.create(app.state.store, name)
        payload = with_series(body(1, 5, device_id=f"{n:032x}"), cores(*range(5)))
        assert post(app, token, payload).status_code == 200
    assert stored(app) == (10, 10)


@pytest.mark.backends
def test_a_label_past_its_limits_is_422_and_counted(app) -> None:
    token = tokens.create(app.state.store, "rpi-01")
    res = post(app, token, body(1, 2, labels={f"k{i}": "v" for i in range(9)}))
    assert res.status_code == 422
    assert "label limits: at most 8 labels" in res.json()["detail"]
    res = post(app, token, body(1, 2, labels={"k" * 65: "v"}))
    assert res.status_code == 422
    assert outcome_count(app.state.client.get("/metrics").text, "label_limit") == 2
    assert stored(app) == (0, 0)


@pytest.mark.backends
def test_the_device_list_shows_a_bounded_number_of_series(settings: Settings) -> None:
    """A device with many key series lists MAX_LATEST_LISTED of them; its own view has all."""
    roomy = replace(settings.telemetry, max_series_per_device=1000)
    app = create_app(replace(settings, telemetry=roomy))
    app.state.telemetry.clock = Clock(T0)
    many = MAX_LATEST_LISTED + 100
    with TestClient(app, base_url="http://localhost") as c:
        app.state.client = c
        busy = tokens.create(app.state.store, "busy")
        assert post(app, busy, with_series(body(1, many), cores(*range(many)))).status_code == 200
        assert post(app, busy, body(many + 1, 3, name="not_a_key_metric")).status_code == 200
        calm = tokens.create(app.state.store, "calm")
        assert post(app, calm, with_series(body(1, 2, device_id="c" * 32),
                                           [{"cpu": "total"}, {"cpu": "0"}])).status_code == 200
        listed = {d["name"]: d["latest"] for d in c.get("/api/devices").json()}
        assert len(listed["busy"]) == MAX_LATEST_LISTED
        assert {s["name"] for s in listed["busy"]} == {"cpu_usage_ratio"}
        assert sorted(s["labels"]["cpu"] for s in listed["calm"]) == ["0", "total"]
        assert len(c.get("/api/devices/busy").json()["latest"]) == many + 1


@pytest.mark.backends
@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"step": "9" * 30}, "step"),
        ({"step": "1e20"}, "step"),
        ({"step": 10 * 366 * 86400 + 1}, "less than or equal to"),
        ({"until": "1" + "0" * 21}, "out of range"),
        ({"until": "9" * 400}, "out of range"),
        ({"since": "9" * 400}, "out of range"),
        ({"since": "30000000000d"}, "out of range"),
        ({"since": "0001-01-01T00:00:00"}, "out of range"),
    ],
)
def test_out_of_range_query_numbers_are_422_in_one_line(app, params, reason) -> None:
    token = tokens.create(app.state.store, "rpi-01")
    assert post(app, token, body()).status_code == 200
    res = app.state.client.get("/api/devices/rpi-01/metrics",
                               params={"name": "cpu_usage_ratio", **params})
    assert res.status_code == 422, res.text
    detail = res.json()["detail"]
    assert reason in detail and "\n" not in detail and len(detail) < 200


@pytest.mark.backends
def test_the_widest_sane_query_is_answered(app) -> None:
    token = tokens.create(app.state.store, "rpi-01")
    assert post(app, token, body()).status_code == 200
    res = app.state.client.get("/api/devices/rpi-01/metrics", params={
        "name": "cpu_usage_ratio", "since": "1970-01-01T00:00:00Z",
        "until": "9999-12-31T23:59:59Z"})
    assert res.status_code == 200, res.text
    assert (res.json()["resolution"], len(res.json()["series"])) == ("1h", 1)
