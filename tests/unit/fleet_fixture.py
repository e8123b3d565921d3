"""A small YAML fleet inventory and registry rows, shared by the SD and inventory-export tests."""

from __future__ import annotations

import time
from pathlib import Path

from controller.store import Device, Store

INVENTORY = """\
all:
  children:
    rpi:
      hosts:
        rpi-01: {ansible_host: 10.217.9.11}
        rpi-02: {ansible_host: 10.217.9.12, edgefleet_agent_metrics_port: 9200}
      vars: {edgefleet_arch: arm64}
    gpu:
      hosts:
        gpu-01: {ansible_host: 10.217.9.21}
"""


def write_inventory(path: Path, text: str = INVENTORY) -> Path:
    path.write_text(text)
    return path


def add_device(store: Store, name: str, arch: str, address: str,
               last_seen: float | None = None) -> None:
    now = time.time() if last_seen is None else last_seen
    with store.session() as s:
        s.add(Device(id=f"id-{name}", name=name, hostname=name, arch=arch, os="Debian 12",
                     agent_version="0.1.0", address=address, first_seen=now, last_seen=now))
