"""Enrolment across a real L2 link: a network namespace behind a bridge of our own.

The device side is the unpacked agent bundle (pure-Python zeroconf) run with `-S -I` in the
namespace `efdisc-a` (10.219.0.2), announcing on whatever LAN address it finds; the
controller is `edgefleet controller serve` on the bridge `efdisc0` (10.219.0.1) with
discovery on that interface only. Needs root (skipped otherwise); removes what it made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from controller.agents import bundle
from controller.config import PROJECT_DIR
from tests.conftest import wait_for
from tests.processes import stop_processes
from tests.unit.discovery.conftest import controller_up, free_port

BRIDGE, NETNS, VETH = "efdisc0", "efdisc-a", "efdisc-a0"
CONTROLLER, DEVICE = "10.219.0.1", "10.219.0.2"
ADMIN = {"Authorization": "Bearer admin-token-admin-token"}

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2")


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=30)


def _teardown() -> None:
    _ip("netns", "del", NETNS, check=False)  # takes its end of the veth pair with it
    _ip("link", "del", VETH, check=False)
    _ip("link", "del", BRIDGE, check=False)


@pytest.fixture
def link() -> Iterator[None]:
    _teardown()  # leftovers of a killed run
    try:
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{CONTROLLER}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        _ip("netns", "add", NETNS)
        _ip("link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS)
        _ip("link", "set", VETH, "master", BRIDGE)
        _ip("link", "set", VETH, "up")
        _ip("netns", "exec", NETNS, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", NETNS, "ip", "addr", "add", f"{DEVICE}/24", "dev", "eth0")
        _ip("netns", "exec", NETNS, "ip", "link", "set", "eth0", "up")
        yield
    finally:
        _teardown()


def test_a_bundled_agent_in_a_namespace_enrols_over_the_bridge(
    link: None, tmp_path: Path,
) -> None:
    with tarfile.open(bundle.build(tmp_path / "bundle")) as tar:
        tar.extractall(tmp_path / "device", filter="data")
    inventory = tmp_path / "hosts.yml"
    shutil.copy(PROJECT_DIR / "inventory" / "hosts.yml", inventory)
    port = free_port()
    url = f"http://{CONTROLLER}:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEFLEET_")}
    env.update(EDGEFLEET_HOME=str(tmp_path / "home"),
               EDGEFLEET_API_TOKEN="admin-token-admin-token",
               EDGEFLEET_DISCOVERY="1", EDGEFLEET_DISCOVERY_INTERFACES=CONTROLLER,
               EDGEFLEET_DISCOVERY_REFRESH="1")
    logs = {name: tmp_path / f"{name}.log" for name in ("server", "agent")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "edgefleet"), "controller", "serve", "--host",
         CONTROLLER, "--port", str(port), "-i", str(inventory)],
        env=env, stdout=subprocess.DEVNULL, stderr=logs["server"].open("w"))
    lib, state = tmp_path / "device" / "lib", tmp_path / "state"
    agent_main = (f"import sys; sys.path.insert(0, {str(lib)!r}); from agent.cli import main; "
                  f"sys.exit(main(sys.argv[1:]))")
    agent = None
    try:
        with httpx.Client(base_url=url, headers=ADMIN, timeout=5) as api:
            wait_for(lambda: controller_up(api), timeout=30)
            agent = subprocess.Popen(
                ["ip", "netns", "exec", NETNS, sys.executable, "-S", "-I", "-c", agent_main,
                 "run", "--controller", url, "--enrol", "--spool", str(state / "spool.db"),
                 "--metrics-port", "9101", "--interval", "0.5", "--push-interval", "0.5"],
                env=env, stdout=subprocess.DEVNULL, stderr=logs["agent"].open("w"))

            def pending() -> list[dict]:
                return api.get("/api/discovery", params={"status": "pending"}).json()

            wait_for(pending, timeout=30)
            [row] = pending()
            assert (row["address"], row["addresses"], row["metrics_port"]) == (
                DEVICE, [DEVICE], 9101)
            res = api.post(f"/api/discovery/{row['device_id']}/approve", json={"alias": "pi-ns"})
            assert res.status_code == 200, res.text
            wait_for(lambda: api.get("/api/devices/pi-ns").json().get("online"), timeout=30)
            device = api.get("/api/devices/pi-ns").json()
            assert (device["id"], device["address"]) == (row["device_id"], DEVICE)
    finally:
        stop_processes(agent, server)
    assert agent is not None and agent.returncode == 0, logs["agent"].read_text()[-3000:]
    hosts = yaml.safe_load(inventory.read_text())["all"]["children"][res.json()["group"]]
    assert hosts["hosts"]["pi-ns"] == {"ansible_host": DEVICE,
                                       "edgefleet_device_id": row["device_id"]}
