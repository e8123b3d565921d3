"""Real mDNS on the loopback interface: the agent's Announcer, the controller's Browser.

No mocks: both sides are python-zeroconf sockets on 127.0.0.1, the registry a real store.
Device ids are fresh per test, so other announcers on the host can't be mistaken for ours.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator

import pytest
from zeroconf import IPVersion, ServiceInfo, Zeroconf

from agent.discovery import SERVICE_TYPE, Announcer, claim_hash, instance_label
from controller.discovery.browser import Browser
from controller.discovery.registry import Registry
from controller.discovery.settings import DiscoverySettings
from controller.store import Store
from tests.conftest import wait_for

LOOPBACK = "127.0.0.1"


def _txt(device_id: str, hostname: str, arch: str = "arm64") -> dict[str, str]:
    return {"id": device_id, "arch": arch, "agent_version": "0.1.0", "hostname": hostname,
            "metrics_port": "9101", "claim": claim_hash("s" * 43)}


@pytest.fixture
def fast_registry(store: Store) -> Registry:
    return Registry(store, None, DiscoverySettings(expire_s=1.0, refresh_s=0.2))


@pytest.fixture
def browser(fast_registry: Registry) -> Iterator[Browser]:
    b = Browser(fast_registry, (LOOPBACK,), refresh_s=0.2)
    b.start()
    yield b
    b.stop()


def _row(registry: Registry, device_id: str) -> dict | None:
    return next((r for r in registry.list() if r["device_id"] == device_id), None)


def test_an_announced_device_is_recorded_pending_then_expires_after_goodbye(
    browser: Browser, fast_registry: Registry,
) -> None:
    device_id, host = str(uuid.uuid4()), f"t-{uuid.uuid4().hex[:8]}"
    announcer = Announcer(_txt(device_id, host), 9101, [LOOPBACK]).start()
    try:
        assert announcer.registered.wait(15)
        wait_for(lambda: _row(fast_registry, device_id) is not None, timeout=15)
        row = _row(fast_registry, device_id)
        assert row is not None
        assert (row["status"], row["hostname"], row["arch"], row["agent_version"]) == (
            "pending", host, "arm64", "0.1.0")
        assert (row["address"], row["addresses"], row["metrics_port"]) == (
            LOOPBACK, [LOOPBACK], 9101)
        assert row["instance"] == f"{instance_label(host, device_id)}.{SERVICE_TYPE}"
        seen = row["last_seen"]
        wait_for(lambda: (_row(fast_registry, device_id) or {}).get("last_seen", 0) > seen,
                 timeout=10)  # still announcing: refreshed
    finally:
        announcer.close()
    # Goodbye sent: it no longer resolves, so it expires (expire_s=1).
    wait_for(lambda: _row(fast_registry, device_id) is None, timeout=15)


def test_bad_announcements_are_ignored_with_one_log_line(
    browser: Browser, fast_registry: Registry, caplog: pytest.LogCaptureFixture,
) -> None:
    good_id, bad_id = str(uuid.uuid4()), str(uuid.uuid4())
    zc = Zeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)
    bad_host = f"bad-{bad_id[:8]}"
    bad = ServiceInfo(SERVICE_TYPE, f"{bad_host}.{SERVICE_TYPE}", port=9101,
                      properties=_txt(bad_id, bad_host, arch="x86_64"),
                      server=f"{bad_host}.local.", addresses=[socket.inet_aton(LOOPBACK)])
    good_host = f"good-{good_id[:8]}"
    good = ServiceInfo(SERVICE_TYPE, f"{good_host}.{SERVICE_TYPE}", port=9101,
                       properties=_txt(good_id, good_host), server=f"{good_host}.local.",
                       addresses=[socket.inet_aton(LOOPBACK)])
    with caplog.at_level(logging.WARNING, "edgefleet.discovery"):
        try:
            zc.register_service(bad)
            zc.register_service(good)
            wait_for(lambda: _row(fast_registry, good_id) is not None, timeout=15)
            wait_for(lambda: f"{bad_host}._edgefleet" in caplog.text, timeout=10)
            # Several refresh rounds later: still one line, and never recorded.
            before = len(fast_registry.list())
            wait_for(lambda: (_row(fast_registry, good_id) or {}).get("last_seen", 0)
                     > fast_registry.get(good_id)["first_seen"] + 0.5, timeout=10)
            assert _row(fast_registry, bad_id) is None
            assert len(fast_registry.list()) == before
        finally:
            zc.unregister_all_services()
            zc.close()
    lines = [r.getMessage() for r in caplog.records if bad_host in r.getMessage()]
    assert lines == [f"ignored announcement '{bad_host}.{SERVICE_TYPE}': TXT arch='x86_64' "
                     "is not one of amd64, arm, arm64"]


def test_other_service_types_are_never_browsed(
    browser: Browser, fast_registry: Registry,
) -> None:
    device_id = str(uuid.uuid4())
    zc = Zeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)
    host = f"ws-{device_id[:8]}"
    txt = _txt(device_id, host)
    workstation = ServiceInfo("_workstation._tcp.local.", f"{host}._workstation._tcp.local.",
                              port=9, properties=txt, server=f"{host}.local.",
                              addresses=[socket.inet_aton(LOOPBACK)])
    zc.register_service(workstation)  # returns once announced
    marker_id = str(uuid.uuid4())
    marker = Announcer(_txt(marker_id, f"m-{marker_id[:8]}"), 9101, [LOOPBACK]).start()
    try:
        wait_for(lambda: _row(fast_registry, marker_id) is not None, timeout=15)
        assert _row(fast_registry, device_id) is None
    finally:
        marker.close()
        zc.unregister_all_services()
        zc.close()


def test_devices_sharing_a_hostname_are_each_recorded(
    browser: Browser, fast_registry: Registry,
) -> None:
    """A LAN of Pis all called `raspberrypi`: each keeps its own instance and address record."""
    host = f"pi-{uuid.uuid4().hex[:8]}"
    ids = [str(uuid.uuid4()) for _ in range(2)]
    announcers = [Announcer(_txt(i, host), 9101, [LOOPBACK]).start() for i in ids]
    try:
        wait_for(lambda: all(_row(fast_registry, i) is not None for i in ids), timeout=20)
        rows = [_row(fast_registry, i) for i in ids]
        assert [r["hostname"] for r in rows if r] == [host, host]
        assert len({r["instance"] for r in rows if r}) == 2
    finally:
        for a in announcers:
            a.close()
