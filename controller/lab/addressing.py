"""Host names and addresses inside the lab subnet, planned up front so they never collide."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from controller.lab.errors import LabError

GROUPS = ("rpi", "gpu")
# rpi-01 -> .11, gpu-01 -> .51 in the usual small lab; bigger labs pack gpus after the rpis.
RPI_OFFSET = 11
GPU_OFFSET = 51


@dataclass(frozen=True)
class HostPlan:
    """One host to create: its inventory name is also its hostname."""

    name: str
    group: str
    index: int
    address: str


def parse_subnet(subnet: str) -> ipaddress.IPv4Network:
    """Only a private IPv4 subnet is accepted: the lab must never shadow real networks."""
    try:
        net = ipaddress.IPv4Network(subnet, strict=True)
    except ValueError as exc:
        raise LabError(f"bad subnet {subnet!r}: {exc}") from exc
    if not net.is_private or net.is_loopback:
        raise LabError(f"subnet {subnet} is not a private range; refusing to use it")
    if net.prefixlen > 29:
        raise LabError(f"subnet {subnet} is too small for a lab (need at least a /29)")
    return net


def bridge_address(net: ipaddress.IPv4Network) -> str:
    """The controller side of the bridge: first usable address."""
    return str(net.network_address + 1)


def plan_hosts(net: ipaddress.IPv4Network, rpi: int, gpu: int) -> list[HostPlan]:
    """Assign every host a unique address; raise if the subnet can't hold them all."""
    for group, count in (("rpi", rpi), ("gpu", gpu)):
        if count < 0:
            raise LabError(f"--{group} must be >= 0 (got {count})")
    if rpi + gpu == 0:
        raise LabError("nothing to build: give --rpi and/or --gpu a count above 0")
    usable = net.num_addresses - 2  # minus network and broadcast
    rpi_start = RPI_OFFSET if RPI_OFFSET + rpi + gpu - 1 <= usable else 2
    gpu_start = rpi_start + rpi
    if gpu_start <= GPU_OFFSET and GPU_OFFSET + gpu - 1 <= usable:
        gpu_start = GPU_OFFSET
    last = max(rpi_start + rpi - 1, gpu_start + gpu - 1)
    if last > usable:
        raise LabError(
            f"subnet {net} is too small for {rpi} rpi + {gpu} gpu hosts "
            f"(has {usable - 1} host addresses)"
        )
    plans = [
        HostPlan(f"rpi-{i:02d}", "rpi", i, str(net.network_address + rpi_start + i - 1))
        for i in range(1, rpi + 1)
    ]
    plans += [
        HostPlan(f"gpu-{i:02d}", "gpu", i, str(net.network_address + gpu_start + i - 1))
        for i in range(1, gpu + 1)
    ]
    return plans
