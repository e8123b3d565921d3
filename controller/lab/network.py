"""The lab's own bridge and one veth per host: the only network the lab hosts can see.

No default route, forwarding or NAT is ever configured, so lab hosts reach the bridge
address (the controller side) and each other, and nothing beyond.
"""

from __future__ import annotations

import ipaddress
import time

from controller.lab.errors import LabError
from controller.lab.proc import ok, run


def link_exists(name: str) -> bool:
    return ok(["ip", "link", "show", "dev", name])


def netns_exists(name: str) -> bool:
    return name in netns_list()


def netns_list() -> list[str]:
    res = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in res.stdout.splitlines() if line.strip()]


def create_bridge(bridge: str, net: ipaddress.IPv4Network, address: str) -> None:
    """Create the bridge with the controller-side address; refuse to adopt a foreign one."""
    if link_exists(bridge):
        raise LabError(f"bridge {bridge} already exists; run `edgefleet lab down` first")
    _check_subnet_free(net)
    run(["ip", "link", "add", bridge, "type", "bridge"])
    run(["ip", "addr", "add", f"{address}/{net.prefixlen}", "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])


def _check_subnet_free(net: ipaddress.IPv4Network) -> None:
    """Never shadow a network this machine already routes."""
    res = run(["ip", "-4", "-o", "addr", "show"], check=False)
    for line in res.stdout.splitlines():
        parts = line.split()
        if "inet" not in parts:
            continue
        iface = ipaddress.IPv4Interface(parts[parts.index("inet") + 1])
        if iface.network.overlaps(net):
            raise LabError(f"subnet {net} overlaps {iface} on {parts[1]}; pick another --subnet")


def delete_bridge(bridge: str) -> None:
    if link_exists(bridge):
        run(["ip", "link", "del", bridge])


def create_host_link(netns: str, veth: str, bridge: str, address: str, prefixlen: int) -> None:
    """netns + veth pair: `eth0` inside the host, `veth` enslaved to the bridge outside.

    No default route: the host's only route is the lab subnet itself.
    """
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
    run(["ip", "link", "set", veth, "master", bridge])
    run(["ip", "link", "set", veth, "up"])
    inside = ["ip", "netns", "exec", netns, "ip"]
    run([*inside, "link", "set", "lo", "up"])
    run([*inside, "addr", "add", f"{address}/{prefixlen}", "dev", "eth0"])
    run([*inside, "link", "set", "eth0", "up"])


def delete_host_link(netns: str, veth: str) -> None:
    """Deleting the namespace deletes its end of the veth pair, and so the pair."""
    if netns_exists(netns):
        run(["ip", "netns", "del", netns])
    # The kernel removes the pair asynchronously; delete it ourselves if it lingers.
    for _ in range(50):
        if not link_exists(veth):
            return
        ok(["ip", "link", "del", veth])
        time.sleep(0.05)
    raise LabError(f"veth {veth} could not be removed")
