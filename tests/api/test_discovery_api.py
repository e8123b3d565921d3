"""The discovery API over the real app, then the whole enrolment with real processes.

Queue entries are recorded through the registry the browser feeds (the browser itself is
tested on real mDNS in tests/unit/discovery); the last test runs `edgefleet controller
serve` and `python -m agent run --enrol` and lets them find each other over mDNS.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from controller.api.app import create_app
from controller.config import PROJECT_DIR, Settings
from controller.telemetry import tokens
from tests.clock import Clock
from tests.conftest import wait_for
from tests.processes import stop_processes
from tests.unit.discovery.conftest import (
    SECRET,
    announcement,
    controller_up,
    free_port,
)
from tests.unit.telemetry.payloads import body as push_body

ADMIN = {"Authorization": "Bearer admin-token-admin-token"}
DEV = "2f1c6a52-7c59-5f0e-9d8e-6b1b7f1e0a01"


@pytest.fixture
def inventory_yml(tmp_path: Path) -> Path:
    dest = tmp_path / "inv" / "hosts.yml"
    dest.parent.mkdir()
    shutil.copy(PROJECT_DIR / "inventory" / "hosts.yml", dest)
    return dest


@pytest.fixture
def client(settings: Settings, inventory_yml: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("EDGEFLEET_DISCOVERY", raising=False)  # no browser: records by hand
    app = create_app(dataclasses.replace(settings, inventory=inventory_yml),
                     api_token="admin-token-admin-token")
    app.state.telemetry.clock = app.state.discovery.registry.clock = Clock()
    with TestClient(app, base_url="http://localhost") as c:
        c.app.state.discovery.registry.record(announcement(), "192.0.2.41")
        yield c


def _claim(c: TestClient, secret: str = SECRET, device_id: str = DEV) -> httpx.Response:
    return c.post("/api/discovery/claim", json={"device_id": device_id, "claim_secret": secret})


def test_the_queue_needs_the_admin_token_the_claim_does_not(client: TestClient) -> None:
    for method, path in (("GET", "/api/discovery"), ("GET", f"/api/discovery/{DEV}"),
                         ("POST", f"/api/discovery/{DEV}/approve"),
                         ("POST", f"/api/discovery/{DEV}/reject")):
        assert client.request(method, path).status_code == 401, path
    assert _claim(client).status_code == 202
    assert client.get(f"/api/discovery/{DEV}", headers=ADMIN).json()["status"] == "pending"


def test_approve_then_claim_delivers_a_working_token_exactly_once(
    client: TestClient, inventory_yml: Path,
) -> None:
    [row] = client.get("/api/discovery", params={"status": "pending"}, headers=ADMIN).json()
    assert (row["device_id"], row["address"], row["hostname"]) == (DEV, "192.0.2.41",
                                                                   "pi-kitchen")
    assert _claim(client).json() == {"status": "pending"}
    res = client.post(f"/api/discovery/{DEV}/approve", headers=ADMIN)
    assert res.status_code == 200, res.text
    assert (res.json()["status"], res.json()["alias"], res.json()["group"]) == (
        "approved", "pi-kitchen", "rpi")
    assert res.json()["decided_by"] == "api:testclient"
    hosts = yaml.safe_load(inventory_yml.read_text())["all"]["children"]["rpi"]["hosts"]
    assert hosts["pi-kitchen"]["ansible_host"] == "192.0.2.41"

    first = _claim(client)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    token = first.json()["token"]
    assert first.json()["name"] == "pi-kitchen"
    again = _claim(client)
    assert again.status_code == 409 and "already delivered" in again.json()["detail"]
    assert token not in again.text

    # The token is a real device token: the telemetry pipeline accepts it.
    push = client.post("/api/telemetry", json=push_body(device_id=DEV, hostname="pi-kitchen"),
                       headers={"Authorization": f"Bearer {token}"})
    assert push.status_code == 200, push.text
    device = client.get("/api/devices/pi-kitchen", headers=ADMIN).json()
    assert device["id"] == DEV
    assert client.get(f"/api/discovery/{DEV}", headers=ADMIN).json()["token_delivered"] is True


def test_reject_makes_the_claim_forbidden(client: TestClient) -> None:
    res = client.post(f"/api/discovery/{DEV}/reject", headers=ADMIN)
    assert res.status_code == 200 and res.json()["status"] == "rejected"
    assert _claim(client).status_code == 403
    assert [r["device_id"] for r in client.get(
        "/api/discovery", params={"status": "rejected"}, headers=ADMIN).json()] == [DEV]
    assert client.get("/api/discovery", params={"status": "pending"}, headers=ADMIN).json() == []


def test_claim_errors_say_why(client: TestClient) -> None:
    assert _claim(client, device_id="someone-else").status_code == 404
    wrong = _claim(client, secret="w" * 43)
    assert wrong.status_code == 401 and "does not match" in wrong.json()["detail"]
    bad = client.post("/api/discovery/claim", json={"device_id": DEV, "claim_secret": "short"})
    assert bad.status_code == 422 and "claim_secret" in bad.json()["detail"]
    assert client.post("/api/discovery/claim", content=b"{" * 5000).status_code == 413
    extra = client.post("/api/discovery/claim",
                        json={"device_id": DEV, "claim_secret": SECRET, "admin": True})
    assert extra.status_code == 422


def test_approve_conflicts_and_alias_override(client: TestClient, inventory_yml: Path) -> None:
    registry = client.app.state.discovery.registry
    other = "6b0e3a10-0000-5000-8000-000000000001"
    registry.record(announcement(device_id=other, hostname="rpi-001"), "192.0.2.42")
    res = client.post(f"/api/discovery/{other}/approve", headers=ADMIN)
    assert res.status_code == 409 and "already exists with address 192.0.2.11" in res.text
    res = client.post(f"/api/discovery/{other}/approve", headers=ADMIN, json={"alias": "rpi-042"})
    assert res.status_code == 200 and res.json()["alias"] == "rpi-042"
    bad = client.post(f"/api/discovery/{DEV}/approve", headers=ADMIN, json={"alias": "a b"})
    assert bad.status_code == 422
    assert client.post("/api/discovery/nope/approve", headers=ADMIN).status_code == 404
    assert client.get("/api/discovery", params={"status": "bogus"},
                      headers=ADMIN).status_code == 422


# ---- end to end: a controller process, an agent process, mDNS on loopback --------------------
def test_an_agent_enrols_over_mdns_and_streams_once_approved(
    tmp_path: Path, inventory_yml: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEFLEET_")}
    env.update(EDGEFLEET_HOME=str(tmp_path / "home"),
               EDGEFLEET_API_TOKEN="admin-token-admin-token",
               EDGEFLEET_DISCOVERY="1", EDGEFLEET_DISCOVERY_INTERFACES="127.0.0.1",
               EDGEFLEET_DISCOVERY_REFRESH="1")
    edgefleet = str(Path(sys.executable).parent / "edgefleet")
    logs = {name: tmp_path / f"{name}.log" for name in ("server", "agent")}
    server = subprocess.Popen([edgefleet, "controller", "serve", "--port", str(port),
                               "-i", str(inventory_yml)], env=env,
                              stdout=subprocess.DEVNULL, stderr=logs["server"].open("w"))
    state = tmp_path / "agent"
    agent = None
    try:
        with httpx.Client(base_url=url, headers=ADMIN, timeout=5) as api:
            wait_for(lambda: controller_up(api), timeout=30)
            agent = subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "--controller", url, "--enrol",
                 "--announce-address", "127.0.0.1", "--spool", str(state / "spool.db"),
                 "--metrics-port", "0", "--interval", "0.5", "--push-interval", "0.5"],
                env=env, stdout=subprocess.DEVNULL, stderr=logs["agent"].open("w"))
            wait_for(lambda: _pending(api), timeout=30)
            [row] = _pending(api)
            assert row["address"] == "127.0.0.1"
            assert not (state / "device_token").exists()  # nothing joins without approval
            res = api.post(f"/api/discovery/{row['device_id']}/approve")
            assert res.status_code == 200, res.text
            alias = res.json()["alias"]
            wait_for(lambda: (state / "device_token").exists(), timeout=30)
            # Its first push with the token binds the device to the approved alias.
            wait_for(lambda: api.get(f"/api/devices/{alias}").json().get("id")
                     == row["device_id"], timeout=30)
            claim = api.post("/api/discovery/claim", json={
                "device_id": row["device_id"],
                "claim_secret": (state / "claim_secret").read_text().strip()})
            assert claim.status_code == 409  # delivered once, to the agent
        for name in ("device_token", "claim_secret"):
            assert (state / name).stat().st_mode & 0o777 == 0o600
        hosts = yaml.safe_load(inventory_yml.read_text())["all"]["children"]
        assert hosts[res.json()["group"]]["hosts"][alias]["ansible_host"] == "127.0.0.1"
    finally:
        stop_processes(agent, server)
    assert agent.returncode == 0, logs["agent"].read_text()[-3000:]
    assert server.returncode in (0, -signal.SIGTERM), logs["server"].read_text()[-3000:]
    # The controller kept only the token's hash: the token is nowhere in its database files.
    token = (state / "device_token").read_text().strip().encode()
    db_files = list((tmp_path / "home").glob("controller.db*"))
    assert db_files and not any(token in f.read_bytes() for f in db_files)
    assert any(tokens.hash_token(token.decode()).encode() in f.read_bytes() for f in db_files)


def _pending(api: httpx.Client) -> list[dict]:
    return api.get("/api/discovery", params={"status": "pending"}).json()
