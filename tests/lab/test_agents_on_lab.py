"""Agents installed on the lab fleet stream to the controller: online, offline, and no loss.

Order matters within this module (it shares one fleet of agents): install, online, scrape,
then the controller crash, then stopping an agent.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.lab.conftest import VENV_BIN, Controller, Lab, ansible_playbook

pytestmark = pytest.mark.lab


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def devices(controller: Controller) -> dict[str, dict]:
    with controller.client() as c:
        res = c.get("/api/devices")
        assert res.status_code == 200, res.text
        return {d["name"]: d for d in res.json()}


@pytest.fixture(scope="module")
def agents(lab: Lab, controller: Controller) -> Lab:
    """`edgefleet agent install` through the controller's CLI: tokens, bundle, playbook."""
    env = controller.env()
    res = subprocess.run(
        [str(VENV_BIN / "edgefleet"), "agent", "install", "--inventory", str(lab.inventory),
         "--controller-url", controller.url, "--json"],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return lab


def test_agents_show_up_online_within_seconds(agents: Lab, controller: Controller) -> None:
    eventually(lambda: all(devices(controller).get(n, {}).get("online") for n in agents.hosts),
               30, "every lab host online")
    found = devices(controller)
    for name in agents.hosts:
        d = found[name]
        assert d["arch"] == ("arm64" if name.startswith("rpi") else "amd64")
        assert d["agent_version"]
        # joined with the Ansible view of the same host
        assert d["host"]["groups"] == [name.split("-")[0]]


def test_series_reach_the_store(agents: Lab, controller: Controller) -> None:
    device_id = devices(controller)["gpu-01"]["id"]
    with controller.client() as c:
        def has_cpu() -> bool:
            res = c.get(f"/api/devices/{device_id}/metrics",
                        params={"name": "cpu_usage_ratio", "since": "120"})
            return res.status_code == 200 and any(res.json().get("points", []))
        eventually(has_cpu, 20, "cpu series for gpu-01")


def test_agent_metrics_endpoint_passes_promtool(agents: Lab, tmp_path: Path) -> None:
    for name in ("rpi-01", "gpu-01"):
        text = httpx.get(f"http://{agents.address(name)}:9101/metrics", timeout=10).text
        assert "edgeagent_cpu_usage_ratio" in text
        check = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        health = httpx.get(f"http://{agents.address(name)}:9101/healthz", timeout=10).json()
        assert health["status"] == "ok"


def _stored(controller: Controller, device_id: str) -> list[tuple[str, int]]:
    """(stream, seq) of every stored sample of a device, read from the store itself."""
    db = sqlite3.connect(controller.home / "controller.db")
    try:
        return db.execute(
            "SELECT stream, seq FROM telemetry_samples WHERE device_id = ? ORDER BY seq",
            (device_id,),
        ).fetchall()
    finally:
        db.close()


def _agent_health(lab: Lab, name: str) -> dict:
    return httpx.get(f"http://{lab.address(name)}:9101/healthz", timeout=10).json()


def test_controller_crash_mid_stream_loses_and_duplicates_nothing(
    agents: Lab, controller: Controller
) -> None:
    eventually(lambda: all(devices(controller).get(n, {}).get("online") for n in agents.hosts),
               30, "agents streaming before the crash")
    controller.kill()
    time.sleep(12)  # agents keep sampling into their spools, pushes fail
    assert all(_agent_health(agents, n)["spool_samples"] > 0 for n in agents.hosts)
    controller.start()
    eventually(lambda: all(_agent_health(agents, n)["spool_samples"] < 200
                           and _agent_health(agents, n)["last_push_error"] is None
                           for n in agents.hosts), 60, "spools drained after the restart")
    found = devices(controller)
    for name in agents.hosts:
        health = _agent_health(agents, name)
        assert health["dropped_samples"] == 0
        rows = _stored(controller, found[name]["id"])
        seqs = [seq for _stream, seq in rows]
        assert len({s for s, _ in rows}) == 1, "one stream per agent"
        assert len(seqs) == len(set(seqs)), f"{name}: a sample was stored twice"
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"{name}: a sample is missing"
        assert seqs[0] == 1, f"{name}: the stream's first samples are missing"


def test_stopped_agent_goes_offline_and_its_data_stops(
    agents: Lab, controller: Controller, tmp_path: Path
) -> None:
    proc, results = ansible_playbook(
        agents.inventory, "install_agent", "--limit", "gpu-02",
        "-e", "edgefleet_agent_state=stopped", fact_dir=tmp_path / "facts",
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert results["gpu-02"]["state"] == "stopped"
    eventually(lambda: devices(controller)["gpu-02"]["online"] is False, 30, "gpu-02 offline")
    device_id = devices(controller)["gpu-02"]["id"]
    before = len(_stored(controller, device_id))
    time.sleep(7)
    assert len(_stored(controller, device_id)) == before, "no data after the agent stopped"
    assert devices(controller)["gpu-01"]["online"] is True
