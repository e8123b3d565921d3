"""TXT and address validation: what a LAN broadcast must look like to be recorded at all."""

from __future__ import annotations

import ipaddress

import pytest

from agent.discovery import claim_hash, txt_record, validate_txt
from controller.discovery.announcements import decode_txt, parse, pick_address

GOOD = {"id": "2f1c6a52-7c59-5f0e-9d8e-6b1b7f1e0a01", "arch": "arm64", "agent_version": "0.1.0",
        "hostname": "pi-kitchen", "metrics_port": "9101", "claim": claim_hash("x" * 43)}


def _props(txt: dict[str, str]) -> dict[bytes, bytes | None]:
    return {k.encode(): v.encode() for k, v in txt.items()}


def test_a_good_record_parses_into_an_announcement() -> None:
    ann = parse("pi-kitchen._edgefleet._tcp.local.", _props({**GOOD, "role": "cam"}),
                ["10.219.0.2", "192.168.1.7"])
    assert (ann.device_id, ann.hostname, ann.arch, ann.metrics_port) == (
        GOOD["id"], "pi-kitchen", "arm64", 9101)
    assert ann.addresses == ("10.219.0.2", "192.168.1.7")
    assert ann.claim_hash == GOOD["claim"]


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("arch", "x86_64", "not one of amd64, arm, arm64"),  # uname names are not OCI names
    ("arch", "386", "not one of"),
    ("id", "a b", "TXT id="),
    ("id", "x" * 65, "TXT id="),
    ("hostname", "-pi", "TXT hostname="),
    ("hostname", "pi_kitchen", "TXT hostname="),
    ("hostname", "a" * 64, "TXT hostname="),
    ("hostname", "pi;reboot", "TXT hostname="),
    ("agent_version", "1.0 beta", "TXT agent_version="),
    ("metrics_port", "70000", "not a port"),
    ("metrics_port", "08", "TXT metrics_port="),
    ("claim", "ABC", "TXT claim="),
])
def test_bad_values_are_refused_with_the_key_named(key: str, value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_txt({**GOOD, key: value})


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_every_field_is_required(missing: str) -> None:
    txt = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ValueError, match=f"TXT {missing} is missing"):
        validate_txt(txt)


def test_undecodable_or_oversized_txt_is_refused() -> None:
    with pytest.raises(ValueError, match="not ASCII"):
        decode_txt({**_props(GOOD), b"hostname": "pi-k\u00fcche".encode()})
    with pytest.raises(ValueError, match="has no value"):
        decode_txt({**_props(GOOD), b"id": None})
    with pytest.raises(ValueError, match="TXT keys"):
        decode_txt({f"k{i}".encode(): b"v" for i in range(17)})


def test_addresses_must_be_ipv4() -> None:
    with pytest.raises(ValueError, match="no IPv4 address"):
        parse("x._edgefleet._tcp.local.", _props(GOOD), [])
    with pytest.raises(ValueError, match="not IPv4"):
        parse("x._edgefleet._tcp.local.", _props(GOOD), ["10.0.0.1; rm -rf /"])


def test_pick_address_prefers_the_controllers_network_by_containment_not_prefix() -> None:
    nets = [ipaddress.IPv4Network("10.219.0.0/24")]
    # "10.219.0.12" starts with "10.219.0.1" but only containment counts.
    assert pick_address(["192.168.1.7", "10.219.0.12"], nets) == "10.219.0.12"
    assert pick_address(["10.2.19.5", "10.219.1.1"], nets) == "10.2.19.5"  # none inside: first
    assert pick_address(["10.219.0.3"], []) == "10.219.0.3"


def test_the_agent_builds_its_record_from_the_device_object() -> None:
    device = {"id": GOOD["id"], "arch": "amd64", "agent_version": "0.1.0",
              "hostname": "gpu-box.lab.example", "os": "Debian", "boot_time": 1.0}
    txt = txt_record(device, 0, "secret-" * 6)
    assert txt == {"id": GOOD["id"], "arch": "amd64", "agent_version": "0.1.0",
                   "hostname": "gpu-box.lab.example", "metrics_port": "0",
                   "claim": claim_hash("secret-" * 6)}
    with pytest.raises(ValueError, match="arch"):
        txt_record({**device, "arch": "riscv64"}, 9101, "s" * 43)
