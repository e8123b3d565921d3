"""`edgefleet discovery list|approve|reject`: the queue of devices announced on the LAN.

Works on the store and inventory directly (like `edgefleet token`), so it needs no running
server; the server's browser fills the queue (EDGEFLEET_DISCOVERY=1).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Column, Table

from controller.cli import runtime
from controller.config import Settings
from controller.discovery.registry import Registry
from controller.discovery.settings import DiscoverySettings
from controller.jobs.manager import current_user
from controller.store import Store

app = typer.Typer(help="Devices announced on the LAN: approve or reject them.",
                  no_args_is_help=True)
out = runtime.out
InventoryOption = Annotated[
    Path | None,
    typer.Option("--inventory", "-i", help="YAML inventory to add to (default: "
                 "$EDGEFLEET_INVENTORY)."),
]


@contextmanager
def _registry(inventory: Path | None = None) -> Iterator[Registry]:
    """The registry, with typed errors turned into one red line and exit code 2."""
    settings = Settings.from_env(inventory=inventory)
    store = Store(settings.db_url)
    try:
        with runtime.errors_as_exit():
            yield Registry(store, settings.inventory, DiscoverySettings.from_env())
    finally:
        store.dispose()


def _age(ts: float) -> str:
    seconds = max(0, int(time.time() - ts))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="pending, approved or rejected.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Discovered devices, oldest first."""
    with _registry() as registry:
        rows = registry.list(status)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("hostname", "arch", "address", "status", "alias", "last seen")
    table.columns.insert(0, Column("device id", no_wrap=True))  # copied into `approve`
    for r in rows:
        table.add_row(r["device_id"], r["hostname"], r["arch"], r["address"], r["status"],
                      r["alias"] or "-", _age(r["last_seen"]))
    out.print(table)


def _decided(row: dict[str, Any]) -> None:
    where = f" as {row['alias']} in group {row['group']}" if row["alias"] else ""
    runtime.err.print(f"{row['hostname']} ({row['device_id']}) {row['status']}{where}",
                      highlight=False)


@app.command()
def approve(
    device_id: Annotated[str, typer.Argument(help="Device id (see `discovery list`).")],
    alias: Annotated[str | None, typer.Option(help="Inventory host name (default: from "
                                              "its hostname).")] = None,
    inventory: InventoryOption = None,
) -> None:
    """Add the device to the inventory group of its arch; its agent then collects its token."""
    with _registry(inventory) as registry:
        _decided(registry.approve(device_id, f"cli:{current_user()}", alias))


@app.command()
def reject(
    device_id: Annotated[str, typer.Argument(help="Device id (see `discovery list`).")],
) -> None:
    """Refuse the device: its agent's claim is answered 403 and it stops asking."""
    with _registry() as registry:
        _decided(registry.reject(device_id, f"cli:{current_user()}"))
