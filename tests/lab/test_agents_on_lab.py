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
        assert d["ansible"]["groups"] == [name.split("-")[0]]


def test_series_reach_the_store(agents: Lab, controller: Controller) -> None:
    device_id = devices(controller)["gpu-01"]["id"]
    with controller.client() as c:
        def has_cpu() -> bool:
            res = c.get(f"/api/devices/{device_id}/metrics",
                        params={"name": "cpu_usage_ratio", "since": "120"})
            return res.status_code == 200 and any(
                len(series["points"]) > 0 for series in res.json()["series"]
                if series["labels"] == {"cpu": "total"})
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


def _stored(controller: Controller, name: str) -> tuple[int, int, int]:
    """(stored samples, highest stored seq, streams) of a device, in one consistent read of
    the store itself. Every seq from 1 to the highest stored exactly once <=> count == seq."""
    db = sqlite3.connect(controller.home / "controller.db")
    try:
        return db.execute(
            "SELECT (SELECT COUNT(*) FROM telemetry_samples s JOIN telemetry_series se"
            "        ON s.series_id = se.id WHERE se.device_pk = d.pk),"
            "       (SELECT MAX(last_seq) FROM telemetry_streams t WHERE t.device_pk = d.pk),"
            "       (SELECT COUNT(*) FROM telemetry_streams t WHERE t.device_pk = d.pk)"
            " FROM devices d WHERE d.name = ?",
            (name,),
        ).fetchone()
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
    for name in agents.hosts:
        health = _agent_health(agents, name)
        assert health["dropped_samples"] == 0
        count, last_seq, streams = _stored(controller, name)
        assert streams == 1, "one stream per agent"
        assert last_seq > 0
        assert count == last_seq, f"{name}: {count} samples stored for seqs 1..{last_seq}"


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
    before = _stored(controller, "gpu-02")
    time.sleep(7)
    assert _stored(controller, "gpu-02") == before, "no data after the agent stopped"
    assert devices(controller)["gpu-01"]["online"] is True
