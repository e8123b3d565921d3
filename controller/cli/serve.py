"""`edgefleet controller serve`: the REST API (and later the dashboard) under uvicorn."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from controller.api.app import create_app
from controller.cli import runtime
from controller.config import Settings

app = typer.Typer(help="The controller service.", no_args_is_help=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Inventory the API runs jobs on.")
    ] = None,
) -> None:
    """Serve the REST API. Beyond loopback, EDGEFLEET_API_TOKEN must be set (bearer token)."""
    token = os.environ.get("EDGEFLEET_API_TOKEN") or None
    if not _is_loopback(host) and not token:
        runtime.err.print(f"[red]error:[/] refusing to serve on {host} without EDGEFLEET_API_TOKEN")
        raise typer.Exit(runtime.EXIT_BAD_INPUT)
    if inventory is not None and not inventory.exists():
        runtime.err.print(f"[red]error:[/] inventory {inventory} does not exist")
        raise typer.Exit(runtime.EXIT_BAD_INPUT)
    settings = Settings.from_env(inventory=inventory.resolve() if inventory else None)
    # Agents push every few seconds over one keep-alive connection: uvicorn's default 5 s
    # idle timeout would close it just as the next push is sent.
    uvicorn.run(create_app(settings, api_token=token), host=host, port=port, log_level="info",
                timeout_keep_alive=75)
