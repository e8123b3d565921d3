"""The fleet as an Ansible dynamic inventory, consumed by real `ansible-inventory` and by the
controller's own job targeting, through the executable script AWX would use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.config import Settings
from controller.jobs.inventory import resolve_targets
from controller.store import Store
from tests.unit.fleet_fixture import add_device, write_inventory

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "inventory" / "edgefleet-dynamic"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    inv = write_inventory(tmp_path / "hosts.yml")
    store = Store(settings.db_url)
    add_device(store, "rpi-01", "arm64", "10.217.9.11")  # pushing now: online
    add_device(store, "gpu-01", "amd64", "10.217.9.21", last_seen=time.time() - 3600)
    store.dispose()
    return dict(os.environ, EDGEFLEET_HOME=str(settings.home), EDGEFLEET_INVENTORY=str(inv),
                PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", ANSIBLE_NOCOLOR="1")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, env=env,
                          cwd=REPO)


def test_ansible_inventory_reads_the_script(env: dict[str, str]) -> None:
    res = run(str(VENV_BIN / "ansible-inventory"), "-i", str(SCRIPT), "--list", env=env)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert sorted(data["rpi"]["hosts"]) == ["rpi-01", "rpi-02"]
    assert data["gpu"]["hosts"] == ["gpu-01"]
    assert data["agents_online"]["hosts"] == ["rpi-01"]
    hv = data["_meta"]["hostvars"]
    assert hv["rpi-02"]["ansible_host"] == "10.217.9.12"
    assert hv["rpi-02"]["edgefleet_arch"] == "arm64"  # group vars flattened per host
    assert hv["rpi-01"]["edgefleet_device_id"] == "id-rpi-01"
    assert hv["rpi-01"]["edgefleet_agent_online"] is True
    assert hv["gpu-01"]["edgefleet_agent_online"] is False
    assert "edgefleet_device_id" not in hv["rpi-02"]  # never pushed


def test_host_mode_and_job_targeting_through_the_script(env: dict[str, str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    res = run(str(SCRIPT), "--host", "rpi-02", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["edgefleet_agent_metrics_port"] == 9200
    for key in ("EDGEFLEET_HOME", "EDGEFLEET_INVENTORY", "PATH"):
        monkeypatch.setenv(key, env[key])
    found = resolve_targets(SCRIPT, "agents_online")
    assert [(t.name, t.address) for t in found] == [("rpi-01", "10.217.9.11")]


@pytest.mark.parametrize(("args", "reason"), [
    ((), "exactly one of --list and --host"),
    (("--list", "--host", "x"), "exactly one of --list and --host"),
    (("--host", "nope"), "no host 'nope' in the inventory"),
])
def test_bad_use_is_exit_2_with_one_line(env: dict[str, str], args: tuple[str, ...],
                                         reason: str) -> None:
    res = run(str(VENV_BIN / "edgefleet"), "inventory", *args, env=env)
    assert res.returncode == 2
    assert reason in res.stderr and res.stdout == ""


def test_pointing_the_export_at_itself_is_refused(env: dict[str, str]) -> None:
    res = run(str(SCRIPT), "--list", env=dict(env, EDGEFLEET_INVENTORY=str(SCRIPT)))
    assert res.returncode == 2
    assert "is a script" in res.stderr
