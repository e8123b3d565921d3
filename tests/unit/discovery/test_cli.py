"""`edgefleet discovery list|approve|reject` on the same store and inventory as the server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from controller.cli.main import app
from controller.config import Settings
from controller.discovery.registry import Registry
from tests.clock import Clock
from tests.unit.discovery.conftest import SECRET, announcement

DEV = "2f1c6a52-7c59-5f0e-9d8e-6b1b7f1e0a01"
Invoke = Callable[..., Result]


@pytest.fixture
def cli(settings: Settings, yaml_inventory: Path, registry: Registry, clock: Clock) -> Invoke:
    clock.t = time.time()  # the CLI's own queue expires by the real clock, so record at it
    registry.record(announcement(), "192.0.2.41")
    env = {"EDGEFLEET_HOME": str(settings.home), "EDGEFLEET_INVENTORY": str(yaml_inventory),
           "USER": "alice", "SUDO_USER": ""}
    if settings.database_url:
        env["EDGEFLEET_DATABASE_URL"] = settings.database_url

    def invoke(*args: str, columns: int = 200) -> Result:
        return CliRunner().invoke(app, ["discovery", *args], env={**env, "COLUMNS": str(columns)},
                                  catch_exceptions=False)

    return invoke


def test_list_shows_the_pending_device(cli: Invoke) -> None:
    res = cli("list", "--json")
    assert res.exit_code == 0, res.output
    [row] = json.loads(res.stdout)
    assert (row["device_id"], row["status"], row["address"]) == (DEV, "pending", "192.0.2.41")
    table = cli("list").stdout
    assert DEV in table and "pi-kitchen" in table and "pending" in table
    assert DEV in cli("list", columns=60).stdout  # never wrapped: `approve` takes it
    assert json.loads(cli("list", "--status", "approved", "--json").stdout) == []


def test_approve_writes_the_inventory_and_the_claim_then_gets_the_token(
    cli: Invoke, registry: Registry, yaml_inventory: Path,
) -> None:
    res = cli("approve", DEV, "--alias", "kitchen-pi")
    assert res.exit_code == 0, res.output
    assert "approved as kitchen-pi in group rpi" in res.stderr
    hosts = yaml.safe_load(yaml_inventory.read_text())["all"]["children"]["rpi"]["hosts"]
    assert hosts["kitchen-pi"]["ansible_host"] == "192.0.2.41"
    row = registry.get(DEV)
    assert row["decided_by"].startswith("cli:")
    assert registry.claim(DEV, SECRET).name == "kitchen-pi"


def test_errors_are_one_line_and_exit_2(cli: Invoke) -> None:
    res = cli("approve", "no-such-device")
    assert res.exit_code == 2
    assert res.stderr.strip() == "error: no discovered device 'no-such-device'"
    assert cli("list", "--status", "bogus").exit_code == 2
    assert cli("reject", DEV).exit_code == 0
    assert json.loads(cli("list", "--json").stdout)[0]["status"] == "rejected"
