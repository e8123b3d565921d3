"""Operators run the same playbooks with plain `ansible-playbook`, over real SSH, by group."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.conftest import OFFLINE_HOST, Lab, ansible_playbook

pytestmark = pytest.mark.lab


def test_ping_by_group_reports_os_kernel_arch_python(lab: Lab, tmp_path: Path) -> None:
    proc, results = ansible_playbook(lab.inventory, "ping", "--limit", "rpi",
                                     fact_dir=tmp_path / "facts")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert set(results) == {"rpi-01", "rpi-02"}, "--limit rpi must touch only the rpi group"
    for name, r in results.items():
        assert r["hostname"] == name
        assert r["arch"] == "arm64" and r["machine"] == "aarch64"
        # qemu-user on this x86_64 kernel: the result says so (its /proc is the machine's).
        assert (r["emulated"], r["kernel_arch"]) == (True, "amd64")
        assert r["os"]["distribution"] == "Debian"
        assert r["kernel"]
        assert r["python"]["version"].startswith("3.11")


def test_ping_with_an_offline_host_exits_nonzero_but_reaches_the_rest(
    lab: Lab, tmp_path: Path
) -> None:
    proc, results = ansible_playbook(lab.inventory_with_offline, "ping",
                                     fact_dir=tmp_path / "facts")
    assert proc.returncode == 4, "ansible-playbook exits 4 when a host is unreachable"
    assert set(results) == set(lab.hosts)
    assert OFFLINE_HOST not in results


def test_monitor_snapshot_by_hand(lab: Lab, tmp_path: Path) -> None:
    proc, results = ansible_playbook(lab.inventory, "monitor", "--limit", "gpu",
                                     fact_dir=tmp_path / "facts")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert set(results) == {"gpu-01", "gpu-02"}
    for r in results.values():
        assert r["cpu"]["cores"] >= 1
        assert r["memory"]["total_mb"] > 0
        assert r["gpu"]["status"] == "none"  # lab hosts have no GPU
        assert r["network"]["uplink_mbps"] > 0 and r["network"]["downlink_mbps"] > 0


def test_timesync_by_hand_points_at_controller(lab: Lab, tmp_path: Path) -> None:
    proc, results = ansible_playbook(lab.inventory, "timesync", "--limit", "gpu-02",
                                     fact_dir=tmp_path / "facts")
    assert proc.returncode == 0, proc.stdout[-3000:]
    r = results["gpu-02"]
    assert r["servers"] == [lab.state.bridge_address]
    assert r["source"] == lab.state.bridge_address
    assert isinstance(r["offset_s"], float) and abs(r["offset_s"]) < 1.0
    # Lab hosts share this machine's clock, so their chronyd must never step it.
    assert r["clock_control"] == "disabled"


def test_upgrade_by_hand_on_one_arm64_host(lab: Lab, tmp_path: Path) -> None:
    proc, results = ansible_playbook(lab.inventory, "upgrade", "--limit", "rpi-02",
                                     fact_dir=tmp_path / "facts")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert results["rpi-02"]["upgraded"] == [
        {"name": "edgefleet-demo", "from": "1.0", "to": "1.1"}
    ]
    assert lab.ssh("rpi-02", "cat /usr/share/edgefleet-demo/VERSION").strip() == "1.1"
