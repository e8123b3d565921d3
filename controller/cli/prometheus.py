"""`edgefleet prometheus targets|config`: file_sd targets once (cron, tests) and the config.

The server keeps the targets current by itself when EDGEFLEET_PROMETHEUS_SD_FILE is set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from controller.cli import runtime
from controller.config import Settings
from controller.jobs.errors import InvalidRequest
from controller.prometheus import alerts, config, file_sd, targets
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
    rules: Annotated[str | None, typer.Option(help="Alerting rules file to load "
                                                   "(`edgefleet prometheus rules`).")] = None,
    alertmanager: Annotated[str | None, typer.Option(help="HOST:PORT to send alerts to.")]
    = None,
) -> None:
    """Print a prometheus.yml that scrapes the agents listed in SD_DIR/*.json."""
    typer.echo(config.render(sd_dir, scrape_interval, scrape_timeout, rules, alertmanager),
               nl=False)


@app.command("rules")
def show_rules(
    budget_ms: Annotated[float, typer.Option(help="p90 inference budget of every model.")]
    = 200,
    model_budget: Annotated[list[str] | None, typer.Option(
        help="MODEL=MS, a model's own p90 budget (repeat).")] = None,
    hot_celsius: Annotated[float, typer.Option(help="Hottest sensor above this: hot.")] = 80,
    disk_free: Annotated[float, typer.Option(help="Free fraction below this: filling.")]
    = 0.10,
    clock_drift_s: Annotated[float, typer.Option(help="Clock off by more: drift.")] = 15,
) -> None:
    """Print the fleet's alerting rules: offline, hot, throttled, clock drift, disk, budget."""
    with runtime.errors_as_exit():
        budgets = dict(_model_budget(item) for item in model_budget or [])
        try:
            thresholds = alerts.Thresholds(hot_celsius=hot_celsius, clock_drift_s=clock_drift_s,
                                           disk_free_ratio=disk_free, budget_s=budget_ms / 1000,
                                           budgets_s=budgets)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
    typer.echo(alerts.render(thresholds), nl=False)


def _model_budget(item: str) -> tuple[str, float]:
    """`resnet18=50` -> ("resnet18", 0.05): a model and its p90 budget in seconds."""
    model, _, ms = item.partition("=")
    try:
        return model, float(ms) / 1000
    except ValueError:
        raise InvalidRequest(f"--model-budget {item!r}: give MODEL=MS, e.g. resnet18=50") from None
