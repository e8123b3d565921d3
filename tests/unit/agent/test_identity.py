"""Identity: machine-id based device id, OCI arch, os-release name, boot time, heartbeat."""

from __future__ import annotations

import uuid

import pytest

from agent.collectors.identity import HeartbeatCollector, device_info, oci_arch
from tests.unit.agent.helpers import FIXTURES

MACHINE_ID = "3d1219c7c4c5404aaa1f6d2a48adfda4"


@pytest.fixture
def etc(tmp_path):
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    (etc / "machine-id").write_text(MACHINE_ID + "\n")
    (etc / "os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n')
    return etc


def test_device_object_matches_the_protocol(make_ctx, etc):
    info = device_info(make_ctx(etc_root=etc, proc_root=FIXTURES / "proc_rpi",
                                machine="aarch64", hostname="rpi-01"))
    assert info == {"id": info["id"], "hostname": "rpi-01", "arch": "arm64",
                    "os": "Debian GNU/Linux 12 (bookworm)", "agent_version": "0.1.0",
                    "boot_time": 1763899512.0}
    assert uuid.UUID(info["id"]).version == 5
    assert MACHINE_ID not in info["id"]  # one-way: the machine id itself stays private


def test_id_is_stable_and_differs_per_machine(make_ctx, etc):
    def ident():
        return device_info(make_ctx(etc_root=etc, proc_root=FIXTURES / "proc_rpi"))["id"]

    first = ident()
    assert ident() == first
    (etc / "machine-id").write_text("0" * 32 + "\n")
    assert ident() != first


def test_configured_id_wins_for_hosts_sharing_one_etc(make_ctx, etc):
    ctx = make_ctx(etc_root=etc, proc_root=FIXTURES / "proc_rpi", device_id="lab-node-2")
    assert device_info(ctx)["id"] == "lab-node-2"


def test_dbus_machine_id_is_the_fallback_and_garbage_raises(make_ctx, etc):
    (etc / "machine-id").unlink()
    dbus = etc.parent / "var/lib/dbus"
    dbus.mkdir(parents=True)
    (dbus / "machine-id").write_text(MACHINE_ID + "\n")
    ctx = make_ctx(etc_root=etc, proc_root=FIXTURES / "proc_rpi")
    assert device_info(ctx)["id"] == str(uuid.uuid5(
        uuid.UUID("6f1d2b8e-4c1a-5e2b-9a57-ed9ef1ee7a11"), MACHINE_ID))
    (dbus / "machine-id").write_text("uninitialized\n")
    with pytest.raises(ValueError, match="not a machine id"):
        device_info(ctx)
    (dbus / "machine-id").unlink()
    with pytest.raises(FileNotFoundError, match="no machine id"):
        device_info(ctx)


@pytest.mark.parametrize(("machine", "arch"), [
    ("aarch64", "arm64"), ("x86_64", "amd64"), ("armv7l", "arm"), ("armv6l", "arm"),
    ("riscv64", "riscv64")])
def test_uname_machine_maps_to_oci_arch(machine, arch):
    assert oci_arch(machine) == arch


def test_heartbeat_every_cycle(make_ctx):
    hb = HeartbeatCollector(make_ctx())
    assert hb.applies()
    [s] = hb.collect(1763900123.5)
    assert (s.name, s.value, s.unit, s.ts) == ("agent_heartbeat", 1763900123.5,
                                                "timestamp_seconds", 1763900123.5)
