"""`lab up` / `lab status` / `lab down`: build a whole fleet, report on it, remove all of it.

Every resource is recorded in the state file the moment it exists, so a failed `up` is
undone by the same `down` that removes a healthy lab.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controller.lab import addressing, host, inventory, network, rootfs, services
from controller.lab.config import LabConfig
from controller.lab.errors import LabError
from controller.lab.proc import is_root, run
from controller.lab.processes import stop
from controller.lab.state import HostState, LabState, Proc

Progress = Callable[[str], None]
REQUIRED_TOOLS = ("ip", "unshare", "debootstrap", "chronyd", "iperf3", "ssh-keygen",
                  "dpkg-deb", "dpkg-scanpackages")


def _require_root(action: str) -> None:
    if not is_root():
        raise LabError(f"`edgefleet lab {action}` needs root (namespaces, bridges, mounts)")


def _require_tools() -> None:
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        raise LabError(
            f"missing tools: {', '.join(missing)} (run `make setup` as root to install them)"
        )


def _rootfs_for(
    cfg: LabConfig, groups: set[str], say: Progress
) -> tuple[dict[str, str], dict[str, Path], str]:
    """Rootfs per group: rpi gets real arm64 when binfmt_misc lets us, else amd64 and a note."""
    note = ""
    arch = {"gpu": rootfs.native_arch(), "rpi": "arm64"}
    if "rpi" in groups and not rootfs.ensure_foreign_arch("arm64"):
        arch["rpi"] = rootfs.native_arch()
        note = (
            "binfmt_misc/qemu-user-static refused arm64 on this kernel: rpi hosts run "
            f"{arch['rpi']}, NOT arm64"
        )
        say(f"WARNING: {note}")
    paths = {g: rootfs.ensure_rootfs(cfg.cache_dir, arch[g], say) for g in sorted(groups)}
    return arch, paths, note


def up(
    cfg: LabConfig, rpi: int, gpu: int, inventory_path: Path | None, say: Progress
) -> LabState:
    """Build the lab; on any failure remove whatever was already made, then re-raise."""
    _require_root("up")
    _require_tools()
    existing = LabState.load(cfg.state_file)
    if existing is not None:
        raise LabError(f"a lab is already recorded in {cfg.state_file}; run `edgefleet lab down`")
    net = addressing.parse_subnet(cfg.subnet)
    plans = addressing.plan_hosts(net, rpi, gpu)
    arch_of, lowers, note = _rootfs_for(cfg, {p.group for p in plans}, say)
    gateway = addressing.bridge_address(net)
    inv_path = (inventory_path or cfg.default_inventory).resolve()
    state = LabState(cfg.bridge, str(net), gateway, str(inv_path), note or None)
    state.save(cfg.state_file)
    try:
        _build(cfg, state, net, plans, lowers, arch_of, say)
    except BaseException:
        say("lab up failed: removing what was made")
        down(cfg, say=lambda _m: None)
        raise
    return state


def _build(
    cfg: LabConfig,
    state: LabState,
    net: ipaddress.IPv4Network,
    plans: list[addressing.HostPlan],
    lowers: dict[str, Path],
    arch_of: dict[str, str],
    say: Progress,
) -> None:
    if not cfg.key_path.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgefleet-lab",
             "-f", cfg.key_path])
    pubkey = cfg.key_path.with_suffix(".pub").read_text()
    say(f"bridge {cfg.bridge} {state.bridge_address}/{net.prefixlen}")
    network.create_bridge(cfg.bridge, net, state.bridge_address)

    def record(name: str, proc: Proc) -> None:
        state.services[name] = proc
        state.save(cfg.state_file)

    services.start_all(cfg, state.bridge_address, str(net), record)
    source = services.apt_source_line(state.bridge_address, cfg.apt_port)
    known: list[str] = []
    for i, plan in enumerate(plans, start=1):
        h = HostState(
            name=plan.name,
            group=plan.group,
            arch=arch_of[plan.group],
            address=plan.address,
            netns=f"{cfg.prefix}{plan.name}",
            veth=f"{cfg.prefix}v{i}",
            root=str(cfg.hosts_dir / plan.name),
        )
        state.hosts.append(h)
        state.save(cfg.state_file)
        network.create_host_link(h.netns, h.veth, cfg.bridge, h.address, net.prefixlen)
        known.append(
            host.prepare(h, pubkey=pubkey, apt_source=source, controller=state.bridge_address)
        )
        h.proc = host.start(h, lowers[plan.group], Path(h.root) / "host.log")
        state.save(cfg.state_file)
        say(f"started {h.name} ({h.arch}) at {h.address}")
    cfg.known_hosts.write_text("".join(known))
    say(f"waiting for sshd on {len(state.hosts)} host(s)")
    host.wait_ready(state.hosts, cfg.ready_timeout)
    inventory.write(state, cfg, Path(state.inventory))
    state.save(cfg.state_file)


def down(cfg: LabConfig, say: Progress) -> list[str]:
    """Remove hosts, services, links and bridge recorded in the state; return what was removed.

    Every step is attempted even when an earlier one fails, so one stuck host never strands
    the bridge or the services; the failures are raised together at the end.
    """
    _require_root("down")
    state = LabState.load(cfg.state_file)
    if state is None:
        return []
    removed: list[str] = []
    failures: list[str] = []

    def attempt(label: str, action: Callable[[], object]) -> None:
        try:
            action()
            removed.append(label)
        except LabError as exc:
            failures.append(f"{label}: {exc}")

    for h in state.hosts:  # kill all first: they die in parallel
        host.kill(h)
    for h in state.hosts:
        attempt(h.name, lambda h=h: (host.destroy(h), network.delete_host_link(h.netns, h.veth)))
        say(f"removed {h.name}")
    for name, proc in state.services.items():
        attempt(f"service:{name}", lambda proc=proc: stop(proc))
    attempt(f"bridge:{state.bridge}", lambda: network.delete_bridge(state.bridge))
    if failures:
        raise LabError("lab down left things behind: " + "; ".join(failures))
    shutil.rmtree(cfg.services_dir, ignore_errors=True)
    shutil.rmtree(cfg.hosts_dir, ignore_errors=True)
    cfg.known_hosts.unlink(missing_ok=True)
    Path(state.inventory).unlink(missing_ok=True)
    cfg.state_file.unlink()
    return removed


@dataclass(frozen=True)
class HostStatus:
    name: str
    group: str
    arch: str
    address: str
    running: bool
    netns: bool


def status(cfg: LabConfig) -> tuple[LabState | None, list[HostStatus], dict[str, bool]]:
    """Live view from the recorded PIDs and namespaces (no SSH needed)."""
    state = LabState.load(cfg.state_file)
    if state is None:
        return None, [], {}
    namespaces = set(network.netns_list())
    hosts = [
        HostStatus(h.name, h.group, h.arch, h.address,
                   bool(h.proc and h.proc.alive()), h.netns in namespaces)
        for h in state.hosts
    ]
    return state, hosts, {name: p.alive() for name, p in state.services.items()}
