"""One DNS-SD answer -> a validated Announcement, or ValueError saying why it is ignored.

The controller trusts nothing in a LAN broadcast: TXT values go through the agent's own
rules (agent.discovery.validate_txt), strings must be ASCII, addresses must parse.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from agent.discovery import validate_txt

_MAX_TXT_KEYS = 16
_MAX_ADDRESSES = 8


@dataclass(frozen=True)
class Announcement:
    device_id: str
    instance: str
    hostname: str
    arch: str
    agent_version: str
    metrics_port: int
    addresses: tuple[str, ...]
    claim_hash: str


def decode_txt(properties: Mapping[bytes, bytes | None]) -> dict[str, str]:
    """TXT bytes -> str; a non-ASCII or valueless key makes the whole record invalid."""
    if len(properties) > _MAX_TXT_KEYS:
        raise ValueError(f"{len(properties)} TXT keys (at most {_MAX_TXT_KEYS})")
    out: dict[str, str] = {}
    for key, value in properties.items():
        try:
            name = key.decode("ascii")
            if value is None:
                raise ValueError(f"TXT {name} has no value")
            out[name] = value.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError(f"TXT {key[:40]!r} is not ASCII") from None
    return out


def pick_address(addresses: Sequence[str], networks: Iterable[ipaddress.IPv4Network]) -> str:
    """The first address inside one of the controller's own networks, else the first one."""
    nets = list(networks)
    for a in addresses:
        if any(ipaddress.IPv4Address(a) in n for n in nets):
            return a
    return addresses[0]


def parse(instance: str, properties: Mapping[bytes, bytes | None],
          addresses: Sequence[str]) -> Announcement:
    """Validate one resolved service; ValueError names the first problem."""
    txt = validate_txt(decode_txt(properties))
    if not addresses:
        raise ValueError("no IPv4 address")
    checked = []
    for a in addresses[:_MAX_ADDRESSES]:
        try:
            checked.append(str(ipaddress.IPv4Address(a)))
        except ValueError:
            raise ValueError(f"address {a[:60]!r} is not IPv4") from None
    if len(instance) > 255:
        raise ValueError("instance name longer than 255 characters")
    return Announcement(
        device_id=txt["id"], instance=instance, hostname=txt["hostname"], arch=txt["arch"],
        agent_version=txt["agent_version"], metrics_port=int(txt["metrics_port"]),
        addresses=tuple(checked), claim_hash=txt["claim"],
    )
