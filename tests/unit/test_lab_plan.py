"""Lab planning and inventory rendering: pure functions, no root needed."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest
import yaml

from controller.lab import addressing, inventory
from controller.lab.config import LabConfig
from controller.lab.errors import LabError
from controller.lab.state import HostState, LabState, Proc


def test_plan_gives_unique_addresses_inside_the_subnet() -> None:
    net = addressing.parse_subnet("10.213.0.0/24")
    plans = addressing.plan_hosts(net, rpi=3, gpu=2)
    assert [p.name for p in plans] == ["rpi-01", "rpi-02", "rpi-03", "gpu-01", "gpu-02"]
    addresses = [ipaddress.IPv4Address(p.address) for p in plans]
    assert len(set(addresses)) == 5
    assert all(a in net for a in addresses)
    assert addressing.bridge_address(net) not in {p.address for p in plans}
    assert plans[0].address == "10.213.0.11" and plans[3].address == "10.213.0.51"


def test_large_lab_packs_hosts_without_overlap() -> None:
    net = addressing.parse_subnet("10.216.0.0/24")
    plans = addressing.plan_hosts(net, rpi=60, gpu=100)
    assert len({p.address for p in plans}) == 160
    assert "10.216.0.1" not in {p.address for p in plans}


@pytest.mark.parametrize(
    ("subnet", "reason"),
    [
        ("8.8.8.0/24", "not a private range"),
        ("10.0.0.1/24", "bad subnet"),
        ("10.0.0.0/30", "too small"),
        ("not-a-net", "bad subnet"),
    ],
)
def test_only_private_usable_subnets_are_accepted(subnet: str, reason: str) -> None:
    with pytest.raises(LabError, match=reason):
        addressing.parse_subnet(subnet)


def test_plan_refuses_what_does_not_fit_or_is_empty() -> None:
    net = addressing.parse_subnet("10.1.0.0/28")
    with pytest.raises(LabError, match="too small"):
        addressing.plan_hosts(net, rpi=10, gpu=10)
    with pytest.raises(LabError, match="nothing to build"):
        addressing.plan_hosts(net, rpi=0, gpu=0)
    with pytest.raises(LabError, match=">= 0"):
        addressing.plan_hosts(net, rpi=-1, gpu=2)


def test_inventory_has_groups_pinned_host_keys_and_controller(tmp_path: Path) -> None:
    cfg = LabConfig(state_dir=tmp_path)
    state = LabState("efbr0", "10.213.0.0/24", "10.213.0.1", str(tmp_path / "inv.yml"))
    state.hosts = [
        HostState("rpi-01", "rpi", "arm64", "10.213.0.11", "ef-rpi-01", "ef-v1", "/x"),
        HostState("gpu-01", "gpu", "amd64", "10.213.0.51", "ef-gpu-01", "ef-v2", "/y"),
    ]
    doc = yaml.safe_load(inventory.render(state, cfg))
    top = doc["all"]["vars"]
    assert top["edgefleet_controller_address"] == "10.213.0.1"
    assert f"UserKnownHostsFile={cfg.known_hosts}" in top["ansible_ssh_common_args"]
    assert "StrictHostKeyChecking=yes" in top["ansible_ssh_common_args"]
    assert "password" not in inventory.render(state, cfg).lower()
    rpi = doc["all"]["children"]["rpi"]
    assert rpi["hosts"] == {"rpi-01": {"ansible_host": "10.213.0.11"}}
    assert rpi["vars"]["edgefleet_arch"] == "arm64"
    assert doc["all"]["children"]["gpu"]["vars"]["edgefleet_accelerator"] == "none"
    # The sandbox's Podman workarounds live here, in the lab's inventory, not in the product.
    assert top["edgefleet_container_engine_args"] == inventory.SANDBOX_ENGINE_ARGS
    assert "vfs" in top["edgefleet_container_engine_args"]
    assert top["edgefleet_container_run_args"] == inventory.SANDBOX_RUN_ARGS


def test_state_round_trips_through_its_file(tmp_path: Path) -> None:
    state = LabState("efbr0", "10.213.0.0/24", "10.213.0.1", "/inv.yml", "note")
    state.hosts = [HostState("gpu-01", "gpu", "amd64", "10.213.0.51", "ns", "v", "/r",
                             Proc(123, 1.5))]
    state.services = {"ntp": Proc(456, 2.5)}
    state.save(tmp_path / "state.json")
    assert LabState.load(tmp_path / "state.json") == state
    assert LabState.load(tmp_path / "missing.json") is None


def test_proc_identity_guards_against_pid_reuse() -> None:
    me = Proc.of(os.getpid())
    assert me.alive()
    assert not Proc(me.pid, me.started - 100).alive(), "same PID, other start time: not ours"
