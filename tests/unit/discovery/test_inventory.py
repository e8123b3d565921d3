"""Inventory edits: comments kept, group by arch, exact address matching, no duplicate alias.

The edited file is read back by Ansible's own parser (controller.jobs.inventory), not only
by PyYAML.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from controller.discovery.inventory import add_host, sanitize_alias
from controller.jobs.inventory import resolve_targets
from controller.telemetry.errors import Conflict


def test_host_goes_to_its_arch_group_and_everything_else_is_kept(yaml_inventory: Path) -> None:
    before_text = yaml_inventory.read_text()
    before = yaml.safe_load(before_text)
    placed = add_host(yaml_inventory, "pi-kitchen", "192.0.2.41", "arm64",
                      {"edgefleet_device_id": "dev-1"})
    gpu = add_host(yaml_inventory, "gpu-lab", "198.51.100.41", "amd64", {})
    assert (placed.alias, placed.group, placed.added) == ("pi-kitchen", "rpi", True)
    assert (gpu.alias, gpu.group, gpu.added) == ("gpu-lab", "gpu", True)
    after_text = yaml_inventory.read_text()
    after = yaml.safe_load(after_text)
    before["all"]["children"]["rpi"]["hosts"]["pi-kitchen"] = {
        "ansible_host": "192.0.2.41", "edgefleet_device_id": "dev-1"}
    before["all"]["children"]["gpu"]["hosts"]["gpu-lab"] = {"ansible_host": "198.51.100.41"}
    assert after == before
    # Every comment line of the operator's file survives, in order.
    comments = [ln for ln in before_text.splitlines() if ln.strip().startswith("#")]
    assert [ln for ln in after_text.splitlines() if ln.strip().startswith("#")] == comments
    targets = {t.name: t for t in resolve_targets(yaml_inventory, None)}
    assert (targets["pi-kitchen"].address, targets["pi-kitchen"].groups) == ("192.0.2.41", ("rpi",))
    assert (targets["gpu-lab"].address, targets["gpu-lab"].groups) == ("198.51.100.41", ("gpu",))
    assert len(targets) == 8


def test_32_bit_arm_joins_rpi_with_its_arch_overridden(yaml_inventory: Path) -> None:
    add_host(yaml_inventory, "pi-zero", "192.0.2.42", "arm", {})
    host = yaml.safe_load(yaml_inventory.read_text())["all"]["children"]["rpi"]["hosts"]["pi-zero"]
    assert host == {"ansible_host": "192.0.2.42", "edgefleet_arch": "arm"}


def test_addresses_match_exactly_never_by_prefix(yaml_inventory: Path) -> None:
    # rpi-001 is 192.0.2.11: 192.0.2.1 is a prefix of it, 192.0.2.111 extends it.
    for address in ("192.0.2.1", "192.0.2.111"):
        placed = add_host(yaml_inventory, f"pi-{address.rsplit('.', 1)[1]}", address, "arm64", {})
        assert placed.added
    again = add_host(yaml_inventory, "some-other-name", "192.0.2.11", "arm64", {})
    assert (again.alias, again.added) == ("rpi-001", False)
    hosts = yaml.safe_load(yaml_inventory.read_text())["all"]["children"]["rpi"]["hosts"]
    assert sorted(hosts) == ["pi-1", "pi-111", "rpi-001", "rpi-002", "rpi-003"]


def test_same_alias_same_address_is_idempotent_other_address_is_a_conflict(
    yaml_inventory: Path,
) -> None:
    add_host(yaml_inventory, "pi-kitchen", "192.0.2.41", "arm64", {})
    text = yaml_inventory.read_text()
    assert add_host(yaml_inventory, "pi-kitchen", "192.0.2.41", "arm64", {}).added is False
    with pytest.raises(Conflict, match="'rpi-002' already exists with address 192.0.2.12"):
        add_host(yaml_inventory, "rpi-002", "192.0.2.99", "arm64", {})
    assert yaml_inventory.read_text() == text


def test_a_missing_group_is_created_under_all_children(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("# lab\nall:\n  children:\n    gpu:\n      hosts:\n        g1:\n"
                    "          ansible_host: 10.0.0.5\n    # trailing note\n")
    add_host(path, "p1", "10.0.0.6", "arm64", {})
    assert yaml.safe_load(path.read_text()) == {"all": {"children": {
        "gpu": {"hosts": {"g1": {"ansible_host": "10.0.0.5"}}},
        "rpi": {"hosts": {"p1": {"ansible_host": "10.0.0.6"}}}}}}
    assert "# lab" in path.read_text() and "# trailing note" in path.read_text()


def test_a_group_with_vars_only_or_no_body_gets_a_hosts_block(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  children:\n    rpi:\n      vars:\n        x: 1\n    gpu:\n")
    add_host(path, "p1", "10.0.0.6", "arm64", {})
    add_host(path, "g1", "10.0.0.7", "amd64", {})
    assert yaml.safe_load(path.read_text()) == {"all": {"children": {
        "rpi": {"vars": {"x": 1}, "hosts": {"p1": {"ansible_host": "10.0.0.6"}}},
        "gpu": {"hosts": {"g1": {"ansible_host": "10.0.0.7"}}}}}}


def test_a_group_nested_under_another_is_found_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  children:\n    site_a:\n      children:\n        rpi:\n"
                    "          hosts:\n            p0:\n")
    add_host(path, "p1", "10.0.0.6", "arm64", {})
    site = yaml.safe_load(path.read_text())["all"]["children"]["site_a"]
    assert site == {"children": {"rpi": {"hosts": {"p0": None,
                                                   "p1": {"ansible_host": "10.0.0.6"}}}}}


def test_flow_style_is_rewritten_whole_and_still_correct(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all: {children: {rpi: {hosts: {p0: {ansible_host: 10.0.0.5}}}}}\n")
    add_host(path, "p1", "10.0.0.6", "arm64", {})
    assert yaml.safe_load(path.read_text()) == {"all": {"children": {"rpi": {"hosts": {
        "p0": {"ansible_host": "10.0.0.5"}, "p1": {"ansible_host": "10.0.0.6"}}}}}}


def test_a_new_file_is_created_and_yaml_lookalikes_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "new.yml"
    for alias, address in (("on", "10.0.0.1"), ("null", "10.0.0.2"), ("1e3", "10.0.0.3")):
        add_host(path, alias, address, "amd64", {"edgefleet_device_id": "0123"})
    hosts = yaml.safe_load(path.read_text())["all"]["children"]["gpu"]["hosts"]
    assert list(hosts) == ["on", "null", "1e3"]
    assert hosts["on"] == {"ansible_host": "10.0.0.1", "edgefleet_device_id": "0123"}
    assert sorted(t.name for t in resolve_targets(path, None)) == ["1e3", "null", "on"]


def test_the_write_is_atomic_and_keeps_the_file_mode(yaml_inventory: Path) -> None:
    os.chmod(yaml_inventory, 0o640)
    inode = yaml_inventory.stat().st_ino
    add_host(yaml_inventory, "pi-kitchen", "192.0.2.41", "arm64", {})
    assert yaml_inventory.stat().st_mode & 0o777 == 0o640
    assert yaml_inventory.stat().st_ino != inode  # replaced by rename, never rewritten in place
    assert sorted(p.name for p in yaml_inventory.parent.iterdir()) == [
        ".hosts.yml.lock", "group_vars", "hosts.yml"]


def test_only_yaml_inventories_are_edited(tmp_path: Path) -> None:
    ini = tmp_path / "hosts.ini"
    ini.write_text("[rpi]\np0 ansible_host=10.0.0.5\n")
    with pytest.raises(Conflict, match="not a YAML file"):
        add_host(ini, "p1", "10.0.0.6", "arm64", {})
    bad = tmp_path / "bad.yml"
    bad.write_text("all: [\n")
    with pytest.raises(Conflict, match="not valid YAML"):
        add_host(bad, "p1", "10.0.0.6", "arm64", {})


@pytest.mark.parametrize(("hostname", "alias"), [
    ("pi-kitchen", "pi-kitchen"), ("Pi-Kitchen.local", "pi-kitchen"), ("rpi4b", "rpi4b"),
    ("1234", "host-1234"), ("a" * 63, "a" * 63), ("GPU--01", "gpu--01"),
])
def test_aliases_are_sanitized_hostnames(hostname: str, alias: str) -> None:
    assert sanitize_alias(hostname) == alias
