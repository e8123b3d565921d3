"""`edgefleet token create|list|revoke`: per-device telemetry tokens.

`create` prints the token once (stdout, alone on its line, so `$(edgefleet token create x)`
works) or writes it to a 0600 file; only its hash is stored, so it can never be shown again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from controller.cli import runtime
from controller.config import Settings
from controller.jobs.views import iso
from controller.secretfile import write_private
from controller.store import Store
from controller.telemetry import tokens

app = typer.Typer(help="Per-device telemetry tokens (stored hashed).", no_args_is_help=True)
out = runtime.out


@contextmanager
def _store() -> Iterator[Store]:
    """The store, with typed errors turned into one red line and exit code 2."""
    store = Store(Settings.from_env().db_url)
    try:
        with runtime.errors_as_exit():
            yield store
    finally:
        store.dispose()


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Device name (its inventory host name).")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the token to this file (mode 0600).")
    ] = None,
    rotate: Annotated[bool, typer.Option(help="Replace an existing token.")] = False,
) -> None:
    """Issue a device token and show it once."""
    with _store() as store:
        token = tokens.create(store, name, rotate=rotate)
    if out_file is None:
        typer.echo(token)
        return
    try:
        write_private(out_file, token)
    except OSError as exc:
        runtime.err.print(f"[red]error:[/] cannot write {out_file}: {exc.strerror}")
        raise typer.Exit(runtime.EXIT_BAD_INPUT) from None
    runtime.err.print(f"token for {name} written to {out_file}", highlight=False)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Devices that have a token (never the token itself)."""
    with _store() as store:
        rows = tokens.list_tokens(store)
    if as_json:
        typer.echo(json.dumps([
            {"name": r.name, "device_id": r.device_id, "created_at": iso(r.created_at)}
            for r in rows
        ]))
        return
    table = Table("device", "bound to device id", "created")
    for r in rows:
        table.add_row(r.name, r.device_id or "-", r.created_at.strftime("%Y-%m-%d %H:%M:%S"))
    out.print(table)


@app.command()
def revoke(name: Annotated[str, typer.Argument(help="Device name.")]) -> None:
    """Delete a device's token: its next push is refused (401). Its data stays."""
    with _store() as store:
        tokens.revoke(store, name)
    runtime.err.print(f"token of {name} revoked", highlight=False)
