"""The agent's side of enrolment against the real app served over HTTP (urllib needs a socket).

State files are checked for mode 0600; every answer of the claim endpoint is exercised.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from agent import discovery
from agent.discovery import ClaimStatus, EnrolmentError
from controller.api.app import create_app
from controller.config import Settings
from controller.discovery.registry import Registry
from tests.conftest import wait_for
from tests.unit.discovery.conftest import announcement, free_port

DEV = "2f1c6a52-7c59-5f0e-9d8e-6b1b7f1e0a01"
DEVICE = {"id": DEV, "hostname": "pi-kitchen", "arch": "arm64", "agent_version": "0.1.0"}


@pytest.fixture
def served(settings: Settings, yaml_inventory: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FastAPI]]:
    monkeypatch.delenv("EDGEFLEET_DISCOVERY", raising=False)
    app = create_app(dataclasses.replace(settings, inventory=yaml_inventory))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=20)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=20)


def _registry(app: FastAPI) -> Registry:
    return app.state.discovery.registry


def _announce(app: FastAPI, state: Path) -> None:
    """What the browser records when this device's announcement arrives."""
    _registry(app).record(announcement(secret=discovery.load_secret(state)), "192.0.2.41")


def test_the_claim_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    secret = discovery.load_secret(tmp_path / "state")
    assert discovery.load_secret(tmp_path / "state") == secret
    assert len(secret) >= 43
    assert (tmp_path / "state" / "claim_secret").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    os.chmod(tmp_path / "state" / "claim_secret", 0o644)
    with pytest.raises(EnrolmentError, match="readable by others"):
        discovery.load_secret(tmp_path / "state")


def test_each_claim_answer_is_classified(served: tuple[str, FastAPI], tmp_path: Path) -> None:
    url, app = served
    secret = discovery.load_secret(tmp_path)
    unknown = discovery.claim(url, DEV, secret)
    assert (unknown.status, unknown.detail) == (
        ClaimStatus.RETRY, f"HTTP 404: device {DEV} is not announced here (or its announcement "
        "expired)")
    _announce(app, tmp_path)
    assert discovery.claim(url, DEV, secret).status is ClaimStatus.PENDING
    wrong = discovery.claim(url, DEV, "w" * 43)
    assert wrong.status is ClaimStatus.RETRY and "HTTP 401" in wrong.detail
    _registry(app).approve(DEV, "test")
    issued = discovery.claim(url, DEV, secret)
    assert issued.status is ClaimStatus.ISSUED and issued.token
    again = discovery.claim(url, DEV, secret)
    assert again.status is ClaimStatus.RETRY and "already delivered" in again.detail
    down = discovery.claim(f"http://127.0.0.1:{free_port()}", DEV, secret)
    assert down.status is ClaimStatus.RETRY and "controller unreachable" in down.detail


def test_waiting_ends_with_the_stored_token_once_approved(
    served: tuple[str, FastAPI], tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    url, app = served
    _announce(app, tmp_path)
    got: list[str | None] = []
    waiter = threading.Thread(target=lambda: got.append(discovery.wait_for_token(
        url, DEV, tmp_path, threading.Event(), poll_s=0.1)))
    with caplog.at_level(logging.INFO, "edgefleet.agent.discovery"):
        waiter.start()
        wait_for(lambda: "waiting for an operator's approval" in caplog.text, timeout=10)
    assert not (tmp_path / "device_token").exists()  # pending: nothing issued
    _registry(app).approve(DEV, "test")
    waiter.join(timeout=20)
    [token] = got
    assert token and (tmp_path / "device_token").read_text().strip() == token
    assert (tmp_path / "device_token").stat().st_mode & 0o777 == 0o600


def test_a_rejection_ends_enrolment_and_a_stop_ends_the_wait(
    served: tuple[str, FastAPI], tmp_path: Path,
) -> None:
    url, app = served
    _announce(app, tmp_path)
    stop = threading.Event()
    stop.set()
    assert discovery.wait_for_token(url, DEV, tmp_path, stop) is None
    _registry(app).reject(DEV, "test")
    with pytest.raises(EnrolmentError, match="rejected this device"):
        discovery.wait_for_token(url, DEV, tmp_path, threading.Event(), poll_s=0.1)
    assert not (tmp_path / "device_token").exists()


def test_a_stored_token_is_used_without_asking_again(tmp_path: Path) -> None:
    discovery.write_private(tmp_path / "device_token", "t" * 43)
    token, announcer = discovery.start("http://127.0.0.1:9", DEVICE, 9101, tmp_path, "",
                                       threading.Event(), ["127.0.0.1"])
    try:
        assert token == "t" * 43
        assert announcer.registered.wait(15)
        assert announcer.txt["claim"] == discovery.claim_hash(discovery.load_secret(tmp_path))
    finally:
        announcer.close()
    assert not announcer.registered.is_set()  # unregistered (goodbye sent) on close
    with pytest.raises(EnrolmentError, match="announce address 'eth0' is not an IPv4 address"):
        discovery.start("http://127.0.0.1:9", DEVICE, 9101, tmp_path, "", threading.Event(),
                        ["eth0"])
