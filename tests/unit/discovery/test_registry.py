"""The queue on a real store: record, expire, approve, reject, and the claim's answers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from controller.discovery.registry import Registry
from controller.discovery.settings import DiscoverySettings
from controller.store import Store
from controller.telemetry import tokens
from controller.telemetry.errors import Conflict, Forbidden, NotFound, Unauthorized
from tests.clock import T0, Clock
from tests.unit.discovery.conftest import SECRET, announcement

# Each test runs on SQLite and on a real PostgreSQL server.
pytestmark = pytest.mark.backends

DEV = "2f1c6a52-7c59-5f0e-9d8e-6b1b7f1e0a01"


def test_a_new_announcement_waits_as_pending(registry: Registry) -> None:
    assert registry.record(announcement(), "10.219.0.2") == "new"
    [row] = registry.list()
    assert row["status"] == "pending"
    assert (row["device_id"], row["hostname"], row["arch"], row["address"]) == (
        DEV, "pi-kitchen", "arm64", "10.219.0.2")
    assert (row["first_seen"], row["last_seen"], row["alias"]) == (T0, T0, None)
    assert "claim_hash" not in row  # never shown
    assert registry.list("approved") == []


def test_listing_expires_by_the_injected_clock_not_the_wall_clock(
    registry: Registry, clock: Clock,
) -> None:
    registry.record(announcement(), "10.219.0.2")  # T0 is long past on the wall clock
    clock.tick(600)
    assert [r["device_id"] for r in registry.list()] == [DEV]
    clock.tick(1)
    assert registry.list() == []


def test_refresh_moves_last_seen_and_address_but_not_first_seen(
    registry: Registry, clock: Clock, caplog: pytest.LogCaptureFixture,
) -> None:
    registry.record(announcement(), "10.219.0.2")
    clock.tick(30)
    with caplog.at_level(logging.WARNING, "edgefleet.discovery"):
        assert registry.record(announcement(addresses=("10.219.0.9",)),
                               "10.219.0.9") == "refreshed"
    row = registry.get(DEV)
    assert (row["first_seen"], row["last_seen"], row["address"]) == (T0, T0 + 30, "10.219.0.9")
    assert "now announces from 10.219.0.9 (was 10.219.0.2)" in caplog.text


def test_a_copied_id_with_another_claim_secret_is_ignored(
    registry: Registry, clock: Clock,
) -> None:
    registry.record(announcement(), "10.219.0.2")
    clock.tick(10)
    assert registry.record(announcement(secret="t" * 43), "10.219.0.66") == "conflict"
    row = registry.get(DEV)
    assert (row["address"], row["last_seen"]) == ("10.219.0.2", T0)


def test_the_pending_queue_is_bounded(registry: Registry) -> None:
    for i in range(3):
        assert registry.record(announcement(device_id=f"dev-{i}", hostname=f"h{i}"),
                               f"10.0.0.{i + 1}") == "new"
    assert registry.record(announcement(device_id="dev-9", hostname="h9"), "10.0.0.9") == "full"
    assert [r["device_id"] for r in registry.list()] == ["dev-0", "dev-1", "dev-2"]
    registry.reject("dev-0", "test")  # rejected rows don't count against the bound
    assert registry.record(announcement(device_id="dev-9", hostname="h9"), "10.0.0.9") == "new"


def test_stale_pending_and_rejected_expire_approved_stay(
    registry: Registry, clock: Clock,
) -> None:
    for i, name in enumerate(("pend", "rej", "appr")):
        registry.record(announcement(device_id=name, hostname=name), f"192.0.2.{50 + i}")
    registry.reject("rej", "test")
    registry.approve("appr", "test")
    clock.tick(500)
    registry.record(announcement(device_id="fresh", hostname="fresh"), "192.0.2.60")
    clock.tick(100)
    assert registry.expire() == 0  # exactly at the limit: kept
    clock.tick(1)
    assert registry.expire() == 2
    assert {r["device_id"]: r["status"] for r in registry.list()} == {
        "appr": "approved", "fresh": "pending"}


def test_approve_adds_the_host_to_the_arch_group_and_records_the_decision(
    registry: Registry, yaml_inventory: Path, clock: Clock,
) -> None:
    registry.record(announcement(hostname="Pi_Kitchen"), "192.0.2.41")
    clock.tick(100)
    row = registry.approve(DEV, "cli:alice")
    assert (row["status"], row["alias"], row["group"]) == ("approved", "pi-kitchen", "rpi")
    assert (row["decided_by"], row["decided_at"], row["token_delivered"]) == (
        "cli:alice", T0 + 100, False)
    hosts = yaml.safe_load(yaml_inventory.read_text())["all"]["children"]["rpi"]["hosts"]
    assert hosts["pi-kitchen"] == {"ansible_host": "192.0.2.41", "edgefleet_device_id": DEV}
    assert registry.approve(DEV, "cli:bob")["decided_by"] == "cli:alice"  # idempotent


def test_approve_refuses_an_alias_held_by_another_address_then_takes_another(
    registry: Registry, yaml_inventory: Path,
) -> None:
    registry.record(announcement(hostname="rpi-001"), "192.0.2.41")
    with pytest.raises(Conflict, match="'rpi-001' already exists with address 192.0.2.11"):
        registry.approve(DEV, "test")
    assert registry.get(DEV)["status"] == "pending"
    assert registry.approve(DEV, "test", alias="rpi-041")["alias"] == "rpi-041"
    with pytest.raises(NotFound):
        registry.approve("nope", "test")


def test_a_device_already_in_the_inventory_keeps_its_alias(registry: Registry) -> None:
    registry.record(announcement(hostname="raspberrypi"), "192.0.2.12")
    assert registry.approve(DEV, "test")["alias"] == "rpi-002"


def test_approve_needs_a_yaml_inventory(store: Store) -> None:
    registry = Registry(store, None, DiscoverySettings())
    registry.record(announcement(), "192.0.2.41")
    with pytest.raises(Conflict, match="no inventory configured"):
        registry.approve(DEV, "test")


def test_reject_then_claim_is_forbidden_and_approved_cannot_be_rejected(
    registry: Registry,
) -> None:
    registry.record(announcement(), "192.0.2.41")
    assert registry.reject(DEV, "cli:alice")["status"] == "rejected"
    with pytest.raises(Forbidden, match="rejected by an operator"):
        registry.claim(DEV, SECRET)
    registry.approve(DEV, "cli:alice")  # an operator may change their mind
    with pytest.raises(Conflict, match="already approved"):
        registry.reject(DEV, "cli:alice")


def test_claim_answers_pending_then_the_token_exactly_once(
    registry: Registry, store: Store,
) -> None:
    with pytest.raises(NotFound, match="not announced here"):
        registry.claim(DEV, SECRET)
    registry.record(announcement(), "192.0.2.41")
    with pytest.raises(Unauthorized, match="does not match"):
        registry.claim(DEV, "x" * 43)
    assert registry.claim(DEV, SECRET).status == "pending"
    registry.approve(DEV, "test")
    answer = registry.claim(DEV, SECRET)
    assert (answer.status, answer.name) == ("issued", "pi-kitchen")
    assert answer.token is not None
    assert tokens.lookup(store, tokens.hash_token(answer.token)).name == "pi-kitchen"
    assert registry.get(DEV)["token_delivered"] is True
    with pytest.raises(Conflict, match="already delivered"):
        registry.claim(DEV, SECRET)


def test_a_name_that_already_has_a_token_is_not_overwritten(
    registry: Registry, store: Store,
) -> None:
    existing = tokens.create(store, "pi-kitchen")
    registry.record(announcement(), "192.0.2.41")
    registry.approve(DEV, "test")
    with pytest.raises(Conflict, match="already has a token"):
        registry.claim(DEV, SECRET)
    assert tokens.lookup(store, tokens.hash_token(existing)).name == "pi-kitchen"
    tokens.revoke(store, "pi-kitchen")
    assert registry.claim(DEV, SECRET).token is not None  # the failed claim was undone
