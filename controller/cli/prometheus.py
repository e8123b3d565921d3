"""`edgefleet prometheus targets|config`: file_sd targets once (cron, tests) and the config.

The server keeps the targets current by itself when EDGEFLEET_PROMETHEUS_SD_FILE is set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from controller.cli import runtime
from controller.config import Settings
from controller.prometheus import config, file_sd, targets
from controller.store import Store

app = typer.Typer(help="Prometheus service discovery and configuration.", no_args_is_help=True)


@app.command("targets")
def write_targets(
    out: Annotated[Path, typer.Option("--out", help="file_sd JSON file to (re)write.")],
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Default: EDGEFLEET_INVENTORY.")
    ] = None,
) -> None:
    """Write the agents' scrape targets (inventory + device registry), atomically."""
    settings = Settings.from_env(inventory=inventory)
    sd = file_sd.SdSettings.from_env()
    store = Store(settings.db_url)
    try:
        with runtime.errors_as_exit():
            found = targets.collect(settings.inventory, store, settings.ansible_cfg,
                                    sd.metrics_port)
            changed = file_sd.write(out, found)
    finally:
        store.dispose()
    typer.echo(f"{len(found)} target(s) {'written to' if changed else 'unchanged in'} {out}")


@app.command("config")
def show_config(
    sd_dir: Annotated[Path, typer.Option(help="Directory Prometheus reads file_sd JSON from.")],
    scrape_interval: Annotated[str, typer.Option(help="e.g. 15s")] = "15s",
    scrape_timeout: Annotated[str, typer.Option(help="At most the interval.")] = "10s",
) -> None:
    """Print a prometheus.yml that scrapes the agents listed in SD_DIR/*.json."""
    typer.echo(config.render(sd_dir, scrape_interval, scrape_timeout), nl=False)
