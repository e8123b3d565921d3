"""The controller's REST API and CLI running every playbook against the lab over real SSH."""

from __future__ import annotations

import json
import os
import subprocess
import time

import psutil
import pytest

from tests.api_client import launch, sse
from tests.lab.conftest import OFFLINE_HOST, VENV_BIN, Controller, Lab

pytestmark = pytest.mark.lab


def test_ping_streams_per_host_events_and_resumes_from_last_event_id(
    lab: Lab, controller: Controller
) -> None:
    with controller.client() as c:
        job = launch(c, playbook="ping")
        assert set(job["targets"]) == {*lab.hosts, OFFLINE_HOST}
        first: list[dict] = []
        with c.stream("GET", f"/api/jobs/{job['id']}/events") as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for msg in sse(r):
                first.append(msg)
                if len(first) == 3:
                    break  # drop the connection mid-stream
        resume_from = first[-1]["id"]
        rest: list[dict] = []
        with c.stream("GET", f"/api/jobs/{job['id']}/events",
                      headers={"Last-Event-ID": resume_from}) as r:
            rest = list(sse(r))
    assert rest[-1]["event"] == "end"
    seqs = [int(m["id"]) for m in first + rest[:-1]]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), "no duplicate or reordered event"
    assert seqs == list(range(1, len(seqs) + 1)), "no gap after resuming"
    per_host = {m["data"]["host"]: m["data"]["event"] for m in first + rest
                if m["data"].get("host") and m["data"]["event"] != "runner_on_start"}
    assert per_host[OFFLINE_HOST] == "runner_on_unreachable"

    done = controller.wait_job(job["id"])
    status = {h["host"]: h for h in done["hosts"]}
    assert status[OFFLINE_HOST]["status"] == "unreachable"
    assert status[OFFLINE_HOST]["msg"]
    for name in lab.hosts:
        assert status[name]["status"] == "ok", status[name]
        assert status[name]["result"]["hostname"] == name
    assert done["summary"] == {"ok": 4, "unreachable": 1}


def test_hosts_view_has_latest_facts(lab: Lab, controller: Controller) -> None:
    with controller.client() as c:
        job = launch(c, playbook="ping", limit="all:!" + OFFLINE_HOST)
        controller.wait_job(job["id"])
        hosts = {h["name"]: h for h in c.get("/api/hosts").json()}
    for name in lab.hosts:
        facts = hosts[name]["facts"]
        assert facts["arch"] == ("arm64" if name.startswith("rpi") else "amd64")
        assert facts["os"]["distribution"] == "Debian"
        assert hosts[name]["results"]["ping"]["job_id"] == job["id"]
        assert set(hosts[name]["groups"]) == {name.split("-")[0]}


def test_relaunch_targets_only_failed_and_unreachable_hosts(controller: Controller) -> None:
    with controller.client() as c:
        job = launch(c, playbook="ping", limit="rpi")
        done = controller.wait_job(job["id"])
        assert {h["host"]: h["status"] for h in done["hosts"]}[OFFLINE_HOST] == "unreachable"
        res = c.post(f"/api/jobs/{job['id']}/relaunch")
        assert res.status_code == 201, res.text
        again = res.json()
        assert again["targets"] == [OFFLINE_HOST]
        assert again["relaunch_of"] == job["id"]
        controller.wait_job(again["id"])
        ok_job = launch(c, playbook="ping", limit="gpu")
        controller.wait_job(ok_job["id"])
        res = c.post(f"/api/jobs/{ok_job['id']}/relaunch")
        assert res.status_code == 409
        assert "no failed or unreachable" in res.json()["detail"]


def test_upgrade_installs_the_newer_package_and_is_idempotent(
    lab: Lab, controller: Controller
) -> None:
    assert lab.ssh("gpu-01", "cat /usr/share/edgefleet-demo/VERSION").strip() == "1.0"
    with controller.client() as c:
        done = controller.wait_job(launch(c, playbook="upgrade", limit="gpu")["id"])
        assert done["status"] == "successful", done
        for h in done["hosts"]:
            assert h["status"] == "changed"
            assert {"name": "edgefleet-demo", "from": "1.0", "to": "1.1"} in h["result"]["upgraded"]
            assert h["result"]["reboot_required"] is False
        again = controller.wait_job(launch(c, playbook="upgrade", limit="gpu")["id"])
    assert all(h["result"]["upgraded"] == [] for h in again["hosts"])
    for name in ("gpu-01", "gpu-02"):
        assert lab.ssh(name, "cat /usr/share/edgefleet-demo/VERSION").strip() == "1.1"
    assert lab.ssh("rpi-01", "cat /usr/share/edgefleet-demo/VERSION").strip() == "1.0"


def test_timesync_through_api_reports_offset_and_source(lab: Lab, controller: Controller) -> None:
    with controller.client() as c:
        done = controller.wait_job(launch(c, playbook="timesync", limit="rpi-01")["id"])
    assert done["status"] == "successful", done
    r = done["hosts"][0]["result"]
    assert r["service"] == "chrony"
    assert r["source"] == lab.state.bridge_address
    assert r["synchronized"] is True
    assert abs(r["offset_s"]) < 1.0


def test_monitor_through_api_on_an_arm64_host(controller: Controller) -> None:
    with controller.client() as c:
        done = controller.wait_job(launch(c, playbook="monitor", limit="rpi-02")["id"])
    assert done["status"] == "successful", done
    r = done["hosts"][0]["result"]
    assert r["gpu"]["status"] == "none"
    assert r["cpu"]["cores"] >= 1 and len(r["cpu"]["load"]) == 3
    assert r["network"]["downlink_mbps"] > 0


def _ansible_children(pid: int) -> list[psutil.Process]:
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    return [k for k in kids if "ansible-playbook" in " ".join(k.cmdline())]


def test_cancel_stops_a_running_job(lab: Lab, controller: Controller) -> None:
    with controller.client() as c:
        # Speed tests run one host at a time (throttle 1): long enough to cancel mid-run.
        job = launch(c, playbook="monitor", limit="gpu",
                     extra_vars={"edgefleet_speedtest_seconds": 15})
        deadline = time.monotonic() + 120
        while not _ansible_children(controller.process.pid):
            assert time.monotonic() < deadline, "ansible-playbook never started"
            time.sleep(0.2)
        time.sleep(3)  # let it reach the hosts: cancel mid-play, not before it starts
        assert c.get(f"/api/jobs/{job['id']}").json()["status"] == "running"
        res = c.post(f"/api/jobs/{job['id']}/cancel")
        assert res.status_code == 202, res.text
        done = controller.wait_job(job["id"], timeout=60)
        assert done["status"] == "canceled"
        assert c.post(f"/api/jobs/{job['id']}/cancel").status_code == 409
    assert _ansible_children(controller.process.pid) == []
    # A host stopped mid-play has no result and must not pass for ok.
    unfinished = [h for h in done["hosts"] if h["result"] is None]
    assert unfinished, "with 15 s speed tests one host at a time, someone was cut off"
    assert all(h["status"] == "canceled" for h in unfinished), unfinished


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"playbook": "rm-rf"}, "unknown playbook"),
        ({"playbook": "../ping"}, "unknown playbook"),
        ({"playbook": "ping", "limit": "nosuchgroup"}, "matches no host"),
        ({"playbook": "ping", "extra_vars": ["x"]}, "extra_vars"),
        ({"playbook": "ping", "extra_vars": {"ansible_password": "x"}}, "secret"),
        ({"playbook": "ping", "limt": "rpi"}, "limt"),
    ],
)
def test_bad_requests_are_refused_with_a_reason_and_create_nothing(
    controller: Controller, body: dict, reason: str
) -> None:
    with controller.client() as c:
        before = len(c.get("/api/jobs", params={"limit": 500}).json())
        res = c.post("/api/jobs", json=body)
        assert 400 <= res.status_code < 500
        assert reason in res.json()["detail"]
        assert len(c.get("/api/jobs", params={"limit": 500}).json()) == before


def _cli(*args: str, home: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, EDGEFLEET_HOME=home)
    return subprocess.run([str(VENV_BIN / "edgefleet"), *args], capture_output=True, text=True,
                          timeout=600, env=env)


def test_cli_run_json_and_exit_codes(lab: Lab, tmp_path) -> None:
    home = str(tmp_path)
    res = _cli("run", "ping", "--inventory", str(lab.inventory), "--limit", "gpu", "--json",
               home=home)
    assert res.returncode == 0, res.stderr
    job = json.loads(res.stdout)
    assert {h["host"]: h["status"] for h in job["hosts"]} == {"gpu-01": "ok", "gpu-02": "ok"}

    res = _cli("run", "ping", "--inventory", str(lab.inventory_with_offline), "--limit",
               OFFLINE_HOST, home=home)
    assert res.returncode == 1
    assert "unreachable" in res.stdout

    res = _cli("run", "ping", "--inventory", str(lab.inventory), "--limit", "nosuch", home=home)
    assert res.returncode == 2
    assert "matches no host" in res.stderr
