"""`edgefleet controller serve`: the REST API and the web dashboard under uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from controller.api.app import create_app
from controller.api.hostguard import allowed_from_env, is_loopback
from controller.cli import runtime
from controller.config import Settings
from controller.registry_service.settings import RegistrySettings

app = typer.Typer(help="The controller service.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Inventory the API runs jobs on.")
    ] = None,
    registry_url: Annotated[
        str | None, typer.Option(help="Model registry the API and dashboard use, e.g. "
                                      "http://10.0.0.1:5000 (default $EDGEFLEET_REGISTRY_URL).")
    ] = None,
) -> None:
    """Serve the REST API and the dashboard (/ui). Beyond loopback, EDGEFLEET_API_TOKEN must be
    set (the operator's bearer token); EDGEFLEET_API_READ_TOKEN adds a read-only one."""
    token = os.environ.get("EDGEFLEET_API_TOKEN") or None
    read_token = os.environ.get("EDGEFLEET_API_READ_TOKEN") or None
    if not is_loopback(host) and not token:
        runtime.err.print(f"[red]error:[/] refusing to serve on {host} without EDGEFLEET_API_TOKEN")
        raise typer.Exit(runtime.EXIT_BAD_INPUT)
    if inventory is not None and not inventory.exists():
        runtime.err.print(f"[red]error:[/] inventory {inventory} does not exist")
        raise typer.Exit(runtime.EXIT_BAD_INPUT)
    settings = Settings.from_env(inventory=inventory.resolve() if inventory else None)
    # Agents push every few seconds over one keep-alive connection: uvicorn's default 5 s
    # idle timeout would close it just as the next push is sent.
    with runtime.errors_as_exit():
        api = create_app(settings, api_token=token, read_token=read_token,
                         registry=RegistrySettings.from_env(url=registry_url),
                         allowed_hosts=allowed_from_env(host))
    shown = f"[{host}]" if ":" in host else host
    runtime.err.print(f"dashboard: http://{shown}:{port}/ui/"
                      + (" (log in with an API token)" if token else ""))
    # backlog 64: uvicorn buffers up to 256 KiB per accepted connection before the app sees
    # it, so a deep accept queue let 1,500 stalled uploads add ~40 MB (benchmarks/attacks.py).
    uvicorn.run(api, host=host, port=port, log_level="info", timeout_keep_alive=75,
                backlog=64)
