"""Root of the `edgefleet` command: each sub-command group lives in its own module."""

import typer

from controller.cli import lab as lab_cli

app = typer.Typer(
    name="edgefleet",
    help="Edge-AI fleet orchestrator: run fleet operations, serve the controller, build a lab.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(lab_cli.app, name="lab")
