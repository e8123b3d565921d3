"""The lab hosts are real, isolated machines, and `lab down` leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from controller.lab import fleet
from controller.lab.config import LabConfig
from controller.lab.errors import LabError
from controller.lab.state import LabState
from tests.lab.conftest import VENV_BIN, Lab

pytestmark = pytest.mark.lab


def test_each_host_has_its_own_identity_and_arch(lab: Lab) -> None:
    seen = {}
    for name in lab.hosts:
        out = lab.ssh(name, "hostname; uname -m; cat /etc/machine-id; ip -4 -o addr show eth0")
        hostname, machine, machine_id, addr = out.strip().splitlines()
        assert hostname == name
        assert lab.address(name) in addr
        seen[name] = machine_id
        expected = "aarch64" if name.startswith("rpi") else os.uname().machine
        assert machine == expected, f"{name} runs {machine}"
    assert len(set(seen.values())) == len(seen), "machine-ids must differ per host"


def test_host_sees_only_its_own_processes_and_files(lab: Lab) -> None:
    pids = lab.ssh("gpu-01", "ps -e -o pid=,comm=").split("\n")
    comms = [line.split(None, 1)[1] for line in pids if line.strip()]
    assert comms[0] == "sshd"  # PID 1 of the host's own PID namespace
    assert "pytest" not in " ".join(comms) and "python" not in comms[:1]
    lab.ssh("gpu-01", "echo only-here > /root/marker")
    assert "only-here" in lab.ssh("gpu-01", "cat /root/marker")
    assert "absent" in lab.ssh("gpu-02", "test -e /root/marker && echo present || echo absent")
    assert not Path("/root/marker").exists()


def test_hosts_cannot_route_beyond_the_lab(lab: Lab) -> None:
    routes = lab.ssh("gpu-01", "ip -4 route")
    assert "default" not in routes
    assert routes.strip().startswith(lab.cfg.subnet)


def test_status_reports_healthy_lab_as_json(lab: Lab) -> None:
    res = subprocess.run(
        [str(VENV_BIN / "edgefleet"), "lab", "status", "--json", "--state-dir",
         str(lab.cfg.state_dir)],
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["healthy"] is True
    assert {h["name"] for h in doc["hosts"]} == set(lab.hosts)
    assert {h["arch"] for h in doc["hosts"] if h["group"] == "rpi"} == {"arm64"}
    assert doc["arch_note"] is None
    assert doc["services"] == {"apt": True, "ntp": True, "iperf3": True}


def test_second_lab_up_on_same_state_is_refused(lab: Lab) -> None:
    with pytest.raises(LabError, match="already recorded"):
        fleet.up(lab.cfg, 1, 0, None, say=print)


def test_subnet_overlapping_an_existing_network_is_refused(lab: Lab, tmp_path: Path) -> None:
    half = lab.cfg.subnet.replace("/24", "/25")
    cfg = LabConfig(state_dir=tmp_path / "clash", bridge="efclash0", subnet=half, prefix="efc-")
    with pytest.raises(LabError, match="overlaps"):
        fleet.up(cfg, 0, 1, None, say=print)
    assert LabState.load(cfg.state_file) is None, "a failed up must leave no state behind"


def _leftovers(prefix: str, bridge: str, state_dir: Path) -> list[str]:
    found = []
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [f"netns {ln.split()[0]}" for ln in netns.splitlines() if ln.startswith(prefix)]
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    found += [f"link {ln.split()[0]}" for ln in links.splitlines()
              if ln.startswith((prefix, bridge))]
    for mountinfo in Path("/proc").glob("[0-9]*/mountinfo"):
        try:
            if str(state_dir) in mountinfo.read_text():
                found.append(f"mount seen by pid {mountinfo.parent.name}")
        except OSError:
            continue
    return found


def test_down_removes_namespaces_links_mounts_and_processes(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    cfg = LabConfig(state_dir=tmp_path / "lab", bridge="efdown0", subnet="10.215.0.0/24",
                    prefix="efd-", apt_port=8875)
    state = fleet.up(cfg, 1, 1, tmp_path / "inv.yml", say=print)
    procs = [h.proc for h in state.hosts] + list(state.services.values())
    assert all(p is not None and p.alive() for p in procs)
    assert _leftovers("efd-", "efdown0", cfg.state_dir), "the lab should exist before down"

    removed = fleet.down(cfg, say=print)

    assert "bridge:efdown0" in removed
    assert _leftovers("efd-", "efdown0", cfg.state_dir) == []
    assert not any(p.alive() for p in procs if p is not None)
    assert not cfg.state_file.exists() and not (tmp_path / "inv.yml").exists()
    assert fleet.down(cfg, say=print) == [], "a second down is a no-op"


def test_lab_up_without_root_says_it_needs_root(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user")
    tmp_path.chmod(0o777)
    res = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         str(VENV_BIN / "edgefleet"), "lab", "up", "--gpu", "1", "--rpi", "0",
         "--state-dir", str(tmp_path / "lab")],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 2
    assert "needs root" in res.stderr
    assert not (tmp_path / "lab" / "state.json").exists()
