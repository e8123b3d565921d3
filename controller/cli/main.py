"""Root of the `edgefleet` command: each sub-command group lives in its own module."""

from importlib.metadata import version
from typing import Annotated

import typer
import typer.core

from controller.cli import agent as agent_cli
from controller.cli import bench as bench_cli
from controller.cli import bench_fleet as bench_fleet_cli
from controller.cli import deploy as deploy_cli
from controller.cli import devices as devices_cli
from controller.cli import discovery as discovery_cli
from controller.cli import experiment as experiment_cli
from controller.cli import inventory as inventory_cli
from controller.cli import jobs as jobs_cli
from controller.cli import lab as lab_cli
from controller.cli import prometheus as prometheus_cli
from controller.cli import registry as registry_cli
from controller.cli import run as run_cli
from controller.cli import select as select_cli
from controller.cli import serve as serve_cli
from controller.cli import token as token_cli

app = typer.Typer(
    name="edgefleet",
    no_args_is_help=True,
    add_completion=False,
)


def _no_type_for_flags(option: typer.core.TyperOption, ctx: typer.Context) -> str | None:
    """Help shows `<int>` for options that take a value, nothing for flags: Typer's `<bool>`
    beside `--json` read as if the flag took a value."""
    return None if option.is_flag else _option_type(option, ctx)


_option_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]


def _version(shown: bool) -> None:
    if shown:
        print(f"edgefleet {version('edgefleet')}")
        raise typer.Exit()


@app.callback()
def _root(
    _: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                    help="Print the version and exit.")] = False,
) -> None:
    """Edge-AI fleet orchestrator: run fleet operations, serve the controller, build a lab."""


app.command("run")(run_cli.run)
app.command("jobs")(jobs_cli.jobs)
app.add_typer(jobs_cli.app, name="job")
app.command("deploy")(deploy_cli.deploy)
app.command("devices")(devices_cli.devices)
app.command("select")(select_cli.select)
app.command("bench")(bench_cli.bench)
app.command("bench-fleet")(bench_fleet_cli.bench_fleet)
app.command("experiment")(experiment_cli.experiment)
app.add_typer(serve_cli.app, name="controller")
app.add_typer(lab_cli.app, name="lab")
app.add_typer(token_cli.app, name="token")
app.add_typer(agent_cli.app, name="agent")
app.add_typer(discovery_cli.app, name="discovery")
app.command("inventory")(inventory_cli.inventory)
app.add_typer(prometheus_cli.app, name="prometheus")
app.add_typer(registry_cli.app, name="registry")
