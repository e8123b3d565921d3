"""Discovery fixtures (a real store, a copy of the example YAML inventory, a registry) and
helpers for the tests that run a controller and an agent as processes."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.discovery import claim_hash
from controller.config import PROJECT_DIR, Settings
from controller.discovery.announcements import Announcement
from controller.discovery.registry import Registry
from controller.discovery.settings import DiscoverySettings
from controller.store import Store
from tests.clock import Clock

SECRET = "s" * 43  # the shape of secrets.token_urlsafe(32)


def announcement(device_id: str = "2f1c6a52-7c59-5f0e-9d8e-6b1b7f1e0a01",
                 hostname: str = "pi-kitchen", arch: str = "arm64",
                 addresses: tuple[str, ...] = ("10.219.0.2",),
                 secret: str = SECRET) -> Announcement:
    return Announcement(device_id=device_id, instance=f"{hostname}._edgefleet._tcp.local.",
                        hostname=hostname, arch=arch, agent_version="0.1.0", metrics_port=9101,
                        addresses=addresses, claim_hash=claim_hash(secret))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def controller_up(api: httpx.Client) -> bool:
    try:
        return api.get("/healthz").status_code == 200
    except httpx.TransportError:
        time.sleep(0.2)
        return False


@pytest.fixture
def yaml_inventory(tmp_path: Path) -> Path:
    """The repository's example inventory (comments and all), copied."""
    dest = tmp_path / "inventory" / "hosts.yml"
    dest.parent.mkdir()
    shutil.copy(PROJECT_DIR / "inventory" / "hosts.yml", dest)
    shutil.copytree(PROJECT_DIR / "inventory" / "group_vars", dest.parent / "group_vars")
    return dest


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store(settings.db_url)
    yield s
    s.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(store: Store, yaml_inventory: Path, clock: Clock) -> Registry:
    """The queue on a pinned clock (T0): expiry never races the suite's running time."""
    return Registry(store, yaml_inventory, DiscoverySettings(expire_s=600, max_pending=3),
                    clock=clock)


@pytest.fixture
def discovery_settings(settings: Settings, yaml_inventory: Path) -> Settings:
    return dataclasses.replace(settings, inventory=yaml_inventory)
