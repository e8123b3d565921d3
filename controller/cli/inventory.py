"""`edgefleet inventory --list | --host NAME`: the fleet as Ansible dynamic-inventory JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from controller import dynamic_inventory
from controller.cli import runtime
from controller.config import Settings
from controller.store import Store


def inventory(
    list_: Annotated[bool, typer.Option("--list", help="All groups and _meta.hostvars.")] = False,
    host: Annotated[str | None, typer.Option("--host", help="One host's variables.")] = None,
    source: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Default: EDGEFLEET_INVENTORY.")
    ] = None,
) -> None:
    """Print the inventory as Ansible's dynamic inventory protocol expects (for AWX, -i)."""
    if list_ == (host is not None):
        runtime.err.print("[red]error:[/] give exactly one of --list and --host NAME")
        raise typer.Exit(runtime.EXIT_BAD_INPUT)
    settings = Settings.from_env(inventory=source)
    store = Store(settings.db_url)
    try:
        with runtime.errors_as_exit():
            data = (dynamic_inventory.build(settings, store) if list_
                    else dynamic_inventory.host(settings, store, host or ""))
    finally:
        store.dispose()
    typer.echo(json.dumps(data, indent=2, sort_keys=True))
