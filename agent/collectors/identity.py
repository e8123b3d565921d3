"""Who this device is (the `device` object of every push) and the heartbeat sample.

The device id is a UUIDv5 over /etc/machine-id: stable across reboots and agent reinstalls,
distinct per OS install, and one-way (machine-id is meant to stay private). It is not the
CPU vendor string (identical on every same-vendor CPU) nor a hardware serial (PII). Hosts
sharing one /etc (network-namespace lab nodes) must set `device_id` in the context instead.
"""

from __future__ import annotations

import re
import shlex
import uuid
from pathlib import Path
from typing import Any

from agent.collectors.base import CollectorContext, read_text
from agent.protocol import Sample

DEVICE_ID_NAMESPACE = uuid.UUID("6f1d2b8e-4c1a-5e2b-9a57-ed9ef1ee7a11")
_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")
# uname -m -> OCI/Go arch names (what container images and the inventory groups use)
OCI_ARCH = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "amd64", "amd64": "amd64",
            "armv7l": "arm", "armv6l": "arm", "i686": "386", "i386": "386"}


def oci_arch(machine: str) -> str:
    """aarch64 -> arm64, x86_64 -> amd64, armv7l -> arm; unknown names pass through."""
    return OCI_ARCH.get(machine, machine)


def device_id(ctx: CollectorContext) -> str:
    """The context's explicit id, else UUIDv5(machine-id); no usable machine-id raises."""
    if ctx.device_id:
        return ctx.device_id
    candidates = (ctx.etc_root / "machine-id", ctx.etc_root.parent / "var/lib/dbus/machine-id")
    for path in candidates:
        try:
            machine_id = path.read_text().strip()
        except FileNotFoundError:
            continue
        if not _MACHINE_ID.match(machine_id):
            raise ValueError(f"{path}: not a machine id: {machine_id[:40]!r}")
        return str(uuid.uuid5(DEVICE_ID_NAMESPACE, machine_id))
    raise FileNotFoundError(f"no machine id at {candidates[0]} (run systemd-machine-id-setup) "
                            "and no device_id configured")


def os_pretty_name(etc_root: Path) -> str:
    """PRETTY_NAME from os-release, e.g. "Debian GNU/Linux 12 (bookworm)"."""
    for path in (etc_root / "os-release", etc_root.parent / "usr/lib/os-release"):
        if path.exists():
            for line in path.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "PRETTY_NAME":
                    words = shlex.split(value)
                    if words and words[0]:
                        return words[0][:128]
    return "Linux"


def boot_time(proc_root: Path) -> float:
    """Boot time, UTC epoch seconds, from the `btime` line of /proc/stat."""
    path = str(proc_root / "stat")
    for line in read_text(path).splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise ValueError(f"{path}: no btime line")


def device_info(ctx: CollectorContext) -> dict[str, Any]:
    """The `device` object of agent.protocol: id, hostname, arch, os, agent_version, boot_time."""
    return {"id": device_id(ctx), "hostname": ctx.hostname, "arch": oci_arch(ctx.machine),
            "os": os_pretty_name(ctx.etc_root), "agent_version": ctx.agent_version,
            "boot_time": boot_time(ctx.proc_root)}


class HeartbeatCollector:
    """agent_heartbeat (timestamp_seconds): proof of life, one per cycle."""

    name = "heartbeat"

    def __init__(self, ctx: CollectorContext) -> None:
        del ctx  # nothing to read: the heartbeat is the cycle itself

    def applies(self) -> bool:
        return True

    def collect(self, now: float) -> list[Sample]:
        return [Sample("agent_heartbeat", now, "timestamp_seconds", now, "agent")]

    def close(self) -> None:
        """Nothing held open."""
