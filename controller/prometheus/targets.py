"""Which agents Prometheus should scrape: the inventory's hosts plus devices that push.

Inventory hosts come first (their address is `ansible_host`, their metrics port
`edgefleet_agent_metrics_port`, default 9101, as install_agent.yml uses). Devices in the
registry that the inventory does not list (a token made by hand, say) are scraped at the
address their last push came from. Labels: `device`, `group`, `arch` (low cardinality).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from controller.jobs import inventory as ansible_inventory
from controller.store import Device, Store

DEFAULT_METRICS_PORT = 9101
_ARCH_OF_GROUP = {"rpi": "arm64", "gpu": "amd64"}


@dataclass(frozen=True, order=True)
class ScrapeTarget:
    device: str
    address: str
    port: int
    group: str
    arch: str

    def as_sd(self) -> dict[str, Any]:
        """One file_sd target group (a group per device keeps each device's labels)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return {"targets": [f"{host}:{self.port}"],
                "labels": {"device": self.device, "group": self.group, "arch": self.arch}}


def _primary_group(name: str, data: dict[str, Any]) -> str:
    groups = sorted(g for g, body in data.items()
                    if g not in ("_meta", "all", "ungrouped") and isinstance(body, dict)
                    and name in body.get("hosts", []))
    return groups[0] if groups else "ungrouped"


def from_inventory(data: dict[str, Any], arch_of: dict[str, str]) -> list[ScrapeTarget]:
    """Targets for the hosts of `ansible-inventory --list` output (local hosts excluded)."""
    out = []
    for name, hv in data.get("_meta", {}).get("hostvars", {}).items():
        if hv.get("ansible_connection") == "local":
            continue
        group = _primary_group(name, data)
        arch = hv.get("edgefleet_arch") or arch_of.get(name) or _ARCH_OF_GROUP.get(group, "")
        port = int(hv.get("edgefleet_agent_metrics_port", DEFAULT_METRICS_PORT))
        out.append(ScrapeTarget(name, str(hv.get("ansible_host", name)), port, group, arch))
    return out


_parsed: dict[Path, tuple[tuple[tuple[str, int, int], ...], dict[str, Any]]] = {}


def _fingerprint(inventory: Path, ansible_cfg: Path | None) -> tuple[tuple[str, int, int], ...]:
    """mtime and size of the inventory, its group_vars/host_vars and ansible.cfg."""
    files = [inventory, *(ansible_cfg and [ansible_cfg] or [])]
    if inventory.is_file():
        for sub in ("group_vars", "host_vars"):
            files += sorted(p for p in (inventory.parent / sub).rglob("*") if p.is_file())
    stats = [(str(p), p.stat()) for p in files if p.exists()]
    return tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats)


def load_inventory(inventory: Path, ansible_cfg: Path | None = None) -> dict[str, Any]:
    """`ansible-inventory --list`, re-run only when a file it reads has changed.

    Parsing costs ~1 s of CPU for a few hundred hosts: every SD refresh paying it starved
    telemetry ingest in benchmarks/scale.py. A script inventory is run every time."""
    if inventory.is_file() and os.access(inventory, os.X_OK):
        return ansible_inventory.load(inventory, ansible_cfg)
    key = _fingerprint(inventory, ansible_cfg)
    cached = _parsed.get(inventory)
    if cached is None or cached[0] != key:
        cached = _parsed[inventory] = (key, ansible_inventory.load(inventory, ansible_cfg))
    return cached[1]


def collect(inventory: Path | None, store: Store | None, ansible_cfg: Path | None = None,
            metrics_port: int = DEFAULT_METRICS_PORT) -> list[ScrapeTarget]:
    """All targets, sorted (so an unchanged fleet renders byte-identical JSON)."""
    devices: list[Device] = []
    if store is not None:
        with store.session() as s:
            devices = list(s.scalars(select(Device)))
    arch_of = {d.name: d.arch for d in devices if d.name}
    targets = []
    if inventory is not None:
        targets = from_inventory(load_inventory(inventory, ansible_cfg), arch_of)
    listed = {t.device for t in targets}
    for d in devices:
        name = d.name or d.id
        if name not in listed and d.address:
            targets.append(ScrapeTarget(name, d.address, metrics_port, "unlisted", d.arch))
    return sorted(targets)
