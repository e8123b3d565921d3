"""`edgefleet agent run|bundle|install`: the device daemon, its bundle, and fleet install."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent import cli as agent_cli
from controller.agents import bundle as agent_bundle
from controller.cli import runtime

app = typer.Typer(help="The telemetry agent: run it here, bundle it, install it on the fleet.",
                  no_args_is_help=True)
out = runtime.out


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                      "help_option_names": []},
    add_help_option=False,
)
def run(ctx: typer.Context) -> None:
    """Run the agent on this machine (all options: `edgefleet agent run --help`)."""
    raise typer.Exit(agent_cli.main(["run", *ctx.args]))


@app.command()
def bundle(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the bundle.")] = Path("."),
) -> None:
    """Build the pure-Python agent bundle that install_agent.yml unpacks on devices."""
    path = agent_bundle.build(out_dir)
    out.print(str(path))


@app.command()
def install(
    inventory: Annotated[Path | None, typer.Option("--inventory", "-i")] = None,
    limit: Annotated[str | None, typer.Option("--limit", "-l")] = None,
    controller_url: Annotated[
        str | None, typer.Option(help="URL agents push to (default http://CONTROLLER:8080).")
    ] = None,
    stop: Annotated[bool, typer.Option("--stop", help="Stop the agents instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue missing device tokens, build the bundle, run install_agent.yml as a job."""
    from controller.agents import install as agent_install
    from controller.cli.jobs_client import LocalJobs
    from controller.cli.run import finish

    with runtime.errors_as_exit():
        mgr = runtime.manager(inventory)
        extra = agent_install.prepare(mgr, limit=limit, controller_url=controller_url,
                                      state="stopped" if stop else "started")
        job = mgr.submit("install_agent", limit=limit, extra_vars=extra,
                         requested_by="cli:agent-install")
    finish(LocalJobs(mgr), job, as_json)
