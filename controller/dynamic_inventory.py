"""The controller's fleet as an Ansible dynamic inventory (AWX, `ansible-playbook -i`).

Output follows the script protocol: `--list` gives groups with `hosts`/`children`/`vars`
plus `_meta.hostvars` (so Ansible never calls `--host` per host). The groups and host
variables are the controller's own inventory as Ansible itself parses it (group_vars
included), checked as for a job; the device registry adds what the agents report
(`edgefleet_device_id`, `edgefleet_agent_online`, ...) and a group `agents_online`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from controller.config import Settings
from controller.errors import ControllerError
from controller.jobs import inventory as ansible_inventory
from controller.store import Device, Store

ONLINE_GROUP = "agents_online"


class InventoryUnavailable(ControllerError):
    http_status = 409


def _source(settings: Settings) -> Path:
    path = settings.inventory
    if path is None:
        raise InventoryUnavailable("no inventory: set EDGEFLEET_INVENTORY or pass --inventory")
    if path.is_file() and os.access(path, os.X_OK):
        # It would be this very export (or another script): Ansible would recurse forever.
        raise InventoryUnavailable(f"inventory {path} is a script; point EDGEFLEET_INVENTORY "
                                   "at the controller's static (YAML/INI) inventory")
    return path


def build(settings: Settings, store: Store, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    data = ansible_inventory.load(_source(settings), settings.ansible_cfg)
    hostvars: dict[str, dict[str, Any]] = data.setdefault("_meta", {}).setdefault("hostvars", {})
    with store.session() as s:
        devices = {d.name: d for d in s.scalars(select(Device)) if d.name in hostvars}
    online = []
    for name, d in devices.items():
        is_online = now - d.last_seen <= settings.telemetry.offline_after_s
        hostvars[name].update(
            edgefleet_device_id=d.id, edgefleet_agent_version=d.agent_version,
            edgefleet_agent_online=is_online, edgefleet_agent_last_seen=d.last_seen,
        )
        if is_online:
            online.append(name)
    data[ONLINE_GROUP] = {"hosts": sorted(online)}
    all_group = data.setdefault("all", {})
    all_group["children"] = [*all_group.get("children", []), ONLINE_GROUP]
    return data


def host(settings: Settings, store: Store, name: str) -> dict[str, Any]:
    hostvars = build(settings, store)["_meta"]["hostvars"]
    if name not in hostvars:
        raise InventoryUnavailable(f"no host {name!r} in the inventory")
    return hostvars[name]
