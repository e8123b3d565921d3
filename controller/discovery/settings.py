"""Discovery tunables, read from EDGEFLEET_DISCOVERY*; the browser is off unless asked for.

Off by default because browsing joins a multicast group on the controller's interfaces: an
operator turns it on (EDGEFLEET_DISCOVERY=1) for the LAN the devices are on, and may pin
the interfaces (EDGEFLEET_DISCOVERY_INTERFACES=10.0.0.1,192.168.1.5).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from controller.telemetry.settings import parse_duration


@dataclass(frozen=True)
class DiscoverySettings:
    enabled: bool = False
    interfaces: tuple[str, ...] = ()  # IPv4 addresses of the controller; () = all
    # Pending and rejected devices not heard from this long are forgotten.
    expire_s: float = 600.0
    # How often known announcements are re-resolved (from zeroconf's cache while fresh).
    refresh_s: float = 30.0
    # Past this many pending devices new announcements are ignored (a LAN flood stays bounded).
    max_pending: int = 256

    @classmethod
    def from_env(cls) -> DiscoverySettings:
        env = os.environ
        values: dict[str, object] = {
            "enabled": env.get("EDGEFLEET_DISCOVERY", "").strip().lower() in ("1", "true", "yes")
        }
        if raw := env.get("EDGEFLEET_DISCOVERY_INTERFACES"):
            addresses = tuple(a.strip() for a in raw.split(",") if a.strip())
            for a in addresses:
                ipaddress.IPv4Address(a)  # ValueError names the bad one
            values["interfaces"] = addresses
        for name in ("expire_s", "refresh_s"):
            if raw := env.get(f"EDGEFLEET_DISCOVERY_{name.removesuffix('_s').upper()}"):
                values[name] = parse_duration(raw)
        if raw := env.get("EDGEFLEET_DISCOVERY_MAX_PENDING"):
            values["max_pending"] = int(raw)
        return cls(**values)  # type: ignore[arg-type]
